"""Content type detection from magic bytes (libmagic) and name-based risk checks.

The type always comes from the bytes; the file name is only compared against it.
libmagic handles are not thread-safe, so :class:`TypeDetector` owns one behind a lock.
"""

from __future__ import annotations

import io
import threading
import unicodedata
import zipfile

import magic

from services.attachments.types import AnalysisStatus, Risk

__all__ = ["TypeDetector", "container_checks", "kind_of_extension", "kind_of_mime", "name_risks"]

_SNIFF = 1 << 20  # libmagic needs the start of the file (OOXML: the first zip entries)

_EXACT: dict[str, str] = {
    "application/pdf": "pdf",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/csv": "csv",
    "application/csv": "csv",
    "application/json": "text",
    "application/xml": "text",
    "message/rfc822": "email",
    "inode/x-empty": "empty",
    "application/x-empty": "empty",
    "application/rtf": "document",
    "text/rtf": "document",
    "application/msword": "document",
    "application/vnd.ms-excel": "spreadsheet",
    "application/vnd.ms-powerpoint": "presentation",
    "application/java-archive": "executable",
    "application/x-msi": "executable",
    "application/x-ms-installer": "executable",
    "application/x-ms-shortcut": "executable",
    "application/vnd.microsoft.portable-executable": "executable",
}
_EXECUTABLE = (
    "application/x-executable", "application/x-dosexec", "application/x-sharedlib",
    "application/x-pie-executable", "application/x-mach-binary", "application/x-msdownload",
    "application/x-elf", "application/x-object", "application/x-coredump",
)
_SCRIPT_WORDS = ("shellscript", "python", "perl", "php", "ruby", "javascript", "msdos-batch",
                 "powershell", "vbscript", "tcl", "awk", "lua")
_ARCHIVE_WORDS = ("zip", "x-7z", "x-rar", "vnd.rar", "gzip", "x-tar", "x-bzip2", "x-xz",
                  "zstd", "x-lzma", "x-lzip", "x-compress", "x-cpio", "x-iso9660", "x-archive")
_OFFICE_WORDS = (("spreadsheet", "spreadsheet"), ("excel", "spreadsheet"),
                 ("presentation", "presentation"), ("powerpoint", "presentation"),
                 ("wordprocessing", "document"), ("msword", "document"),
                 ("word.", "document"), ("opendocument.text", "document"))


def kind_of_mime(mime: str) -> str:
    """The simple kind (``pdf``, ``image`` ...) of a MIME type."""
    mime = mime.lower().split(";", 1)[0].strip()
    if mime in _EXACT:
        return _EXACT[mime]
    if mime in _EXECUTABLE:
        return "executable"
    major, _, minor = mime.partition("/")
    if any(word in minor for word in _SCRIPT_WORDS):
        return "script"
    if major in ("image", "audio", "video"):
        return major
    for word, kind in _OFFICE_WORDS:
        if word in minor:
            return kind
    if any(word in minor for word in _ARCHIVE_WORDS):
        return "archive"
    if major == "text":
        return "text"
    return "other"


_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "pdf": ("pdf",),
    "image": ("jpg", "jpeg", "jpe", "jfif", "png", "gif", "bmp", "tif", "tiff", "webp",
              "ico", "heic", "heif", "avif", "svg"),
    "document": ("doc", "docx", "docm", "dot", "dotx", "dotm", "odt", "rtf"),
    "spreadsheet": ("xls", "xlsx", "xlsm", "xlsb", "xlt", "xltx", "xltm", "ods"),
    "presentation": ("ppt", "pptx", "pptm", "pps", "ppsx", "ppsm", "pot", "potx", "potm", "odp"),
    "text": ("txt", "text", "log", "md", "json", "xml", "ini", "cfg", "yaml", "yml", "ics",
             "vcf"),
    "html": ("html", "htm", "xhtml"),
    "csv": ("csv", "tsv"),
    "archive": ("zip", "7z", "rar", "gz", "tgz", "tar", "bz2", "xz", "zst", "iso"),
    "audio": ("mp3", "wav", "ogg", "oga", "flac", "m4a", "aac", "opus"),
    "video": ("mp4", "m4v", "mov", "avi", "mkv", "webm", "mpg", "mpeg"),
    "email": ("eml", "msg"),
    "executable": ("exe", "dll", "scr", "com", "cpl", "msi", "msp", "jar", "apk", "app",
                   "elf", "so", "dylib", "lnk", "sys"),
    "script": ("sh", "bash", "zsh", "bat", "cmd", "ps1", "psm1", "vbs", "vbe", "js", "jse",
               "wsf", "wsh", "hta", "py", "pl", "rb", "php", "reg", "scpt", "command"),
}
_BY_EXTENSION = {ext: kind for kind, exts in _EXTENSIONS.items() for ext in exts}
_MACRO_EXTENSIONS = frozenset(("docm", "dotm", "xlsm", "xltm", "xlsb", "xlam", "pptm", "potm",
                               "ppsm", "ppam"))
_DANGEROUS = frozenset(_EXTENSIONS["executable"] + _EXTENSIONS["script"])
# kinds whose contents may legitimately be detected as another of the group
_COMPATIBLE = (
    frozenset(("text", "csv", "html", "script", "email")),
    frozenset(("document", "spreadsheet", "presentation", "archive")),  # OOXML/ODF are zips
    frozenset(("executable", "archive")),  # .jar, .apk
    frozenset(("audio", "video")),
)
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def kind_of_extension(filename: str) -> str | None:
    dot = filename.rfind(".")
    return _BY_EXTENSION.get(filename[dot + 1 :].strip().lower()) if dot > 0 else None


def _compatible(named: str, detected: str) -> bool:
    if named == detected:
        return True
    return any(named in group and detected in group for group in _COMPATIBLE)


def name_risks(filename: str, detected_kind: str) -> set[Risk]:
    """Risks visible from the name alone, and the name compared with the content."""
    risks: set[Risk] = set()
    name = unicodedata.normalize("NFC", filename)
    if any(ch in _BIDI for ch in name) or "  ." in name:
        risks.add(Risk.DECEPTIVE_NAME)
    clean = "".join(ch for ch in name if ch not in _BIDI).replace("\\", "/").rsplit("/", 1)[-1]
    parts = [p.strip().lower() for p in clean.split(".")]
    ext = parts[-1] if len(parts) > 1 else ""
    if len(parts) > 2 and parts[-2] in _BY_EXTENSION and ext in _DANGEROUS:
        risks.add(Risk.DOUBLE_EXTENSION)
    if ext in _MACRO_EXTENSIONS:
        risks.add(Risk.MACROS)
    if ext in _EXTENSIONS["executable"]:
        risks.add(Risk.EXECUTABLE)
    elif ext in _EXTENSIONS["script"]:
        risks.add(Risk.SCRIPT)
    named = _BY_EXTENSION.get(ext)
    if named is not None and detected_kind not in ("empty", "other") and not _compatible(
        named, detected_kind
    ):
        risks.add(Risk.EXTENSION_MISMATCH)
    if detected_kind == "executable":
        risks.add(Risk.EXECUTABLE)
    elif detected_kind == "script":
        risks.add(Risk.SCRIPT)
    return risks


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_VBA = ("_VBA_PROJECT".encode("utf-16-le"), "Macros".encode("utf-16-le"))


def container_checks(data: bytes, mime: str) -> tuple[set[Risk], AnalysisStatus, str]:
    """Look inside zip-based files (macros, encrypted members) and OLE files (macros)."""
    risks: set[Risk] = set()
    if "macroenabled" in mime.lower():
        risks.add(Risk.MACROS)
    if data.startswith(_OLE_MAGIC):
        if any(marker in data for marker in _OLE_VBA):
            risks.add(Risk.MACROS)
        if "EncryptedPackage".encode("utf-16-le") in data:
            risks.add(Risk.ENCRYPTED)  # a password-protected OOXML file is an OLE container
        return risks, AnalysisStatus.OK, ""
    if not data.startswith(b"PK\x03\x04"):
        return risks, AnalysisStatus.OK, ""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except Exception as exc:  # zipfile raises several types on hostile archives
        status = AnalysisStatus.TRUNCATED if b"PK\x05\x06" not in data[-65_600:] else (
            AnalysisStatus.CORRUPT)
        return risks, status, f"unreadable zip container: {exc}"
    for info in infos:
        if info.flag_bits & 0x1:
            risks.add(Risk.ENCRYPTED)
        if info.filename.lower().rsplit("/", 1)[-1] in ("vbaproject.bin", "vbadata.xml"):
            risks.add(Risk.MACROS)
    return risks, AnalysisStatus.OK, ""


class TypeDetector:
    """MIME type and description of content, from its magic bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mime = magic.Magic(mime=True)
        self._text = magic.Magic()

    def detect(self, data: bytes) -> tuple[str, str]:
        """``(mime type, description)``; empty content is ``inode/x-empty``."""
        if not data:
            return "inode/x-empty", "empty"
        head = data[:_SNIFF]
        try:
            with self._lock:
                return str(self._mime.from_buffer(head)), str(self._text.from_buffer(head))
        except magic.MagicException as exc:
            return "application/octet-stream", f"unrecognised ({exc})"
