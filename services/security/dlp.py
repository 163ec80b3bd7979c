"""Data-loss prevention: find card numbers, IBANs, US SSNs, API keys and private keys in text.

Candidates are found with regular expressions and then *validated* so that look-alikes
pass: card numbers must pass the Luhn check and start with a known issuer prefix, IBANs
the ISO 13616 mod-97 check and their country's format, SSNs the SSA's allocation rules
(checksums and formats come from ``python-stdnum``).  Generic ``key=...`` assignments
count only when the value looks random (Shannon entropy).

A :class:`DlpPolicy` maps each kind of finding to :class:`DlpAction` ``BLOCK``, ``WARN``
or ``ALLOW``; :meth:`DlpPolicy.enforce` raises :class:`~services.errors.PolicyViolation`
when something is blocked.  Findings never carry the matched text, only a masked hint
(``•••• 1111``) and its position, so they are safe to log and audit.
"""

from __future__ import annotations

import enum
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from stdnum import iban, luhn
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.us import ssn

from services.errors import PolicyViolation

__all__ = [
    "KINDS",
    "DlpAction",
    "DlpDecision",
    "DlpPolicy",
    "Finding",
    "redact",
    "scan",
]


class DlpAction(enum.StrEnum):
    BLOCK = "block"
    WARN = "warn"
    ALLOW = "allow"


@dataclass(frozen=True, slots=True)
class Finding:
    """Something sensitive at ``text[start:end]``; ``hint`` is masked, never the secret."""

    kind: str
    start: int
    end: int
    hint: str

    @property
    def label(self) -> str:
        return KINDS.get(self.kind, self.kind)


KINDS: dict[str, str] = {
    "card-number": "a payment card number",
    "iban": "a bank account number (IBAN)",
    "us-ssn": "a US social security number",
    "aws-key": "an AWS access key",
    "github-token": "a GitHub token",
    "slack-token": "a Slack token",
    "google-api-key": "a Google API key",
    "generic-secret": "a secret key or password",
    "private-key": "a private key (PEM)",
}

_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# Visa, Mastercard (51-55, 2221-2720), Amex, Discover, JCB, Diners, UnionPay, Maestro
_ISSUER = re.compile(
    r"^(?:4|5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720|3[47]|6011|64[4-9]|65"
    r"|35(?:2[89]|[3-8]\d)|3(?:0[0-5]|[68])|62|5[06-9]|6\d)"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_SSN = re.compile(r"(?<!\d)(\d{3})-(\d{2})-(\d{4})(?!\d)")
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("aws-key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b")),
    ("aws-key", re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*[\"']?[A-Za-z0-9/+=]{40}")),
    ("github-token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b")),
    ("github-token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b")),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,250}")),
    ("slack-token", re.compile(r"https://hooks\.slack\.com/services/T\w+/B\w+/\w+")),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])")),
    (
        "private-key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?"
        ),
    ),
)
_GENERIC = re.compile(
    r"(?i)\b(?:api[_-]?key|access[_-]?key|secret(?:[_-]?key)?|token|passw(?:or)?d|"
    r"client[_-]?secret|auth[_-]?token|key)\b\s*[=:]\s*[\"']?([A-Za-z0-9+/_\-.=]{16,})"
)
_MIN_ENTROPY = 3.5  # bits per character; English words and repeated digits stay below


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _mask(digits: str, keep: int = 4) -> str:
    return "•••• " + digits[-keep:]


def _cards(text: str) -> Iterable[Finding]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and _ISSUER.match(digits) and luhn.is_valid(digits):
            yield Finding("card-number", m.start(), m.end(), _mask(digits))


def _ibans(text: str) -> Iterable[Finding]:
    for m in _IBAN.finditer(text):
        try:
            compact = iban.validate(m.group())
        except StdnumError:
            continue
        yield Finding("iban", m.start(), m.end(), compact[:2] + " " + _mask(compact))


def _ssns(text: str) -> Iterable[Finding]:
    for m in _SSN.finditer(text):
        if ssn.is_valid(m.group()):
            yield Finding("us-ssn", m.start(), m.end(), "•••-••-" + m.group(3))


def _patterns(text: str) -> Iterable[Finding]:
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            yield Finding(kind, m.start(), m.end(), m.group()[:4] + "…")


def _generic(text: str) -> Iterable[Finding]:
    for m in _GENERIC.finditer(text):
        value = m.group(1)
        if _entropy(value) >= _MIN_ENTROPY:
            yield Finding("generic-secret", m.start(1), m.end(1), value[:2] + "…")


_DETECTORS: tuple[Callable[[str], Iterable[Finding]], ...] = (
    _patterns,
    _cards,
    _ibans,
    _ssns,
    _generic,
)


def scan(text: str) -> list[Finding]:
    """Every sensitive item in ``text``, in order; overlapping hits keep the first detector's."""
    found: list[Finding] = []
    for detector in _DETECTORS:
        for f in detector(text):
            if not any(f.start < g.end and g.start < f.end for g in found):
                found.append(f)
    return sorted(found, key=lambda f: f.start)


def redact(text: str) -> str:
    """``text`` with every finding replaced by ``[redacted: kind]``."""
    out, last = [], 0
    for f in scan(text):
        out.append(text[last : f.start])
        out.append(f"[redacted: {f.kind}]")
        last = f.end
    out.append(text[last:])
    return "".join(out)


DEFAULT_ACTIONS: Mapping[str, DlpAction] = {
    "card-number": DlpAction.BLOCK,
    "us-ssn": DlpAction.BLOCK,
    "private-key": DlpAction.BLOCK,
    "aws-key": DlpAction.BLOCK,
    "github-token": DlpAction.BLOCK,
    "slack-token": DlpAction.BLOCK,
    "google-api-key": DlpAction.BLOCK,
    "iban": DlpAction.WARN,
    "generic-secret": DlpAction.WARN,
}


@dataclass(frozen=True, slots=True)
class DlpDecision:
    """What the policy says about one text: ``blocked`` and ``warned`` findings."""

    blocked: tuple[Finding, ...] = ()
    warned: tuple[Finding, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.blocked

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.kind for f in (*self.blocked, *self.warned)))

    def explain(self) -> str:
        items = self.blocked or self.warned
        what = "; ".join(f"{f.label} ({f.hint})" for f in items)
        if self.blocked:
            return (
                f"blocked by the data-loss prevention policy: the message contains {what}; "
                "remove it, or send it through an approved secure channel"
            )
        return f"data-loss prevention warning: the message contains {what}" if items else ""


@dataclass(frozen=True, slots=True)
class DlpPolicy:
    """Which kinds block, which warn; unknown kinds fall back to ``default``."""

    actions: Mapping[str, DlpAction] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    default: DlpAction = DlpAction.BLOCK

    def action(self, kind: str) -> DlpAction:
        return self.actions.get(kind, self.default)

    def check(self, *texts: str) -> DlpDecision:
        blocked: list[Finding] = []
        warned: list[Finding] = []
        for text in texts:
            for f in scan(text):
                act = self.action(f.kind)
                if act is DlpAction.BLOCK:
                    blocked.append(f)
                elif act is DlpAction.WARN:
                    warned.append(f)
        return DlpDecision(tuple(blocked), tuple(warned))

    def enforce(self, *texts: str) -> DlpDecision:
        """:meth:`check`, raising :class:`PolicyViolation` when anything is blocked."""
        decision = self.check(*texts)
        if decision.blocked:
            raise PolicyViolation(decision.explain(), findings=decision.kinds)
        return decision
