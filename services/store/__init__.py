"""The local store: every channel's messages, raw bytes, threads and full-text index."""

from services.store.blobs import Codec, PlainCodec
from services.store.events import IngestResult, StoreEvent
from services.store.prepare import PreparedMessage, prepare
from services.store.store import Store

__all__ = ["Codec", "IngestResult", "PlainCodec", "PreparedMessage", "Store", "StoreEvent",
           "prepare"]
