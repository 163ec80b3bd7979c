"""The ``commhub`` command.

``commhub`` with no subcommand (and ``python -m app``) opens the desktop window;
subcommands work on the local store::

    commhub import PATH [--account NAME]
    commhub search QUERY [--json] [--limit N] [--count]
    commhub show ID [--json | --raw]
    commhub thread ID [--json]
    commhub accounts [--json]
    commhub account add imap|gmail|outlook NAME --email ADDRESS ...
    commhub account remove NAME
    commhub sync [NAME] [--watch]
    commhub send --account NAME --to ADDRESS --subject S --body TEXT [--attach FILE]
    commhub key status|encrypt|rotate

Known errors (a bad query, a missing path, an unknown id) print one readable line
and exit with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from app.cli_accounts import add_parsers as add_account_parsers
from app.cli_accounts import cmd_account, cmd_send, cmd_sync
from app.cli_audit import add_parsers as add_audit_parsers
from app.cli_audit import cmd_audit
from app.cli_config import add_parsers as add_config_parsers
from app.cli_config import cmd_config
from app.cli_key import add_parsers as add_key_parsers
from app.cli_key import cmd_key
from app.cli_privacy import add_parsers as add_privacy_parsers
from app.cli_privacy import cmd_gdpr, cmd_hold, cmd_retention
from app.formatting import account_to_dict, message_line, message_text, message_to_dict
from app.logs import report_crash, setup_logging
from app.settings import Settings
from services.errors import CommError, QuerySyntaxError
from services.manager import CommManager
from services.query.builder import EmailQuery
from services.security.redact import redact
from services.threads.jwz import ThreadNode, thread_messages

EXIT_USAGE = 2
EXIT_BUG = 70  # EX_SOFTWARE: an internal error (details in the log)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="commhub",
        description="Commhub: every channel you communicate on, in one window. "
        "Without a command, opens the desktop app.",
    )
    parser.add_argument(
        "--data-dir",
        help="where the store lives (default: $COMMHUB_DATA_DIR "
        "or the platform's user data folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "import",
        help="import a Maildir, an mbox (Google Takeout too), a folder of .eml files or one .eml",
    )
    p.add_argument("path")
    p.add_argument("--account", help="account to import into (default: local)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")

    p = sub.add_parser("search", help="search the local store: from:alice is:unread ...")
    p.add_argument("query", nargs="+", help="query text (see docs/query-language.md)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--limit", type=int, default=None, help="at most N results")
    p.add_argument("--count", action="store_true", help="print only the number of matches")

    p = sub.add_parser("show", help="show one message")
    p.add_argument("id", type=int)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true")
    group.add_argument("--raw", action="store_true", help="the original bytes, exactly")

    p = sub.add_parser("thread", help="show the conversation a message belongs to")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("accounts", help="list accounts")
    p.add_argument("--json", action="store_true")

    add_account_parsers(sub)
    add_audit_parsers(sub)
    add_key_parsers(sub)
    add_config_parsers(sub)
    add_privacy_parsers(sub)
    sub.add_parser("gui", help="open the desktop app (the default)")
    return parser


class _Progress:
    """Progress on stderr: a redrawn line on a terminal, a line every few seconds otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last < (0.1 if self.tty else 2.0) and done != total:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-6)
        of = f"/{total}" if total else ""
        text = f"importing: {done}{of} messages ({rate:,.0f}/s)"
        if self.tty:
            self.stream.write("\r" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self.last:
            self.stream.write("\n")


def _cmd_import(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    progress = None if args.quiet else _Progress(sys.stderr)
    report = comm.import_path(args.path, account=args.account, progress=progress)
    if progress:
        progress.finish()
    rate = report.seen / report.seconds if report.seconds else 0.0
    out.write(
        f"imported {report.added} new message(s) from {report.source_kind} {args.path} "
        f"({report.duplicates} already present, {len(report.skipped)} skipped, "
        f"{report.warnings_count} with parse warnings) in {report.seconds:.1f}s ({rate:,.0f}/s)\n"
    )
    indexed = comm.index_attachments()
    if indexed:
        out.write(f"indexed {indexed} attachment(s) (text inside them is now searchable)\n")
    for path, reason in report.skipped[:20]:
        out.write(f"  skipped {path}: {reason}\n")
    if len(report.skipped) > 20:
        out.write(f"  ... and {len(report.skipped) - 20} more skipped\n")
    return 0


def _cmd_search(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    query = EmailQuery.parse(" ".join(args.query))
    if args.limit is not None:
        query.limit(args.limit)
    if args.count:
        out.write(f"{comm.count(query)}\n")
        return 0
    results = comm.search(query)
    if args.json:
        json.dump([message_to_dict(m) for m in results], out, ensure_ascii=False, indent=1)
        out.write("\n")
    else:
        for msg in results:
            out.write(message_line(msg) + "\n")
    return 0


def _cmd_show(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    if args.raw:
        data = comm.raw(args.id)
        out.flush()
        buffer = getattr(out, "buffer", None)
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:
            out.write(data.decode("utf-8", "replace"))
        return 0
    msg = comm.get(args.id)
    if args.json:
        json.dump(message_to_dict(msg, full=True), out, ensure_ascii=False, indent=1)
        out.write("\n")
    else:
        out.write(message_text(msg) + "\n")
    return 0


def _tree_lines(nodes: Sequence[ThreadNode], depth: int, lines: list[str]) -> None:
    for node in nodes:
        indent = "  " * depth
        msg = node.message
        if msg is None:
            lines.append(f"{indent}└ (missing message <{node.message_id}>)")
        else:
            lines.append(f"{indent}└ {message_line(msg).lstrip()}")
        _tree_lines(node.children, depth + 1, lines)


def _tree_json(nodes: Sequence[ThreadNode]) -> list[dict[str, object]]:
    return [
        {
            "message": message_to_dict(n.message) if n.message is not None else None,
            "message_id": n.message_id,
            "children": _tree_json(n.children),
        }
        for n in nodes
    ]


def _cmd_thread(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    roots = thread_messages(comm.thread(args.id))
    if args.json:
        json.dump(_tree_json(roots), out, ensure_ascii=False, indent=1)
        out.write("\n")
    else:
        lines: list[str] = []
        _tree_lines(roots, 0, lines)
        out.write("\n".join(lines) + "\n")
    return 0


def _cmd_accounts(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    counts = comm.store.account_stats()
    rows = [account_to_dict(a, counts.get(a.name, 0)) for a in comm.accounts()]
    if args.json:
        json.dump(rows, out, ensure_ascii=False, indent=1)
        out.write("\n")
    elif not rows:
        out.write("no accounts yet: try `commhub import ~/Maildir`\n")
    else:
        for row in rows:
            out.write(
                f"{row['name']:<20} {row['provider']:<10} {row['channel']:<7} "
                f"{row['messages']:>8} messages  {row['address']}\n"
            )
    return 0


_COMMANDS: dict[str, Callable[[CommManager, argparse.Namespace, TextIO], int]] = {
    "import": _cmd_import,
    "search": _cmd_search,
    "show": _cmd_show,
    "thread": _cmd_thread,
    "accounts": _cmd_accounts,
    "account": cmd_account,
    "audit": cmd_audit,
    "key": cmd_key,
    "gdpr": cmd_gdpr,
    "retention": cmd_retention,
    "hold": cmd_hold,
    "sync": cmd_sync,
    "send": cmd_send,
}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    stdout = out or sys.stdout
    try:
        settings = Settings.load(args.data_dir)
    except CommError as exc:
        sys.stderr.write(f"commhub: {exc}\n")
        return EXIT_USAGE
    setup_logging(settings.data_dir)
    if args.command in (None, "gui"):
        from app.gui import run_gui

        return run_gui(settings)
    try:
        if args.command == "config":
            return cmd_config(settings, args, stdout)
        with CommManager(data_dir=settings.data_dir, **settings.security) as comm:
            return _COMMANDS[args.command](comm, args, stdout)
    except QuerySyntaxError as exc:
        sys.stderr.write(f"commhub: bad query: {exc}\n")
        return EXIT_USAGE
    except CommError as exc:
        sys.stderr.write(f"commhub: {redact(str(exc))}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: the traceback goes to the log, redacted
        sys.stderr.write(report_crash(exc, settings.data_dir) + "\n")
        return EXIT_BUG


if __name__ == "__main__":
    raise SystemExit(main())
