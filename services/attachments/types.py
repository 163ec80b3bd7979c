"""Result types of attachment analysis, text extraction and thumbnailing."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from services.errors import ValidationError

__all__ = [
    "AnalysisStatus",
    "AttachmentAnalysis",
    "Risk",
    "TextExtraction",
    "UnreadableAttachment",
]


class AnalysisStatus(enum.StrEnum):
    """Whether the content could be read as what it claims to be."""

    OK = "ok"
    EMPTY = "empty"  # zero bytes
    TRUNCATED = "truncated"  # the file ends early (partial download, cut-off part)
    CORRUPT = "corrupt"  # the content does not parse as its type
    ENCRYPTED = "encrypted"  # needs a password we do not have
    TOO_LARGE = "too_large"  # over a configured limit (pixels, bytes): a possible bomb
    TIMED_OUT = "timed_out"  # the worker ran out of time
    UNAVAILABLE = "unavailable"  # the content could not be loaded at all
    UNSUPPORTED = "unsupported"  # no text or thumbnail for this kind of file


class Risk(enum.StrEnum):
    """Reasons to be careful with an attachment before opening it."""

    EXTENSION_MISMATCH = "extension_mismatch"  # the name says one type, the bytes another
    EXECUTABLE = "executable"  # a program (ELF, PE, Mach-O, MSI, JAR ...)
    SCRIPT = "script"  # shell, batch, PowerShell, VBScript, JavaScript, Python ...
    MACROS = "macros"  # a macro-enabled Office file
    DOUBLE_EXTENSION = "double_extension"  # ``invoice.pdf.exe``
    DECEPTIVE_NAME = "deceptive_name"  # bidi overrides or padding hiding the real extension
    ENCRYPTED = "encrypted"  # an encrypted archive or PDF (content cannot be scanned)


@dataclass(frozen=True, slots=True)
class AttachmentAnalysis:
    """What an attachment really is.

    ``file_type`` is a simple kind from the content's magic bytes (never the name):
    ``pdf``, ``image``, ``document``, ``spreadsheet``, ``presentation``, ``text``,
    ``html``, ``csv``, ``archive``, ``audio``, ``video``, ``email``, ``executable``,
    ``script``, ``empty`` or ``other``.  ``mime_type`` is the detected MIME type;
    ``declared_type`` what the message claimed.
    """

    filename: str
    file_type: str
    mime_type: str
    declared_type: str
    size: int
    sha256: str
    status: AnalysisStatus = AnalysisStatus.OK
    detail: str = ""
    description: str = ""
    page_count: int | None = None
    image_size: tuple[int, int] | None = None
    encrypted: bool = False
    risks: frozenset[Risk] = field(default_factory=frozenset)

    @property
    def ok(self) -> bool:
        return self.status is AnalysisStatus.OK

    @property
    def suspicious(self) -> bool:
        """Any risk other than plain encryption."""
        return bool(self.risks - {Risk.ENCRYPTED})

    @property
    def extension_mismatch(self) -> bool:
        return Risk.EXTENSION_MISMATCH in self.risks


@dataclass(frozen=True, slots=True)
class TextExtraction:
    """Text of an attachment; ``status`` says why it may be empty, ``truncated``
    whether a page, character or time limit cut it short."""

    text: str
    status: AnalysisStatus = AnalysisStatus.OK
    detail: str = ""
    truncated: bool = False
    pages: int | None = None


class UnreadableAttachment(ValidationError):
    """An attachment that cannot be processed as asked (corrupt, encrypted, too large,
    of a kind without thumbnails ...).  ``status`` says which."""

    def __init__(self, message: str, *, status: AnalysisStatus) -> None:
        super().__init__(message)
        self.status = status
