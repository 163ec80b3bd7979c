"""Child process for the kill -9 tests: queue one message, then send it (and hang in DATA).

Usage: python crash_sender.py DB RAW_FILE HOST PORT SENDER RECIPIENT
Prints "QUEUED <message-id>" once the outbox row is committed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from services.email.smtp import SmtpConfig, SmtpSender
from services.email.smtp import header_message_id as _mid
from services.outbox import OutboxSender, Route
from services.store import (
    Store,
    outbox,
)


async def main(db: str, raw_file: str, host: str, port: str, sender: str, rcpt: str) -> None:
    raw = Path(raw_file).read_bytes()
    store = Store.open(Path(db))
    mid = _mid(raw)
    assert mid is not None
    item = outbox.enqueue(store, "alice", raw, sender, [rcpt], mid)
    print("QUEUED", item.message_id, flush=True)
    config = SmtpConfig(host, int(port), security="plain", allow_plaintext=True, timeout=600)
    transport = SmtpSender(config, name="relay")
    await OutboxSender(store, "alice", [Route("relay", transport)]).send_now(item)
    print("RETURNED", flush=True)  # never reached: the test kills us in DATA


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
