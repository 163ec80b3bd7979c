"""``commhub key status|encrypt|rotate``: the store's encryption key.

The key lives in the OS keyring (see ``services.security.encryption``).  ``encrypt``
turns a plain store into an encrypted one; ``rotate`` re-encrypts an encrypted store
under a new key.  Both are crash-safe and need Commhub closed (the store in use is
refused with a clear message).
"""

from __future__ import annotations

import argparse
import time
from typing import TextIO

from services.errors import ValidationError
from services.manager import CommManager
from services.security.encryption import StoreKeys

__all__ = ["add_parsers", "cmd_key"]


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    key = sub.add_parser("key", help="the store's encryption key: status, encrypt, rotate")
    key_sub = key.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    key_sub.add_parser("status", help="is the store encrypted, is its key in the keyring")
    key_sub.add_parser("encrypt", help="encrypt a plain store (key kept in the keyring)")
    key_sub.add_parser("rotate", help="re-encrypt the store under a new key")


def cmd_key(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    keys = StoreKeys(comm.db_path, comm.secrets)
    status = keys.status()
    if args.key_command == "status":
        out.write(f"store: {comm.db_path} ({status.state})\n")
        if status.store_id:
            found = "yes" if status.key_in_keyring else "NO"
            out.write(f"key id: {status.store_id}; key in the keyring: {found}\n")
        if status.rotation_pending:
            out.write("an interrupted rotation is pending; it finishes on the next open\n")
        return 0
    wanted = "plain" if args.key_command == "encrypt" else "encrypted"
    if status.state != wanted:
        hint = {
            "missing": "there is no store yet",
            "plain": "the store is not encrypted: use `commhub key encrypt`",
            "encrypted": "the store is already encrypted: use `commhub key rotate`",
        }[status.state]
        raise ValidationError(f"cannot {args.key_command}: {hint}")
    started = time.monotonic()
    keys.rotate()
    verb = "encrypted" if args.key_command == "encrypt" else "re-encrypted under a new key"
    out.write(f"{verb}: {comm.db_path} in {time.monotonic() - started:.1f}s; "
              "the key is in the keyring\n")
    return 0
