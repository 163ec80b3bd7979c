"""Start the desktop app: QApplication + qasync loop + the main window.

With no account configured, the window opens on the embedded demo store so a
newcomer sees Commhub working straight away.  Prints ``commhub: window ready``
once the first page of the inbox is on screen (end-to-end tests wait for it);
with ``COMMHUB_TRACE=1`` it also prints a line per finished search.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.settings import Settings
from services.errors import CommError

_log = logging.getLogger(__name__)


def config_dir() -> Path:
    """Where window state lives: ``COMMHUB_CONFIG_DIR`` or the platform's config dir."""
    env = os.environ.get("COMMHUB_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("commhub", appauthor=False))


class _Panes:
    """The Contacts and Audit panes (built by their own modules) and what they hold open."""

    def __init__(self, store: Any, data_dir: Path, audit_log: Any = None) -> None:
        self.widgets: list[tuple[str, Any]] = []
        self.loaders: list[Callable[[], Any]] = []
        self.closers: list[Callable[[], Any]] = []
        try:
            from ui.viewmodels.contacts import ContactsViewModel
            from ui.views.contacts_pane import ContactsPane

            contacts = ContactsViewModel(store)
            self.widgets.append(("Contacts", ContactsPane(contacts)))
            self.closers.append(contacts.close)
        except ImportError as exc:
            _log.info("contacts pane not available: %s", exc)
        try:
            from services.errors import CommError
            from services.security.audit import AuditLog
            from services.security.secrets import KeyringSecrets
            from ui.viewmodels.audit import AuditViewModel
            from ui.views.audit_pane import AuditPane
        except ImportError as exc:
            _log.info("audit pane not available: %s", exc)
            return
        log = audit_log
        if log is None:
            try:
                log = AuditLog.open(data_dir / "audit.sqlite3", KeyringSecrets())
            except CommError as exc:
                _log.warning("audit log not available: %s", exc)
                return
        audit = AuditViewModel(log)
        pane = AuditPane(audit)
        self.widgets.append(("Audit", pane))
        self.loaders.append(audit.load)
        self.closers.append(pane.close_tasks)
        if audit_log is None:  # opened here: closed here (a given one: by its owner)
            self.closers.append(log.close)


def _trace_compose(window: Any) -> None:
    """COMMHUB_TRACE: a line each time the compose window's state or attachments change
    (tests wait for them)."""
    last: list[object] = [None]

    def changed() -> None:
        vm = window.vm
        now = (vm.state, len(vm.attachments))
        if now != last[0]:
            last[0] = now
            print(f"commhub: compose {vm.state} attachments={len(vm.attachments)} "
                  f"{vm.status!r}", flush=True)

    window.vm.on_changed(changed)
    changed()


def _sync_view_model(manager: Any) -> Any:
    """Keeps the configured server accounts in sync (status bar shows progress/errors)."""
    from ui.viewmodels.sync import SyncViewModel

    return SyncViewModel(
        lambda: [a.name for a in manager.server_accounts()],
        lambda name, progress: manager.account(name).sync(progress),
    )


def _retention_configured(settings: Settings) -> bool:
    return bool(settings.security.get("compliance_mode")
                or settings.security.get("data_retention_days"))


async def _purge(manager: Any, window: Any) -> None:
    """The retention job once at start (legal holds respected); the result in the bar."""
    try:
        report = await asyncio.to_thread(manager.purge)
    except CommError as exc:
        window.statusBar().showMessage(f"⚠ retention: {exc}", 15000)
        return
    if report.total:
        window.statusBar().showMessage(
            f"Retention: {report.total:,} message(s) past their period removed", 15000)


def _mark_read(manager: Any) -> Callable[[int], None]:
    from services.models import Flag

    def mark(message_id: int) -> None:
        manager.set_flags(message_id, add=[Flag.SEEN])

    return mark


def _show_sync(window: Any, sync: Any) -> None:
    def changed() -> None:
        s = sync.state
        window.set_activity(sync.activity, s.done, s.total)
        if sync.error_text:
            window.statusBar().showMessage(f"⚠ sync: {sync.error_text}", 15000)

    sync.on_changed(changed)


def _compose_factory(store: Any, send: Any = None,
                     trace: bool = False) -> Callable[[str, Any], Any] | None:
    """Opens the compose window (``ui/views/compose_window.py``) for ``(mode, message)``,
    sending through ``send`` (a SendContext; None: the first account); the windows are
    kept referenced until closed."""
    try:
        from ui.views.compose_window import open_compose
    except ImportError as exc:
        _log.info("compose window not available: %s", exc)
        return None
    open_windows: set[Any] = set()

    def factory(mode: str, message: Any) -> Any:
        window = open_compose(store, mode, message, send=send)
        if trace:
            _trace_compose(window)
        open_windows.add(window)
        window.destroyed.connect(lambda *_: open_windows.discard(window))
        return window

    return factory


def run_gui(settings: Settings) -> int:
    import qasync

    from app.workspace import Workspace
    from services.attachments import AttachmentManager
    from ui.qt import QtCore, QtGui, QtWidgets  # Qt is imported only when the GUI starts
    from ui.viewmodels.inbox import InboxViewModel
    from ui.viewmodels.reader import ReaderViewModel, SenderPrefs
    from ui.viewmodels.sidebar import SavedSearches, SidebarViewModel
    from ui.views.accounts_dialog import open_accounts
    from ui.views.main_window import MainWindow
    from ui.widgets.icons import icon as icon_for
    from ui.widgets.theme import apply_theme, follow_system

    def crash(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        # an exception escaping a slot or a callback: logged (redacted), the app goes on
        from app.logs import report_crash

        sys.stderr.write(report_crash(exc, settings.data_dir, tb) + "\n")

    sys.excepthook = crash
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    assert isinstance(app, QtWidgets.QApplication)
    app.setApplicationName("Commhub")
    icon_path = Path(__file__).resolve().parents[1] / "resources" / "icons"
    icon = QtGui.QIcon(str(icon_path / "org.commhub.Commhub.svg"))
    app.setWindowIcon(icon)
    apply_theme(app)
    follow_system(app)
    trace = os.environ.get("COMMHUB_TRACE") == "1"

    try:
        space = Workspace.open(settings)
    except CommError as exc:  # the user's environment (keyring, key): one line, exit 2
        sys.stderr.write(f"commhub: cannot open {settings.db_path}: {exc}\n")
        return 2
    store, demo, manager = space.store, space.demo, space.manager

    conf = config_dir()
    conf.mkdir(parents=True, exist_ok=True)
    qsettings = QtCore.QSettings(str(conf / "window.ini"), QtCore.QSettings.Format.IniFormat)
    scratch = Path(tempfile.mkdtemp(prefix="commhub-attachments-"))
    attachments = AttachmentManager()  # thumbnails; PDFs render in its worker process
    # with real accounts, deleting and reading reach the server through the manager
    inbox = InboxViewModel(store, deleter=manager.delete_messages if manager else None)
    extra = _Panes(store, settings.data_dir, space.audit_log)
    sync = None if manager is None else _sync_view_model(manager)
    reader = ReaderViewModel(store, SenderPrefs(conf / "senders.json"), scratch_dir=scratch,
                             mark_read=_mark_read(manager) if manager else None)
    sidebar = SidebarViewModel(store, SavedSearches(conf / "saved-searches.json"))
    window = MainWindow(
        inbox,
        reader=reader,
        sidebar=sidebar,
        settings=qsettings,
        panes=[(name, icon_for(name.lower()), widget) for name, widget in extra.widgets],
        compose_factory=_compose_factory(store, **space.send_context(), trace=trace),
        accounts_factory=lambda parent: open_accounts(space.managers.get(), parent),
        thumbnailer=attachments,
        title_note=space.note,
    )
    window.setWindowIcon(icon)
    for _name, widget in extra.widgets:  # a contact's timeline opens messages in Mail
        opener = getattr(widget, "open_message", None)
        if opener is not None:
            opener.connect(window.show_message)
    if trace:
        inbox.on_reset(lambda: print(
            f"commhub: results {inbox.count} for {inbox.query_text!r}", flush=True))
        reader.on_changed(lambda: print(
            f"commhub: reading {reader.current_id} with {len(reader.attachments)} "
            f"attachment(s) in {len(reader.messages)} message(s)", flush=True))
    window.show()

    background_jobs: list[asyncio.Future[Any]] = []

    async def amain() -> None:
        closed = asyncio.Event()
        app.setQuitOnLastWindowClosed(False)  # closing ends amain, which cleans up first
        window.closing.connect(closed.set)
        app.aboutToQuit.connect(closed.set)
        inbox.start()
        if demo is not None:
            demo.start_background()  # "send later" rows of the demo outbox
        await asyncio.gather(sidebar.refresh(), inbox.search("", immediate=True))
        if inbox.count:
            window.table.selectRow(0)
        if sync is not None:
            _show_sync(window, sync)
            sync.start()
        if manager is not None and _retention_configured(settings):
            background_jobs.append(asyncio.ensure_future(_purge(manager, window)))
        background = [asyncio.ensure_future(load()) for load in extra.loaders]
        background += background_jobs
        await asyncio.sleep(0)
        print("commhub: window ready", flush=True)
        await closed.wait()
        if sync is not None:
            await sync.close()
        await window.close_tasks()
        await reader.close()
        await inbox.close()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for close in extra.closers:
            result = close()
            if asyncio.iscoroutine(result):
                await result
        if demo is not None:
            demo.stop_now()

    try:
        qasync.run(amain())
    finally:
        attachments.close()
        space.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def main() -> int:
    return run_gui(Settings.load())
