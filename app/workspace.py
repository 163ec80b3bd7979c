"""What the window works on (no Qt): the real store with its CommManager, or the demo.

:meth:`Workspace.open` picks the real data directory's store when it has accounts (opened
through :class:`CommManager`, so an encrypted store gets its key from the keyring and the
security options of ``settings.json`` apply), else the embedded demo with its local SMTP
server, DLP on sending and an audit log for the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.demo import DEMO_ADDRESS, DemoWorkspace
from app.settings import Settings
from services.manager import CommManager
from services.security.audit import AuditLog
from services.store import Store

__all__ = ["Managers", "Workspace"]


class Managers:
    """The CommManager of the real data dir, made on first use and closed at exit; the
    accounts dialog works on it, so accounts added from the demo go to the real store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.manager: CommManager | None = None

    def get(self) -> CommManager:
        if self.manager is None:
            self.manager = CommManager(data_dir=self.settings.data_dir,
                                       **self.settings.security)
        return self.manager

    def close(self) -> None:
        if self.manager is not None:
            self.manager.close()
            self.manager = None


@dataclass
class Workspace:
    store: Store
    managers: Managers
    demo: DemoWorkspace | None = None
    audit_log: AuditLog | None = None  # what the Audit pane shows
    owns_log: bool = True  # False: the manager closes it
    note: str = ""
    _closed: bool = field(default=False, repr=False)

    @property
    def manager(self) -> CommManager | None:
        """The manager of real accounts (None in the demo)."""
        return None if self.demo is not None else self.managers.get()

    @classmethod
    def open(cls, settings: Settings) -> Workspace:
        """Raises ``CommError`` when the real store cannot be opened (keyring, key)."""
        managers = Managers(settings)
        if settings.db_path.exists():
            try:
                manager = managers.get()
                store = manager.store
                if store.accounts():
                    log = manager.audit_log if manager.auditing else None
                    return cls(store, managers, audit_log=log, owns_log=False)
            except BaseException:
                managers.close()
                raise
            managers.close()
        return cls._demo(settings, managers)

    @classmethod
    def _demo(cls, settings: Settings, managers: Managers) -> Workspace:
        from services.security.dlp import DlpPolicy
        from services.security.hooks import SecurityHooks
        from services.security.secrets import MemorySecrets
        from services.security.store_audit import StoreAuditor

        # a fresh audit log each run, keyed by a key held in memory only (the demo needs no
        # keyring; a key that outlived the run would have to be stored)
        path = settings.demo_db_path.with_name("audit.sqlite3")
        for stale in (path, path.with_name(path.name + "-wal"),
                      path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        log = AuditLog.open(path, MemorySecrets())
        log.record("sign-in", channel="email", object_id="demo", user=DEMO_ADDRESS,
                   details={"how": "demo workspace opened"})
        demo = DemoWorkspace.open(settings.demo_db_path,  # Maildir + local SMTP server
                                  subscribers=[StoreAuditor(log)])
        demo.hooks = SecurityHooks(audit=log, dlp=DlpPolicy())  # DLP + audit on sending
        return cls(demo.store, managers, demo=demo, audit_log=log, owns_log=True,
                   note="demo data (no account configured yet)")

    def send_context(self) -> dict[str, Any]:
        """Keyword arguments for the compose factory (the demo sends through its server)."""
        return {"send": self.demo.send_context()} if self.demo is not None else {}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.demo is not None:
            self.store.close()
            if self.audit_log is not None:
                self.audit_log.close()
        self.managers.close()  # the real store and its audit log belong to the manager
