"""``commhub gdpr export|erase``, ``commhub retention purge``, ``commhub hold add|list|release``.

GDPR requests and purges are always written to the audit log (accountability), whatever
the audit setting; the entries name a data subject only by a pseudonym.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from datetime import UTC, datetime
from typing import TextIO

from services.errors import ValidationError
from services.manager import CommManager
from services.security.config import SecurityConfig
from services.security.gdpr import Gdpr
from services.security.retention import LegalHolds, RetentionJob, RetentionPolicy

__all__ = ["EXIT_USAGE", "add_parsers", "cmd_gdpr", "cmd_hold", "cmd_retention"]

EXIT_USAGE = 2


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gdpr = sub.add_parser("gdpr", help="GDPR requests: export or erase a person's data")
    gsub = gdpr.add_subparsers(dest="gdpr_command", metavar="ACTION", required=True)
    p = gsub.add_parser("export", help="everything about a person (JSON + originals + "
                                       "attachments) into a new folder or a .zip")
    p.add_argument("who", help="e-mail address or phone number")
    p.add_argument("--output", "-o", required=True, help="a new folder, or a path ending .zip")
    p = gsub.add_parser("erase", help="erase a person's messages, contacts and index entries")
    p.add_argument("who", help="e-mail address or phone number")
    p.add_argument("--yes", action="store_true", help="really erase (without it: a preview)")

    ret = sub.add_parser("retention", help="retention: purge what is past its period")
    rsub = ret.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    p = rsub.add_parser("purge", help="delete messages past retention and expired secure copies "
                                      "(never under a legal hold)")
    p.add_argument("--policy", action="append", default=[], metavar="KIND=PERIOD",
                   help="e.g. emails=7_years, sms=3_years (repeatable)")
    p.add_argument("--compliance", metavar="MODE", help="GDPR, HIPAA, SOX...: its defaults")
    p.add_argument("--as-of", metavar="DATE", help="purge as of this ISO date (default: now)")
    p.add_argument("--dry-run", action="store_true", help="only say what would go")

    hold = sub.add_parser("hold", help="legal holds: data under a hold is never purged or erased")
    hsub = hold.add_subparsers(dest="hold_command", metavar="ACTION", required=True)
    p = hsub.add_parser("add", help="place a hold")
    p.add_argument("scope", choices=("contact", "account", "message"))
    p.add_argument("value", help="address/phone, account name or message id")
    p.add_argument("--reason", default="")
    p = hsub.add_parser("list", help="list holds")
    p.add_argument("--json", action="store_true")
    p = hsub.add_parser("release", help="release a hold")
    p.add_argument("id", type=int)


def cmd_gdpr(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    gdpr = Gdpr(comm.store, audit=comm.audit_log, certificates=comm.certificates)
    if args.gdpr_command == "export":
        report = gdpr.export(args.who, args.output)
        out.write(f"exported {report.messages} message(s) and {report.attachments} "
                  f"attachment(s) about {', '.join(report.handles)} to {report.path}\n")
        return 0
    handles = gdpr.handles(args.who)
    if not args.yes:
        count = len(gdpr.message_ids(handles))
        out.write(f"would erase {count} message(s) and the contact records of "
                  f"{', '.join(handles)}; re-run with --yes to erase\n")
        return EXIT_USAGE
    erased = gdpr.erase(args.who)
    out.write(f"erased {erased.messages} message(s), {erased.contacts} contact(s), "
              f"{erased.outbox} outbox item(s), {erased.certificates} certificate(s) of "
              f"{', '.join(erased.handles)}\n")
    return 0


def _policy(comm: CommManager, args: argparse.Namespace) -> RetentionPolicy:
    config: SecurityConfig = comm.security
    if args.compliance:
        config = config.with_overrides(compliance_mode=args.compliance)
    extra: dict[str, str] = {}
    for item in args.policy:
        kind, sep, period = item.partition("=")
        if not sep:
            raise ValidationError(f"--policy wants KIND=PERIOD (e.g. emails=7_years), not {item!r}")
        extra[kind.strip()] = period.strip()
    if extra:
        config = dataclasses.replace(config, retention_policy={**config.retention_policy,
                                                               **extra})
    return RetentionPolicy.from_config(config)


def cmd_retention(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    policy = _policy(comm, args)
    when = datetime.now(UTC)
    if args.as_of:
        try:
            when = datetime.fromisoformat(args.as_of)
        except ValueError as exc:
            raise ValidationError(f"--as-of wants an ISO date, not {args.as_of!r}") from exc
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    job = RetentionJob(comm.store, policy, audit=None if args.dry_run else comm.audit_log,
                       clock=when.timestamp)
    report = job.preview() if args.dry_run else job.run()
    verb = "would remove" if args.dry_run else "removed"
    parts = ", ".join(f"{n} {kind}" for kind, n in sorted(report.removed.items()))
    out.write(f"{verb} {report.total} message(s) ({parts}); {report.held} kept by legal "
              "holds\n")
    return 0


def cmd_hold(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    holds = LegalHolds(comm.store, audit=comm.audit_log)
    if args.hold_command == "add":
        hold = holds.place(args.scope, args.value, args.reason)
        out.write(f"hold {hold.id}: {hold.scope} {hold.value}\n")
    elif args.hold_command == "release":
        holds.release(args.id)
        out.write(f"released hold {args.id}\n")
    elif args.json:
        json.dump([dataclasses.asdict(h) for h in holds.active()], out, indent=1)
        out.write("\n")
    else:
        for h in holds.active():
            out.write(f"{h.id:<5} {h.scope:<8} {h.value:<32} {h.reason}\n")
    return 0
