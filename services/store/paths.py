"""Where the store lives on disk.

``default_data_dir()`` is the platform's per-user data directory for "commhub"
(``~/.local/share/commhub`` on Linux), overridden by the ``COMMHUB_DATA_DIR``
environment variable; the database file inside it is ``commhub.sqlite3``.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["DB_FILENAME", "ENV_DATA_DIR", "default_data_dir", "default_db_path"]

ENV_DATA_DIR = "COMMHUB_DATA_DIR"
DB_FILENAME = "commhub.sqlite3"


def default_data_dir() -> Path:
    """The directory holding Commhub's data (not created here)."""
    override = os.environ.get(ENV_DATA_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("commhub"))


def default_db_path() -> Path:
    """The database file inside :func:`default_data_dir`."""
    return default_data_dir() / DB_FILENAME
