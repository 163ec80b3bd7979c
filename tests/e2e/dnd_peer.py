"""A stand-in file manager for the drag-and-drop end-to-end test: another X client.

``python -m tests.e2e.dnd_peer target DIR``: a window ("Drop target") that takes dropped
files as a file manager does (copies them into DIR) and prints ``dropped NAME``.
``python -m tests.e2e.dnd_peer source FILE``: a window ("Drag source") that starts a
drag of FILE (a file URL) when pressed, as a file manager does.
Both print ``peer ready`` once shown.  Real XDND between two processes: nothing faked.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ui.qt import Qt, QtCore, QtGui, QtWidgets


class Target(QtWidgets.QLabel):
    def __init__(self, folder: Path) -> None:
        super().__init__("Drop target")
        self.folder = folder
        self.setAcceptDrops(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QtGui.QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        for url in event.mimeData().urls():
            source = Path(url.toLocalFile())
            shutil.copyfile(source, self.folder / source.name)
            print(f"dropped {source.name}", flush=True)
        event.acceptProposedAction()


class Source(QtWidgets.QLabel):
    def __init__(self, file: Path) -> None:
        super().__init__(f"Drag source: {file.name}")
        self.file = file
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        drag = QtGui.QDrag(self)
        mime = QtCore.QMimeData()
        mime.setUrls([QtCore.QUrl.fromLocalFile(str(self.file))])
        drag.setMimeData(mime)
        result = drag.exec(Qt.DropAction.CopyAction)
        print(f"drag finished {result.name}", flush=True)


def main() -> int:
    app = QtWidgets.QApplication(sys.argv[:1])
    kind, path = sys.argv[1], Path(sys.argv[2])
    widget: QtWidgets.QWidget = Target(path) if kind == "target" else Source(path)
    widget.setWindowTitle("Drop target" if kind == "target" else "Drag source")
    widget.resize(300, 160)
    widget.move(int(sys.argv[3]), int(sys.argv[4]))
    widget.show()
    QtCore.QTimer.singleShot(300, lambda: print("peer ready", flush=True))
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
