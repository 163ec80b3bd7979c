"""The local store: every channel's messages, raw bytes, threads and full-text index.

``Store`` (the SQLite store and its search) is imported on first use (``services._lazy``):
a parse worker process needs only the row preparation.  ``prepare`` is imported here at
once: importing the ``services.store.prepare`` module would otherwise leave the package
attribute ``prepare`` naming the module instead of the function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services._lazy import attach
from services.store.blobs import Codec, PlainCodec
from services.store.events import IngestResult, StoreEvent
from services.store.prepare import PreparedMessage, prepare

if TYPE_CHECKING:
    from services.store.store import Store

__all__ = ["Codec", "IngestResult", "PlainCodec", "PreparedMessage", "Store", "StoreEvent",
           "prepare"]

__getattr__, __dir__ = attach(__name__, {"Store": "services.store.store"})
