"""Content-addressed blob layer: every byte of message *content* goes through here.

Blobs live in the ``blobs`` table (``key`` = sha256 hex of the original bytes,
``codec``, ``data``).  On the way in, data is compressed with zlib level 1 when
that saves space, then passed through the store's :class:`Codec`; on the way out
the reverse.  The ``codec`` column records both steps as ``"<compression>:<codec
name>"`` (``"zlib:plain"``, ``"none:plain"``), so blobs written under different
codecs can coexist during a migration and a mismatch is a clear error, not
garbage.

What goes through the codec:

* raw messages, byte-exact (``messages.raw_key``);
* the indexed body text of each message (``messages.text_key``), kept so the
  contentless FTS rows can be deleted and non-MIME messages (SMS/chat) shown;
* extracted attachment text later (``attachments.text_key``).

Encryption at rest is one level down (:mod:`services.store.cipher`): an encrypted
store is a SQLCipher database, so these blobs, every metadata column and the FTS5
index are encrypted page by page (WAL included) and the codec stays ``plain``
(encrypting blobs again would only cost time).  A codec remains the hook for a
per-blob transform; the ``codec`` column tells blobs written under different codecs
apart, and a mismatch is a clear error.
"""

from __future__ import annotations

import hashlib
import sqlite3
import zlib
from typing import Protocol, runtime_checkable

from services.errors import NotFound, StoreError

__all__ = [
    "Codec",
    "PlainCodec",
    "blob_key",
    "decode_blob",
    "encode_blob",
    "read_blob",
]

_MIN_COMPRESS = 64  # below this zlib cannot win


@runtime_checkable
class Codec(Protocol):
    """A reversible byte transform applied to every stored blob (after compression)."""

    @property
    def name(self) -> str: ...

    def encode(self, data: bytes) -> bytes: ...

    def decode(self, data: bytes) -> bytes: ...


class PlainCodec:
    """The identity codec: content stored as is (after optional compression)."""

    @property
    def name(self) -> str:
        return "plain"

    def encode(self, data: bytes) -> bytes:
        return data

    def decode(self, data: bytes) -> bytes:
        return data


def blob_key(data: bytes) -> str:
    """The content address of ``data``: its sha256 in hex."""
    return hashlib.sha256(data).hexdigest()


def encode_blob(data: bytes, codec: Codec, *, compress: bool = True) -> tuple[str, bytes]:
    """Return ``(codec column, stored bytes)`` for ``data``; ``compress=False`` stores it
    uncompressed (zlib costs ~25 µs even on a 1 KB block: an IMAP header sync stores its
    header blocks as they are until the whole message replaces them)."""
    compression = "none"
    payload = data
    if compress and len(data) >= _MIN_COMPRESS:
        packed = zlib.compress(data, 1)
        if len(packed) < len(data) - 16:
            compression, payload = "zlib", packed
    return f"{compression}:{codec.name}", codec.encode(payload)


def decode_blob(codec_column: str, stored: bytes, codec: Codec) -> bytes:
    """Reverse :func:`encode_blob`; raise :class:`StoreError` on a codec mismatch."""
    compression, _, name = codec_column.partition(":")
    if name != codec.name:
        raise StoreError(
            f"blob was written with codec {name!r} but the store uses {codec.name!r}"
        )
    payload = codec.decode(stored)
    if compression == "zlib":
        try:
            return zlib.decompress(payload)
        except zlib.error as exc:
            raise StoreError(f"corrupt blob (zlib: {exc})") from exc
    if compression != "none":
        raise StoreError(f"unknown blob compression {compression!r}")
    return payload


def read_blob(conn: sqlite3.Connection, key: str, codec: Codec) -> bytes:
    """The original bytes stored under ``key``."""
    row = conn.execute("SELECT codec, data FROM blobs WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise NotFound(f"blob {key} is missing from the store")
    return decode_blob(str(row[0]), bytes(row[1]), codec)
