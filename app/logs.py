"""Logging for the app: a rotating file in the data dir and stderr, both redacted.

Every handler carries :class:`services.security.redact.RedactingFilter`, so passwords,
tokens and keys never reach a log file, the terminal or a crash report.  Unexpected errors
(bugs, as opposed to the user's environment, which the CLI reports in one line) are
written to the log with their traceback, redacted.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from types import TracebackType

from services.security.redact import RedactingFilter, redact

__all__ = ["log_path", "report_crash", "setup_logging"]

_TAG = "_commhub_handler"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_path(data_dir: Path) -> Path:
    return data_dir / "logs" / "commhub.log"


def setup_logging(data_dir: Path, *, stderr_level: int = logging.WARNING) -> Path:
    """(Re)install the app's handlers on the root logger; returns the log file's path."""
    path = log_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _TAG, False)]:
        root.removeHandler(handler)
        handler.close()
    to_file = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3,
                                                   encoding="utf-8")
    to_file.setLevel(logging.INFO)
    to_err = logging.StreamHandler(sys.stderr)
    to_err.setLevel(stderr_level)
    for handler in (to_file, to_err):
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(RedactingFilter())
        setattr(handler, _TAG, True)
        root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return path


def report_crash(exc: BaseException, data_dir: Path,
                 tb: TracebackType | None = None) -> str:
    """Log an unexpected error with its traceback (redacted); one line for the user."""
    logging.getLogger("commhub").critical(
        "unexpected error", exc_info=(type(exc), exc, tb or exc.__traceback__))
    return (f"commhub: unexpected error ({type(exc).__name__}: {redact(str(exc))[:200]}); "
            f"this is a bug, details are in {log_path(data_dir)}")
