"""``comm.get_audit_log(date_range=..., message_types=..., users=...)`` from the spec.

``date_range`` is ``(start, end)``: ISO dates (``"2024-01-01"``, both days included),
ISO date-times, or ``date``/``datetime`` objects; either end may be ``None``.  Naive
date-times are taken as UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from services.errors import ValidationError
from services.security.audit import AuditEntry, AuditLog

__all__ = ["DateLike", "audit_query", "parse_date_range"]

DateLike = str | date | datetime | None


def _bound(value: DateLike, *, end: bool) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) <= 10 else datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValidationError(
                f"not a date: {text!r} (use YYYY-MM-DD or an ISO date-time)"
            ) from exc
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    start = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start  # whole days, end day included


def parse_date_range(
    date_range: Sequence[DateLike] | None,
) -> tuple[datetime | None, datetime | None]:
    if date_range is None:
        return None, None
    if isinstance(date_range, str) or len(date_range) != 2:
        raise ValidationError("date_range must be a pair: (start, end)")
    since, until = _bound(date_range[0], end=False), _bound(date_range[1], end=True)
    if since is not None and until is not None and until <= since:
        raise ValidationError(f"date_range ends before it starts: {date_range!r}")
    return since, until


def _names(values: Iterable[str] | str | None) -> list[str] | None:
    if values is None:
        return None
    return [values] if isinstance(values, str) else [str(v) for v in values]


def audit_query(
    log: AuditLog,
    *,
    date_range: Sequence[DateLike] | None = None,
    message_types: Iterable[str] | str | None = None,
    users: Iterable[str] | str | None = None,
    channels: Iterable[str] | str | None = None,
) -> list[AuditEntry]:
    since, until = parse_date_range(date_range)
    return log.entries(since=since, until=until, events=_names(message_types),
                       users=_names(users), channels=_names(channels))
