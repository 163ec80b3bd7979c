"""Audit log export to CSV and JSON (the MACs included, so a copy can be checked later).

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from services.errors import ValidationError
from services.security.audit_chain import AuditEntry

__all__ = ["FIELDS", "FORMATS", "export_entries"]

FIELDS = ("seq", "time", "event", "user", "channel", "object_id", "details", "prev_mac", "mac")
FORMATS = ("csv", "json")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(
        value, dict
    ) else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def export_entries(entries: Iterable[AuditEntry], out: TextIO, fmt: str) -> int:
    """Write ``entries`` to ``out`` as ``csv`` or ``json``; returns how many."""
    if fmt not in FORMATS:
        raise ValidationError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    rows = [e.to_dict() for e in entries]
    if fmt == "json":
        json.dump(rows, out, ensure_ascii=False, indent=1)
        out.write("\n")
    else:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow([_cell(row[f]) for f in FIELDS])
    return len(rows)
