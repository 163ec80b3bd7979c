"""Settings of the running app: where data lives.  Read once, passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.store.paths import default_data_dir


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / "commhub.sqlite3"

    @property
    def demo_db_path(self) -> Path:
        return self.data_dir / "demo" / "commhub-demo.sqlite3"

    @classmethod
    def load(cls, data_dir: str | os.PathLike[str] | None = None) -> Settings:
        """``data_dir`` argument > ``COMMHUB_DATA_DIR`` > the platform's user data dir."""
        path = Path(data_dir) if data_dir is not None else default_data_dir()
        return cls(data_dir=path.expanduser())
