"""A seeded, deterministic generator of realistic e-mail, for tests and benchmarks.

    from tests.support.corpus import generate_messages, write_maildir

    msgs = list(generate_messages(500, seed=1))      # same seed -> byte-identical output
    write_maildir(tmp_path / "Maildir", msgs)        # Maildir++ with INBOX, Archive, Sent, ...

Each :class:`GeneratedMessage` has ``raw`` (RFC 5322 bytes, CRLF line ends, ready for SMTP,
LMTP or IMAP APPEND) and the metadata a test needs to compute expected results without parsing:
``message_id``, ``thread_id`` (the Message-ID of the thread's first message), ``in_reply_to``,
``references``, ``sender``/``sender_name``, ``to``/``cc``, ``subject`` (decoded), ``date``
(aware datetime), ``charset``, ``transfer_encoding``, ``has_html``, ``attachments``, ``flags``
(IMAP system flags), ``folder`` (Maildir++ name), ``list_id``, ``priority``, ``markers``.

What the corpus looks like (fractions are targets; the unit tests check them loosely):

* dates spread over ~3 years ending at ``END`` (fixed, so output never depends on "now");
* ~500 people (``PEOPLE``), about a quarter with non-ASCII names (German, French, Polish,
  Nordic, Spanish, Russian, Japanese, Chinese), sent as RFC 2047 encoded-words;
* ~40 % of messages in threads of 2-20 (replies carry In-Reply-To, References, "Re:");
* languages/charsets: utf-8, us-ascii, iso-8859-1, windows-1252, koi8-r, iso-2022-jp,
  shift_jis, with quoted-printable, base64, 7bit and 8bit bodies;
* HTML alternative on ~30 %, attachments on ~15 % (real minimal PDF, PNG, CSV and DOCX bytes,
  RFC 2231 file names on some), List-Id on ~12 %, X-Priority on ~6 %;
* sizes mostly 2-6 KB, ~0.3 % large (100 KB - 1.5 MB);
* rare marker words with known frequencies (``MARKER_WORDS``) in bodies, so a search test
  knows its selectivity: ``sum(1 for m in msgs if "quixotron" in m.markers)``.

Writers: :func:`write_maildir`, :func:`write_mbox`, :func:`write_eml_dir`.
Speed: about 100,000 messages into a Maildir in well under a minute (see the report).
Note: ``generate_messages(10)`` is not a prefix of ``generate_messages(100)`` (the thread
plan depends on ``n``); the same ``(n, seed, options)`` always gives the same output.
"""

from __future__ import annotations

import html
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from tests.support.corpus.attachments import _AttachmentMixin
from tests.support.corpus.data import (
    _EN_CLOSERS,
    _EN_OPENERS,
    _LANG_WEIGHTS,
    _LISTS,
    _MAILERS,
    _WORDS,
    END,
    MARKER_WORDS,
    OWNER_ADDRESS,
    OWNER_NAME,
    PEOPLE,
    SPAN_DAYS,
    Person,
)
from tests.support.corpus.mime import (
    _address_list,
    _ascii_fold,
    _attachment_ct,
    _body_bytes,
    _charset_param,
    _encode_header_text,
    _fmt_date,
    _format_address,
    _multipart,
    _part,
)
from tests.support.corpus.model import Attachment, GeneratedMessage
from tests.support.corpus.text import _TextMixin


@dataclass(slots=True)
class _Thread:
    language: str
    subject: str
    participants: list[Person]
    list_info: tuple[str, str, str] | None
    ids: list[str] = field(default_factory=list)
    refs: list[tuple[str, ...]] = field(default_factory=list)
    senders: list[Person] = field(default_factory=list)
    dates: list[datetime] = field(default_factory=list)


class _Generator(_TextMixin, _AttachmentMixin):
    def __init__(
        self,
        seed: int,
        owner: Person,
        end: datetime,
        span_days: int,
        thread_fraction: float,
        html_fraction: float,
        attachment_fraction: float,
        large_fraction: float,
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.owner = owner
        self.end = end
        self.span = span_days * 86400
        self.thread_fraction = thread_fraction
        self.html_fraction = html_fraction
        self.attachment_fraction = attachment_fraction
        self.large_fraction = large_fraction
        people = [p for p in PEOPLE if p.address != owner.address]
        self.people = people
        # Zipf-ish: a few people write most of the mail.
        self.people_cum = _cum_weights([1.0 / (i + 1) ** 0.8 for i in range(len(people))])
        self.words = _WORDS
        self.words_cum = _cum_weights([1.0 / (i + 1) ** 0.9 for i in range(len(_WORDS))])
        self.sentences = self._sentence_pool(4000)
        self.markers = sorted(MARKER_WORDS.items())
        self._blob_raw: bytes | None = None
        self._blob_b64 = b""
        self._blob_encoded: dict[int, bytes] = {}

    # ----------------------------------------------------------------- plan
    def plan(self, n: int) -> list[tuple[float, int, int]]:
        """(timestamp, thread number or -1, position in thread) for n messages, date order."""
        rng = self.rng
        end_ts = self.end.timestamp()
        target = round(n * self.thread_fraction)
        sizes: list[int] = []
        total = 0
        size_values = list(range(2, 21))
        size_cum = _cum_weights([1.0 / (s - 1) ** 1.3 for s in size_values])
        while total < target:
            s = rng.choices(size_values, cum_weights=size_cum)[0]
            s = min(s, target - total) if target - total >= 2 else 0
            if s < 2:
                break
            sizes.append(s)
            total += s
        entries: list[tuple[float, int, int]] = []
        for t, size in enumerate(sizes):
            ts = end_ts - self.span + rng.random() * (self.span - 86400 * 61)
            for pos in range(size):
                entries.append((ts, t, pos))
                # Replies: minutes to days later (at most 3 days between two).
                ts += 60 + min(rng.expovariate(1 / (6 * 3600)), 3 * 86400)
        for _ in range(n - total):
            entries.append((end_ts - rng.random() * self.span, -1, 0))
        entries.sort()
        self.n_threads = len(sizes)
        return entries

    # ----------------------------------------------------------------- messages
    def messages(self, n: int) -> Iterator[GeneratedMessage]:
        entries = self.plan(n)
        threads: dict[int, _Thread] = {}
        for index, (ts, tno, pos) in enumerate(entries):
            yield self._message(index, ts, tno, pos, threads)

    def _message(
        self, index: int, ts: float, tno: int, pos: int, threads: dict[int, _Thread]
    ) -> GeneratedMessage:
        rng = self.rng
        # Senders' clocks: a few time zones, deterministic per message.
        tz = timezone(timedelta(minutes=rng.choice((0, 0, 60, 120, -300, -240, 330, 540, -420))))
        date = datetime.fromtimestamp(int(ts), tz)
        thread: _Thread | None = None
        in_reply_to: str | None = None
        references: tuple[str, ...] = ()
        if tno >= 0:
            thread = threads.get(tno)
            if thread is None:
                language = _pick(rng, _LANG_WEIGHTS)
                participants = [self._person() for _ in range(rng.randint(1, 4))]
                if rng.random() < 0.35:
                    participants.append(self.owner)
                list_info = rng.choice(_LISTS) if rng.random() < 0.12 else None
                thread = _Thread(language, self._subject(language, date), participants, list_info)
                threads[tno] = thread
            language = thread.language
            list_info = thread.list_info
            if pos == 0:
                subject = thread.subject
                sender = rng.choice(thread.participants)
            else:
                parent = (
                    len(thread.ids) - 1 if rng.random() < 0.7 else rng.randrange(len(thread.ids))
                )
                in_reply_to = thread.ids[parent]
                references = (*thread.refs[parent], in_reply_to)
                prefix = "Re: " if rng.random() < 0.9 else rng.choice(("RE: ", "AW: ", "Re: Re: "))
                subject = prefix + thread.subject
                choices = [p for p in thread.participants if p != thread.senders[parent]]
                sender = rng.choice(choices) if choices else self._person()
        else:
            language = _pick(rng, _LANG_WEIGHTS)
            list_info = rng.choice(_LISTS) if rng.random() < 0.12 else None
            subject = self._subject(language, date)
            sender = self.owner if rng.random() < 0.06 else self._person()

        charset = self._charset(language)
        if charset == "us-ascii" and not subject.isascii():
            charset = "utf-8"
        cte = self._cte(charset)

        # Recipients
        if thread is not None and pos > 0:
            parent_sender = thread.senders[thread.ids.index(in_reply_to)] if in_reply_to else None
            to_people = [parent_sender] if parent_sender and parent_sender != sender else []
        else:
            to_people = []
        if list_info is not None:
            to_people = [Person(list_info[1], f"{list_info[0]}@{list_info[2]}")]
        elif sender != self.owner and self.owner not in to_people:
            to_people.insert(0, self.owner)
        if not to_people:
            to_people = [self._person()]
        while rng.random() < 0.25 and len(to_people) < 4:
            to_people.append(self._person())
        cc_people = [self._person() for _ in range(rng.randint(1, 3))] if rng.random() < 0.3 else []
        if thread is not None:
            cc_people += [p for p in thread.participants if p not in to_people and p != sender][:3]
        to_people = _unique(to_people)
        cc_people = [p for p in _unique(cc_people) if p not in to_people]

        message_id = f"<{date:%Y%m%d%H%M%S}.{index:x}.{rng.getrandbits(40):010x}@" + (
            sender.address.rpartition("@")[2] + ">"
        )
        if thread is not None:
            thread.ids.append(message_id)
            thread.refs.append(references)
            thread.senders.append(sender)
            thread.dates.append(date)
            thread_id = thread.ids[0]
        else:
            thread_id = message_id

        # Body
        has_html = rng.random() < self.html_fraction
        large_text = rng.random() < self.large_fraction / 2
        if large_text:
            n_sent = rng.randint(600, 3000)
        elif has_html:
            n_sent = rng.randint(6, 22)
        else:
            n_sent = rng.randint(12, 48)
        paragraphs = self._paragraphs(language, n_sent, charset if charset != "us-ascii" else "x")
        if charset == "us-ascii":
            paragraphs = [_ascii_fold(p) for p in paragraphs]
        markers = set()
        for word, p in self.markers:
            if rng.random() < p:
                markers.add(word)
                i = rng.randrange(len(paragraphs))
                words = paragraphs[i].split(" ")
                words.insert(rng.randrange(len(words) + 1), word)
                paragraphs[i] = " ".join(words)
        opener = rng.choice(_EN_OPENERS).format(first=to_people[0].first)
        closer = rng.choice(_EN_CLOSERS)
        signature = sender.name or sender.address
        text_parts = [opener, *paragraphs]
        if in_reply_to is not None:
            quoted = " ".join(rng.choices(self.sentences, k=rng.randint(2, 5)))
            parent_date = thread.dates[thread.ids.index(in_reply_to)] if thread else date
            text_parts.append(
                f"On {_fmt_date(parent_date)}, someone wrote:\n"
                + "\n".join("> " + line for line in self._wrap(quoted).split("\n"))
            )
        text_parts.append(f"{closer}\n{signature}")
        if rng.random() < 0.3:
            text_parts.append(f"-- \n{signature}\nExample Corp | +1 555 01{rng.randint(0, 99):02d}")
        text = "\n\n".join(self._wrap(p) for p in text_parts) + "\n"
        try:
            text.encode(charset)
        except UnicodeEncodeError:  # e.g. a name that koi8-r cannot carry: fall back
            charset = "utf-8"
            cte = self._cte(charset)

        # Attachments
        attachments: list[tuple[Attachment, str, bytes]] = []
        if rng.random() < self.attachment_fraction:
            for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 3)):
                attachments.append(self._attachment(index, date, language))
        if rng.random() < self.large_fraction / 2:
            size = rng.randint(100_000 // 57, 1_500_000 // 57) * 57
            attachments.append(
                (
                    Attachment(f"archive-{index}.bin", "application/octet-stream", size, False),
                    f'attachment; filename="archive-{index}.bin"',
                    self._blob(size),
                )
            )

        # Headers
        flags: list[str] = []
        age_days = (self.end - date).total_seconds() / 86400
        if sender == self.owner or rng.random() < (0.97 if age_days > 30 else 0.6):
            flags.append("\\Seen")
        if rng.random() < 0.04:
            flags.append("\\Flagged")
        if sender != self.owner and rng.random() < 0.08:
            flags.append("\\Answered")
        if sender == self.owner:
            folder = "Sent"
        elif list_info is not None:
            folder = f"Lists.{list_info[0]}"
        elif rng.random() < 0.05:
            folder = "Work.Projects"
        elif age_days > 365 and rng.random() < 0.7:
            folder = "Archive"
        else:
            folder = "INBOX"
        priority = rng.choice((1, 2, 5)) if rng.random() < 0.06 else None

        hdr: list[str] = []
        if sender != self.owner:
            hops = rng.randint(2, 4)
            t = date + timedelta(seconds=rng.randint(1, 40))
            received = []
            for hop in range(hops):
                ip = f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randint(1, 254)}"
                host = f"mx{hop}.{sender.address.rpartition('@')[2]}"
                by = "mx.example.test" if hop == hops - 1 else f"relay{hop}.example.net"
                received.append(
                    f"Received: from {host} ({host} [{ip}])\n"
                    f"\tby {by} (Postfix) with ESMTPS id {rng.getrandbits(48):012X}\n"
                    f"\tfor <{self.owner.address}>; {_fmt_date(t)}"
                )
                t += timedelta(seconds=rng.randint(0, 5))
            hdr.append(f"Return-Path: <{sender.address}>")
            hdr.extend(reversed(received))  # newest hop on top
        hdr.append(f"From: {_format_address(sender, charset, 6)}")
        hdr.append(f"To: {_address_list(to_people, charset, 'To')}")
        if cc_people:
            hdr.append(f"Cc: {_address_list(cc_people, charset, 'Cc')}")
        hdr.append(f"Subject: {_encode_header_text(subject, charset, 9)}")
        hdr.append(f"Date: {_fmt_date(date)}")
        hdr.append(f"Message-ID: {message_id}")
        if in_reply_to is not None:
            hdr.append(f"In-Reply-To: {in_reply_to}")
            hdr.append("References: " + "\n ".join(references))
        if list_info is not None:
            hdr.append(f"List-Id: {list_info[1]} <{list_info[2]}>")
            hdr.append(f"List-Unsubscribe: <mailto:{list_info[0]}-leave@{list_info[2]}>")
            hdr.append("Precedence: list")
        if priority is not None:
            label = {1: "1 (Highest)", 2: "2 (High)", 5: "5 (Lowest)"}[priority]
            hdr.append(f"X-Priority: {label}")
        if rng.random() < 0.7:
            hdr.append(f"{rng.choice(('User-Agent', 'X-Mailer'))}: {rng.choice(_MAILERS)}")
        hdr.append("MIME-Version: 1.0")

        # Body structure
        text_ct = f"text/plain; charset={_charset_param(charset)}"
        if rng.random() < 0.2:
            text_ct += "; format=flowed"
        text_part = _part(text_ct, cte, _body_bytes(text, charset, cte))
        if has_html:
            html_body = (
                '<html><head><meta charset="'
                + charset
                + '"></head><body>\n'
                + "\n".join(f"<p>{html.escape(p)}</p>" for p in text_parts)
                + "\n</body></html>\n"
            )
            html_part = _part(
                f"text/html; charset={_charset_param(charset)}",
                cte,
                _body_bytes(html_body, charset, cte),
            )
            body_part = _multipart(
                "alternative", [text_part, html_part], self._boundary(index, "alt")
            )
        else:
            body_part = text_part
        if attachments:
            att_parts = [
                _part(_attachment_ct(att), "base64", self._b64(data), disposition=disp)
                for att, disp, data in attachments
            ]
            top = _multipart("mixed", [body_part, *att_parts], self._boundary(index, "mix"))
        else:
            top = body_part
        raw = ("\n".join(hdr) + "\n").encode("ascii") + top
        raw = raw.replace(b"\n", b"\r\n")

        return GeneratedMessage(
            index=index,
            raw=raw,
            message_id=message_id,
            thread_id=thread_id,
            in_reply_to=in_reply_to,
            references=references,
            sender=sender.address,
            sender_name=sender.name,
            to=tuple(p.address for p in to_people),
            cc=tuple(p.address for p in cc_people),
            subject=subject,
            date=date,
            charset=charset,
            transfer_encoding=cte,
            has_html=has_html,
            attachments=tuple(a for a, _d, _b in attachments),
            flags=tuple(flags),
            folder=folder,
            list_id=f"<{list_info[2]}>" if list_info else None,
            priority=priority,
            markers=frozenset(markers),
            language=language,
        )


def _cum_weights(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    r = rng.random() * sum(w for _, w in weighted)
    for value, w in weighted:
        r -= w
        if r < 0:
            return value
    return weighted[-1][0]


def _unique(people: Iterable[Person]) -> list[Person]:
    seen: set[str] = set()
    out = []
    for p in people:
        if p.address not in seen:
            seen.add(p.address)
            out.append(p)
    return out


def generate_messages(
    n: int,
    seed: int = 0,
    *,
    owner: tuple[str, str] = (OWNER_NAME, OWNER_ADDRESS),
    end: datetime = END,
    span_days: int = SPAN_DAYS,
    thread_fraction: float = 0.4,
    html_fraction: float = 0.3,
    attachment_fraction: float = 0.15,
    large_fraction: float = 0.003,
) -> Iterator[GeneratedMessage]:
    """Yield ``n`` messages in date order; deterministic for the same arguments.

    ``owner`` is the mailbox owner (most mail is to them; their own mail lands in "Sent").
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    gen = _Generator(
        seed,
        Person(*owner),
        end,
        span_days,
        thread_fraction,
        html_fraction,
        attachment_fraction,
        large_fraction,
    )
    return gen.messages(n)


# --------------------------------------------------------------------------- writers
