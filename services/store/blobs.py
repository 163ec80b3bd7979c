"""Content-addressed blob layer: every byte of message *content* goes through here.

Blobs live in the ``blobs`` table (``key`` = sha256 hex of the original bytes,
``codec``, ``data``).  On the way in, data is compressed with zlib level 1 when
that saves space, then passed through the store's :class:`Codec`; on the way out
the reverse.  The ``codec`` column records both steps as ``"<compression>:<codec
name>"`` (``"zlib:plain"``, ``"none:plain"``), so blobs written under different
codecs can coexist during a migration and a mismatch is a clear error, not
garbage.

What goes through the codec (and will be encrypted by swapping the codec):

* raw messages, byte-exact (``messages.raw_key``);
* the indexed body text of each message (``messages.text_key``), kept so the
  contentless FTS rows can be deleted and non-MIME messages (SMS/chat) shown;
* extracted attachment text later (``attachments.text_key``).

What is still plaintext (for the encryption issue to handle):

* metadata columns: ``messages`` (subject, sender, snippet, message ids, dates,
  flags, parse_warnings), ``participants``, ``attachments`` (file names),
  ``folders``, ``labels``, ``accounts``, ``contacts``, ``threads.subject_key``,
  ``msgids``;
* the FTS5 index ``fts`` (contentless, so no copy of the text, but its term
  index holds every token of subject, addresses, body and attachment names).

An encryption-at-rest issue should: add an ``EncryptingCodec`` (AEAD, e.g.
AES-GCM with a keyring-held key; ``name`` like ``"aesgcm1"``); use SQLCipher or a
page-level VFS for the metadata and FTS tables (the index cannot be encrypted
per row without losing MATCH), or drop ``snippet``/``subject`` to blobs and
accept a slower list view; and re-encode existing blobs by reading with the old
codec and writing with the new one (the ``codec`` column tells them apart).
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


def encode_blob(data: bytes, codec: Codec) -> tuple[str, bytes]:
    """Return ``(codec column, stored bytes)`` for ``data``."""
    compression = "none"
    payload = data
    if len(data) >= _MIN_COMPRESS:
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
