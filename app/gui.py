"""Start the desktop app: QApplication + qasync loop + the main window.

With no account configured, the window opens on the embedded demo store so a
newcomer sees Commhub working straight away.
"""

from __future__ import annotations

import asyncio
import sys

from app.settings import Settings


def run_gui(settings: Settings) -> int:
    import qasync

    from app.demo import open_demo_store
    from services.store import Store
    from ui.qt import QtWidgets  # Qt is imported only when the GUI starts
    from ui.viewmodels.inbox import InboxViewModel
    from ui.views.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("Commhub")
    note = ""
    store: Store | None = None
    if settings.db_path.exists():
        store = Store.open(settings.db_path)
        if not store.accounts():
            store.close()
            store = None
    if store is None:
        store = open_demo_store(settings.demo_db_path)
        note = "demo data (no account configured yet)"
    vm = InboxViewModel(store)
    window = MainWindow(vm, title_note=note)
    window.show()

    async def amain() -> None:
        closed = asyncio.Event()
        app.aboutToQuit.connect(closed.set)
        await vm.search("")
        if vm.rows:
            window.table.selectRow(0)
        print("commhub: window ready", flush=True)
        await closed.wait()
        await vm.close()

    try:
        qasync.run(amain())
    finally:
        store.close()
    return 0


def main() -> int:
    return run_gui(Settings.load())
