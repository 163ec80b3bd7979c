"""``_Generator`` mixin: sentences, paragraphs, wrapping, subjects, charsets and encodings."""

from __future__ import annotations

import random
from datetime import datetime

from tests.support.corpus.data import _CP1252_SENTENCES, _LANGS, _SUBJECTS_CP1252, Person
from tests.support.corpus.mime import _QP_CHARSETS, _WRAP_RE


class _TextMixin:
    rng: random.Random
    words: str
    words_cum: list[float]
    sentences: list[str]
    people: list[Person]
    people_cum: list[float]

    # ----------------------------------------------------------------- building blocks
    def _sentence_pool(self, count: int) -> list[str]:
        rng = self.rng
        pool = []
        for _ in range(count):
            words = rng.choices(self.words, cum_weights=self.words_cum, k=rng.randint(5, 18))
            s = " ".join(words)
            if rng.random() < 0.15:
                s += f" {rng.randint(2, 999)}"
            pool.append(s[0].upper() + s[1:] + rng.choice(".....?!"))
        return pool

    def _person(self) -> Person:
        return self.rng.choices(self.people, cum_weights=self.people_cum)[0]

    def _paragraphs(self, language: str, n_sentences: int, charset: str) -> list[str]:
        rng = self.rng
        extra = _LANGS[language][0]
        if charset == "windows-1252" or (charset == "utf-8" and language == "en"):
            extra = extra + _CP1252_SENTENCES if rng.random() < 0.3 else extra
        paragraphs = []
        remaining = n_sentences
        while remaining > 0:
            k = min(remaining, rng.randint(2, 6))
            remaining -= k
            sents = rng.choices(self.sentences, k=k)
            if extra:
                for i in range(len(sents)):
                    if rng.random() < 0.45:
                        sents[i] = rng.choice(extra)
            paragraphs.append(" ".join(sents))
        return paragraphs

    @staticmethod
    def _wrap(text: str) -> str:
        """Wrap each line of ``text`` at 72 columns (a long word stays whole)."""
        if len(text) <= 72:
            return text
        out = []
        for line in text.split("\n"):
            if len(line) <= 72:
                out.append(line)
            else:
                out.append("\n".join(a or b for a, b in _WRAP_RE.findall(line)))
        return "\n".join(out)

    def _subject(self, language: str, date: datetime) -> str:
        rng = self.rng
        pool = _LANGS[language][1]
        if language == "en" and rng.random() < 0.08:
            pool = _SUBJECTS_CP1252
        template = rng.choice(pool)
        return template.format(
            n=rng.randint(1000, 99999),
            d=date.strftime("%Y-%m-%d"),
            v=f"{rng.randint(1, 9)}.{rng.randint(0, 20)}",
            y=date.year,
        )

    def _charset(self, language: str) -> str:
        options = _LANGS[language][2]
        r = self.rng.random()
        acc = 0.0
        for cs, w in options:
            acc += w
            if r < acc:
                return cs
        return options[-1][0]

    def _cte(self, charset: str) -> str:
        r = self.rng.random()
        if charset == "us-ascii":
            return "7bit"
        if charset == "iso-2022-jp":
            return "7bit" if r < 0.8 else "base64"
        if charset == "shift_jis":
            return "base64"
        if charset in _QP_CHARSETS:
            return "quoted-printable" if r < 0.8 else "8bit"
        if charset == "koi8-r":
            return "8bit" if r < 0.5 else "base64"
        return "quoted-printable" if r < 0.5 else ("base64" if r < 0.8 else "8bit")
