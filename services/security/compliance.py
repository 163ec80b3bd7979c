"""Compliance modes: what ``compliance_mode="GDPR"`` (or HIPAA, SOX, ...) switches on.

:func:`compliance_settings` turns a :class:`SecurityConfig` into the effective settings:

* ``audit_enabled``: the audit log is on (any compliance mode, or ``audit_logging`` /
  ``audit_all_communications``);
* ``retention``: how long each kind of data is kept, as the spec writes it
  (``{"emails": "7_years", "sms": "3_years", "audit_logs": "10_years"}``; parsed by
  :mod:`services.security.retention`).  Precedence, per kind: the config's explicit
  ``retention_policy`` entry, then ``data_retention_days`` (every message kind), then the
  mode's defaults; kinds left out are kept for ever;
* ``dlp``: the data-loss-prevention policy (``None``: off).  GDPR warns on every finding,
  HIPAA blocks; ``data_loss_prevention=True`` means the default (blocking) policy.

With several standards the strictest wins: the longest retention (a minimum keep period
is the legal duty) and blocking over warning.

It also holds :class:`AuditSink`, the one audit call the privacy jobs make (the real
implementation is ``services.security.audit.AuditLog``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.errors import ConfigurationError
from services.security.config import SecurityConfig
from services.security.dlp import DlpAction, DlpPolicy

__all__ = ["PRESETS", "AuditSink", "ComplianceSettings", "Preset", "compliance_settings"]


class AuditSink(Protocol):
    """Where privacy jobs report what they did (``AuditLog.record`` has this signature).

    Events are lower-case slugs (``exported``, ``erased``, ``retention-purge``) and every
    detail value is a short string: the audit log holds metadata, never content."""

    def record(
        self,
        event: str,
        *,
        channel: str | None = None,
        object_id: str | None = None,
        user: str | None = None,
        details: Mapping[str, str] | None = None,
    ) -> Any: ...


@dataclass(frozen=True)
class Preset:
    retention: Mapping[str, str]
    dlp: DlpAction | None  # None: DLP stays off unless the config asks for it


_MESSAGE_KINDS = ("emails", "sms", "chat", "sockets")
PRESETS: Mapping[str, Preset] = {
    "GDPR": Preset({"emails": "7_years", "sms": "3_years", "chat": "3_years",
                    "sockets": "1_year", "audit_logs": "10_years"}, DlpAction.WARN),
    "HIPAA": Preset({"emails": "6_years", "sms": "6_years", "chat": "6_years",
                     "sockets": "6_years", "audit_logs": "6_years"}, DlpAction.BLOCK),
    "SOX": Preset({"emails": "7_years", "sms": "7_years", "chat": "7_years",
                   "audit_logs": "7_years"}, DlpAction.WARN),
    "PCI-DSS": Preset({"audit_logs": "1_year"}, DlpAction.BLOCK),
    "ISO27001": Preset({"audit_logs": "3_years"}, DlpAction.WARN),
}
_STRICTNESS = {DlpAction.ALLOW: 0, DlpAction.WARN: 1, DlpAction.BLOCK: 2}


@dataclass(frozen=True)
class ComplianceSettings:
    standards: tuple[str, ...] = ()
    audit_enabled: bool = False
    retention: Mapping[str, str | int] = field(default_factory=dict)
    dlp: DlpPolicy | None = None


def _days(text: str) -> float:
    """Rough length of a preset period, only to pick the longest of two presets."""
    number, _, unit = text.partition("_")
    scale = {"day": 1, "week": 7, "month": 30, "year": 365}.get(unit.rstrip("s"), 1)
    return float(number) * scale


def compliance_settings(config: SecurityConfig) -> ComplianceSettings:
    """The effective audit, retention and DLP settings for ``config``."""
    standards = list(config.compliance_standards)
    if config.compliance_mode:
        mode = config.compliance_mode.upper()
        if mode not in PRESETS:
            raise ConfigurationError(
                f"unknown compliance_mode {config.compliance_mode!r}; "
                f"known: {', '.join(sorted(PRESETS))}")
        standards.insert(0, mode)
    standards = list(dict.fromkeys(standards))
    retention: dict[str, str | int] = {}
    dlp_action: DlpAction | None = None
    for name in standards:
        preset = PRESETS[name]
        for kind, period in preset.retention.items():
            old = retention.get(kind)
            if not isinstance(old, str) or _days(period) > _days(old):
                retention[kind] = period
        if preset.dlp is not None and (
            dlp_action is None or _STRICTNESS[preset.dlp] > _STRICTNESS[dlp_action]
        ):
            dlp_action = preset.dlp
    if config.data_retention_days is not None:
        for kind in _MESSAGE_KINDS:
            retention[kind] = int(config.data_retention_days)
    retention.update(config.retention_policy)
    dlp: DlpPolicy | None = None
    if config.data_loss_prevention:
        dlp = DlpPolicy()
    elif dlp_action is not None:
        dlp = DlpPolicy(actions={}, default=dlp_action)
    audit = bool(standards) or config.audit_logging or config.audit_all_communications
    return ComplianceSettings(tuple(standards), audit, retention, dlp)
