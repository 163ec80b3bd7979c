"""``commhub config``: show and change the security options in ``settings.json``."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from app.settings import SECURITY_KEYS, Settings, parse_value

__all__ = ["add_parsers", "cmd_config"]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("config", help="show or change the security options (settings.json)")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("show", help="print the options that are set")
    s = actions.add_parser("set", help="set an option: " + ", ".join(sorted(SECURITY_KEYS)))
    s.add_argument("key", choices=sorted(SECURITY_KEYS))
    s.add_argument("value")
    u = actions.add_parser("unset", help="back to the default")
    u.add_argument("key", choices=sorted(SECURITY_KEYS))


def cmd_config(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "set":
        settings = settings.with_security(args.key, parse_value(args.key, args.value))
    elif args.action == "unset":
        settings = settings.with_security(args.key, None)
    if not settings.security:
        out.write(f"no security options set ({settings.settings_path}); defaults apply\n")
    for key, value in sorted(settings.security.items()):
        out.write(f"{key} = {str(value).lower() if isinstance(value, bool) else value}\n")
    return 0
