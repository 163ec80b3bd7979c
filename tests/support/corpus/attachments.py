"""``_Generator`` mixin: attachments, the shared large blob, base64 and MIME boundaries."""

from __future__ import annotations

import base64
import random
import urllib.parse
from datetime import datetime

from tests.support.corpus.files import _docx, _pdf, _png
from tests.support.corpus.model import Attachment


class _AttachmentMixin:
    rng: random.Random
    seed: int
    words: str
    sentences: list[str]
    _blob_raw: bytes | None
    _blob_b64: bytes
    _blob_encoded: dict[int, bytes]

    _BLOB_SIZE = 57 * 30_000  # 1.7 MB of random bytes, base64-encoded once

    def _blob(self, size: int) -> bytes:
        """``size`` (a multiple of 57) random-looking bytes: a slice of one shared block."""
        if self._blob_raw is None:
            self._blob_raw = random.Random(self.seed ^ 0xB10B).randbytes(self._BLOB_SIZE)
            self._blob_b64 = base64.encodebytes(self._blob_raw)
        start = self.rng.randrange((self._BLOB_SIZE - size) // 57 + 1) * 57
        data = self._blob_raw[start : start + size]
        first = start // 57 * 77  # 57 input bytes -> 76 characters + newline
        self._blob_encoded[id(data)] = self._blob_b64[first : first + size // 57 * 77]
        return data

    def _b64(self, data: bytes) -> bytes:
        """base64 (76-column lines); a slice of the shared block reuses its encoding."""
        encoded = self._blob_encoded.pop(id(data), None)
        return encoded if encoded is not None else base64.encodebytes(data)

    def _boundary(self, index: int, kind: str) -> str:
        return f"=_{kind}_{index:x}_{self.rng.getrandbits(64):016x}"

    def _attachment(
        self, index: int, date: datetime, language: str
    ) -> tuple[Attachment, str, bytes]:
        rng = self.rng
        kind = rng.choice(("pdf", "pdf", "png", "csv", "docx"))
        stem = {
            "pdf": rng.choice(("invoice", "report", "contract", "Rechnung März", "Überweisung")),
            "png": rng.choice(("screenshot", "logo", "chart", "写真")),
            "csv": rng.choice(("export", "figures", "данные", "budget")),
            "docx": rng.choice(("proposal", "minutes", "Protokoll Sitzung", "提案書")),
        }[kind]
        filename = f"{stem} {date:%Y-%m-%d}.{kind}" if rng.random() < 0.5 else f"{stem}.{kind}"
        if kind == "pdf":
            lines = [f"Document {index}", *rng.choices(self.sentences, k=rng.randint(3, 12))]
            data = _pdf(lines)
            ctype = "application/pdf"
        elif kind == "png":
            width = rng.randint(8, 48)
            data = _png(width, rng.randint(8, 48), rng.randbytes(3 * width))
            ctype = "image/png"
        elif kind == "csv":
            rows = ["date,account,amount,description"]
            for _ in range(rng.randint(5, 40)):
                rows.append(
                    f"{date:%Y-%m-%d},{rng.randint(1000, 9999)},"
                    f"{rng.randint(1, 99999) / 100:.2f},{rng.choice(self.words)}"
                )
            data = ("\r\n".join(rows) + "\r\n").encode("utf-8")
            ctype = "text/csv"
        else:
            data = _docx(rng.choices(self.sentences, k=rng.randint(3, 10)))
            ctype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        rfc2231 = not filename.isascii() or rng.random() < 0.1
        if rfc2231:
            quoted = urllib.parse.quote(filename, safe="")
            if len(quoted) > 60 and rng.random() < 0.5:  # RFC 2231 continuations
                chunks = [quoted[i : i + 40] for i in range(0, len(quoted), 40)]
                params = ";\n ".join(
                    f"filename*{i}*={'utf-8' + chr(39) * 2 if i == 0 else ''}{c}"
                    for i, c in enumerate(chunks)
                )
                disp = f"attachment;\n {params}"
            else:
                disp = f"attachment;\n filename*=utf-8''{quoted}"
        else:
            disp = f'attachment; filename="{filename}"'
        return Attachment(filename, ctype, len(data), rfc2231), disp, data
