"""``commhub account add|remove``, ``commhub sync [--watch]`` and ``commhub send``.

Secrets are read from a prompt (or stdin with ``--password-stdin``) and go to the
OS keyring through the manager; settings files never hold them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TextIO

from services.email.account_setup import AccountForm
from services.errors import ValidationError
from services.manager import CommManager


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    acc = sub.add_parser("account", help="add or remove an account")
    acc_sub = acc.add_subparsers(dest="account_command", metavar="ACTION", required=True)

    p = acc_sub.add_parser("add", help="add an account (imap, gmail, outlook)")
    p.add_argument("provider", help="imap (IMAP + SMTP), gmail, outlook (also office365, exchange)")
    p.add_argument("name", help="a short name for the account, e.g. work")
    p.add_argument("--email", required=True, help="your address on this account")
    p.add_argument("--username", help="login name if not the address (imap)")
    p.add_argument("--imap-host")
    p.add_argument("--imap-port", type=int)
    p.add_argument("--imap-security", choices=["ssl", "starttls", "plain"], default="ssl")
    p.add_argument("--smtp-host")
    p.add_argument("--smtp-port", type=int)
    p.add_argument("--smtp-security", choices=["starttls", "ssl", "plain"], default="starttls")
    p.add_argument("--ca-file", help="trust this CA (a self-signed server)")
    p.add_argument(
        "--allow-plaintext",
        action="store_true",
        help="permit unencrypted connections (never the default)",
    )
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--credentials", help="gmail: your OAuth client secrets file (credentials.json)")
    p.add_argument("--client-id", help="outlook: the app (client) id")
    p.add_argument("--tenant", default="common", help="outlook: tenant id (default: common)")

    p = acc_sub.add_parser("remove", help="forget an account and its secrets")
    p.add_argument("name")

    p = sub.add_parser("sync", help="fetch new mail (all accounts, or one)")
    p.add_argument("name", nargs="?")
    p.add_argument("--watch", action="store_true", help="keep running and take pushed mail (IDLE)")

    p = sub.add_parser("send", help="send a message")
    p.add_argument("--account", required=True)
    p.add_argument("--to", action="append", required=True)
    p.add_argument("--cc", action="append", default=[])
    p.add_argument("--bcc", action="append", default=[])
    p.add_argument("--subject", required=True)
    body = p.add_mutually_exclusive_group(required=True)
    body.add_argument("--body")
    body.add_argument("--body-file")
    p.add_argument("--attach", action="append", default=[])


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValidationError("no terminal to ask for the password: use --password-stdin")
    return getpass.getpass(f"password for {args.username or args.email}: ")


def cmd_account(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    if args.account_command == "remove":
        comm.remove_account(args.name)
        out.write(f"removed account {args.name}\n")
        return 0
    form = AccountForm(  # the same settings code as the GUI's accounts dialog
        provider=args.provider, name=args.name, email=args.email, username=args.username or "",
        imap_host=args.imap_host or "", imap_port=args.imap_port,
        imap_security=args.imap_security, smtp_host=args.smtp_host or "",
        smtp_port=args.smtp_port, smtp_security=args.smtp_security, ca_file=args.ca_file,
        allow_plaintext=args.allow_plaintext, credentials_path=args.credentials or "",
        client_id=args.client_id or "", tenant=args.tenant,
    )
    config = form.config()
    provider = form.kind
    secrets = {"password": _password(args)} if provider == "imap" else None
    comm.add_account(args.name, provider, config, secrets=secrets)
    out.write(
        f"added {provider} account {args.name} ({args.email}); run `commhub sync {args.name}`\n"
    )
    return 0


def cmd_sync(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    names = [args.name] if args.name else [a.name for a in comm.server_accounts()]
    if not names:
        out.write("no server accounts yet: add one with `commhub account add`\n")
        return 0
    for name in names:
        report = comm.account(name).sync()
        out.write(
            f"{name}: {report.added} new, {report.updated} updated, {report.removed} removed "
            f"in {report.seconds:.1f}s{' (full resync)' if report.full_resync else ''}\n"
        )
    indexed = comm.index_attachments()
    if indexed:
        out.write(f"indexed {indexed} attachment(s)\n")
    if args.watch:
        out.write("watching for new mail (Ctrl-C to stop)\n")
        out.flush()
        try:
            comm.run(_watch(comm, names, out))
        except KeyboardInterrupt:
            return 0
    return 0


async def _watch(comm: CommManager, names: list[str], out: TextIO) -> None:
    async def one(name: str) -> None:
        service = comm.account(name).service
        watch = getattr(service, "watch", None)
        if watch is None:
            out.write(f"{name}: no push support, skipped\n")
            return
        async for ids in watch():
            out.write(f"{name}: {len(ids)} new message(s)\n")
            out.flush()

    import asyncio

    await asyncio.gather(*(one(n) for n in names))


def cmd_send(comm: CommManager, args: argparse.Namespace, out: TextIO) -> int:
    account = comm.account(args.account)
    body = Path(args.body_file).read_text(encoding="utf-8") if args.body_file else args.body
    builder = account.compose().to(args.to).subject(args.subject).body(body)
    if args.cc:
        builder.cc(args.cc)
    if args.bcc:
        builder.bcc(args.bcc)
    for path in args.attach:
        builder.attach(path)
    result = builder.send()
    if not result.success:
        sys.stderr.write(f"commhub: not sent: {result.error}\n")
        return 2
    out.write(f"sent {result.message_id} via {result.provider}\n")
    return 0
