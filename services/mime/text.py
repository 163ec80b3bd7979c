"""Byte-level helpers for message parsing: charsets, transfer encodings, HTML to text.

Everything here is lenient: bad input is decoded as well as possible and a readable
warning is appended to the ``warnings`` list the caller passes in.  Nothing raises on
bad bytes.
"""

from __future__ import annotations

import binascii
import codecs
import html
import re

__all__ = [
    "decode_bytes",
    "decode_transfer",
    "estimate_decoded_size",
    "html_to_text",
    "looks_binary",
    "make_snippet",
    "payload_bytes",
    "resolve_charset",
]

# Charset labels that say nothing useful: treat as "not declared".
_UNDECLARED = frozenset(
    {"", "unknown-8bit", "x-unknown", "unknown", "8bit", "default", "x-user-defined", "none"}
)
# Labels that real mailers get wrong: map them to the superset that decodes what they send.
_SUPERSETS = {
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "big5": "big5hkscs",
}
# Codecs whose encoded form can be pure ASCII while meaning something else.
_ASCII_UNSAFE_PREFIXES = (
    "utf-16",
    "utf-32",
    "utf_16",
    "utf_32",
    "utf-7",
    "utf_7",
    "iso2022",
    "hz",
    "cp037",
    "cp273",
    "cp424",
    "cp500",
    "cp875",
    "cp1026",
    "cp1140",
)

_charset_cache: dict[str, tuple[str | None, bool]] = {}
_CACHE_MAX = 512


def resolve_charset(label: str | None) -> tuple[str | None, bool]:
    """Map a declared charset label to a Python codec name.

    Returns ``(codec, known)``: ``codec`` is ``None`` when nothing usable was declared;
    ``known`` is false when a label was given but no codec exists for it.
    """
    if label is None:
        return None, True
    hit = _charset_cache.get(label)
    if hit is not None:
        return hit
    norm = label.strip().strip("\"'").lower()
    result: tuple[str | None, bool]
    if norm in _UNDECLARED:
        result = (None, True)
    else:
        norm = _SUPERSETS.get(norm, norm)
        try:
            info = codecs.lookup(norm)
            # Reject bytes-to-bytes codecs such as "base64" or "zlib".
            b"".decode(info.name)
            result = (info.name, True)
        except (LookupError, ValueError):
            result = (None, False)
    if len(_charset_cache) < _CACHE_MAX:
        _charset_cache[label] = result
    return result


def decode_bytes(data: bytes, charset: str | None, warnings: list[str], where: str) -> str:
    """Decode text bytes: declared charset, then UTF-8, then cp1252 with replacement."""
    if not data:
        return ""
    codec, known = resolve_charset(charset)
    if not known:
        warnings.append(f"unknown charset {charset} in {where}")
    if data.isascii() and (codec is None or not codec.startswith(_ASCII_UNSAFE_PREFIXES)):
        return data.decode("ascii")
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            if codec == "cp1252":
                return data.decode("latin-1")
            warnings.append(f"bad {codec} bytes in {where}")
    if codec != "utf-8":
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if codec is None and known:
        warnings.append(f"undeclared 8-bit text in {where} read as cp1252")
    return data.decode("cp1252", errors="replace")


def payload_bytes(payload: object) -> bytes:
    """The bytes of a compat32 payload (a ``str`` carrying surrogate-escaped bytes)."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        try:
            return payload.encode("ascii", "surrogateescape")
        except UnicodeEncodeError:
            return payload.encode("utf-8", "surrogateescape")
    return b""


_B64_OK = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n\t "
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_ALL_BYTES = bytes(range(256))
_NON_ALPHABET = _ALL_BYTES.translate(None, _B64_ALPHABET)
_BAD_QP = re.compile(rb"=(?![0-9A-Fa-f]{2})(?![ \t]*\r?\n)(?![ \t]*\Z)")


def decode_base64(data: bytes, warnings: list[str], where: str) -> bytes:
    """Lenient base64: skips junk characters, repairs padding, keeps what decodes."""
    if data.translate(None, _B64_OK):
        warnings.append(f"bad base64 in {where}: invalid characters skipped")
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        pass
    clean = data.translate(None, _NON_ALPHABET)
    rest = len(clean) % 4
    if rest == 1:
        clean = clean[:-1]
    elif rest:
        clean += b"=" * (4 - rest)
    warnings.append(f"bad base64 in {where}: truncated or badly padded")
    try:
        return binascii.a2b_base64(clean)
    except binascii.Error:  # pragma: no cover - clean input always decodes
        return b""


def decode_uuencode(data: bytes, warnings: list[str], where: str) -> bytes:
    out: list[bytes] = []
    started = False
    bad = False
    for line in data.splitlines():
        if not started:
            started = line.startswith(b"begin ")
            continue
        if line.strip() in (b"end", b"`"):
            if line.strip() == b"end":
                break
            continue
        if not line.strip():
            continue
        try:
            out.append(binascii.a2b_uu(line))
        except binascii.Error:
            # Work around broken encoders that miscount the line length.
            nbytes = (((line[0] - 32) & 63) * 4 + 5) // 3
            try:
                out.append(binascii.a2b_uu(line[:nbytes]))
            except binascii.Error:
                bad = True
    if not started:
        warnings.append(f"bad uuencode in {where}: no begin line")
        return data
    if bad:
        warnings.append(f"bad uuencode in {where}: some lines skipped")
    return b"".join(out)


def decode_transfer(data: bytes, cte: str, warnings: list[str], where: str) -> bytes:
    """Undo a Content-Transfer-Encoding, leniently."""
    if cte in ("", "7bit", "8bit", "binary"):
        return data
    if cte == "base64":
        return decode_base64(data, warnings, where)
    if cte == "quoted-printable":
        if b"=" in data and _BAD_QP.search(data):
            warnings.append(f"bad quoted-printable in {where}: kept as is where invalid")
        return binascii.a2b_qp(data)
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        return decode_uuencode(data, warnings, where)
    warnings.append(f"unknown Content-Transfer-Encoding {cte[:40]!r} in {where}")
    return data


def estimate_decoded_size(payload: str | bytes, cte: str) -> int:
    """Decoded size without decoding: exact for clean base64, raw size otherwise."""
    if cte != "base64":
        return len(payload)
    if isinstance(payload, str):
        n = len(payload) - payload.count("\n") - payload.count("\r") - payload.count(" ")
        pad = len(payload.rstrip()) - len(payload.rstrip().rstrip("="))
    else:
        n = len(payload) - payload.count(b"\n") - payload.count(b"\r") - payload.count(b" ")
        pad = len(payload.rstrip()) - len(payload.rstrip().rstrip(b"="))
    return max(0, (n * 3) // 4 - min(pad, 2))


def looks_binary(data: bytes) -> bool:
    """True for data that is clearly not text (NUL bytes or many control characters)."""
    head = data[:4096]
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL))
    return controls * 10 > len(head)


_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))

_DROP_BLOCKS = re.compile(
    r"<(script|style|head|title)\b[^>]*>.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)", re.S | re.I
)
_BREAKS = re.compile(
    r"<\s*/?\s*(?:br|p|div|tr|li|h[1-6]|hr|table|blockquote|pre|ul|ol|dd|dt)\b[^>]*>", re.I
)
_CELL = re.compile(r"<\s*/?\s*t[dh]\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v\xa0\u200b]+")
_BLANKS = re.compile(r" ?\n[ \n]*\n ?")


def html_to_text(markup: str) -> str:
    """Plain text from HTML for indexing and snippets (not for display)."""
    text = _DROP_BLOCKS.sub(" ", markup)
    text = _BREAKS.sub("\n", text)
    text = _CELL.sub(" ", text)
    text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    text = _SPACES.sub(" ", text)
    text = _BLANKS.sub("\n\n", text)
    return text.replace(" \n", "\n").replace("\n ", "\n").strip()


def make_snippet(text: str, limit: int = 200) -> str:
    """First ``limit`` characters of the text on one line, skipping quoted lines."""
    head = text[: limit * 6]
    lines = [ln for ln in head.splitlines() if not ln.lstrip().startswith(">")]
    snippet = " ".join(" ".join(lines).split())
    if not snippet:
        snippet = " ".join(head.split())
    return snippet[:limit]
