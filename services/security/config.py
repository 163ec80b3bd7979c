"""Security and compliance settings (``SecurityConfig`` from the spec).

This issue only carries the settings; enforcement (encryption at rest, audit,
retention) arrives with the security work and reads them from here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.errors import ConfigurationError

__all__ = ["SecurityConfig"]

_KNOWN_STANDARDS = frozenset({"GDPR", "HIPAA", "SOX", "PCI-DSS", "ISO27001"})


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    require_encryption: bool = False
    encryption_enabled: bool = False
    audit_all_communications: bool = False
    audit_logging: bool = False
    data_loss_prevention: bool = False
    compliance_standards: tuple[str, ...] = ()
    compliance_mode: str | None = None
    data_retention_days: int | None = None
    retention_policy: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        standards = tuple(s.upper() for s in self.compliance_standards)
        unknown = [s for s in standards if s not in _KNOWN_STANDARDS]
        if unknown:
            raise ConfigurationError(
                f"unknown compliance standard(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(_KNOWN_STANDARDS))}"
            )
        object.__setattr__(self, "compliance_standards", standards)
        if self.data_retention_days is not None and self.data_retention_days < 1:
            raise ConfigurationError("data_retention_days must be at least 1")

    def with_overrides(
        self,
        *,
        encryption_enabled: bool | None = None,
        audit_logging: bool | None = None,
        compliance_mode: str | None = None,
        data_retention_days: int | None = None,
    ) -> SecurityConfig:
        changes: dict[str, object] = {}
        if encryption_enabled is not None:
            changes["encryption_enabled"] = encryption_enabled
        if audit_logging is not None:
            changes["audit_logging"] = audit_logging
        if compliance_mode is not None:
            changes["compliance_mode"] = compliance_mode.upper()
        if data_retention_days is not None:
            changes["data_retention_days"] = data_retention_days
        return dataclasses.replace(self, **changes) if changes else self  # type: ignore[arg-type]
