"""``commhub audit verify|export|list``: the tamper-evident audit log.

``verify`` checks every entry's HMAC and the chain and names the first entry that was
edited, inserted or deleted; it exits with status 1 when the log was tampered with
(2 for the usual errors, such as a missing key).  ``export`` writes the entries, MACs
included, as CSV or JSON to stdout or ``--output``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from services.manager import CommManager
from services.security.audit import EVENTS, AuditEntry
from services.security.audit_export import FORMATS, export_entries

__all__ = ["EXIT_TAMPERED", "add_parsers", "cmd_audit"]

EXIT_TAMPERED = 1


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", help="first day (YYYY-MM-DD), included")
    p.add_argument("--until", help="last day (YYYY-MM-DD), included")
    p.add_argument("--event", action="append", metavar="EVENT",
                   help=f"only these events (repeatable): {', '.join(EVENTS)}")
    p.add_argument("--user", action="append", metavar="USER", help="only these users")
    p.add_argument("--channel", action="append", metavar="CHANNEL", help="only these channels")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the tamper-evident audit log: verify, export, list")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    audit_sub.add_parser("verify", help="check the log; exit status 1 if it was tampered with")
    p = audit_sub.add_parser("export", help="write the entries as CSV or JSON")
    p.add_argument("--format", choices=FORMATS, default="csv")
    p.add_argument("--output", "-o", help="a file to write (default: standard output)")
    _filters(p)
    p = audit_sub.add_parser("list", help="print the entries, oldest first")
    p.add_argument("--json", action="store_true")
    _filters(p)


def _entries(comm: CommManager, args: argparse.Namespace) -> list[AuditEntry]:
    date_range = (args.since, args.until) if args.since or args.until else None
    return comm.get_audit_log(date_range=date_range, message_types=args.event,
                              users=args.user, channels=args.channel)


def _line(e: AuditEntry) -> str:
    details = " ".join(f"{k}={v}" for k, v in sorted(e.details.items()))
    return (f"#{e.seq:<6} {e.time:%Y-%m-%d %H:%M:%S} {e.event:<12} {e.user or '-':<28} "
            f"{e.channel or '-':<7} {e.object_id or '-'} {details}").rstrip()


def cmd_audit(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    if args.audit_command == "verify":
        report = comm.audit_log.verify()
        out.write(report.summary() + "\n")
        for problem in report.problems:
            out.write(f"  #{problem.seq}: {problem.kind}: {problem.message}\n")
        return 0 if report.ok else EXIT_TAMPERED
    entries = _entries(comm, args)
    if args.audit_command == "list":
        if args.json:
            json.dump([e.to_dict() for e in entries], out, ensure_ascii=False, indent=1)
            out.write("\n")
        else:
            for e in entries:
                out.write(_line(e) + "\n")
        return 0
    if args.output:
        with Path(args.output).open("w", encoding="utf-8", newline="") as f:
            count = export_entries(entries, f, args.format)
    else:
        count = export_entries(entries, out, args.format)
    if comm.audit_log.count():  # exporting the log is itself audited
        comm.audit_log.record("exported", object_id="audit-log",
                              details={"format": args.format, "entries": str(count)})
    return 0
