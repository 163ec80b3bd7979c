"""services/ is headless: no Qt, ui or app imports, even transitively."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_importing_services_does_not_import_qt_ui_or_app() -> None:
    code = (
        "import sys, services, services.manager, services.store, services.importer, "
        "services.query, services.mime.parse, services.email.local\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'PySide6', 'shiboken6', 'qasync', 'ui', 'app'})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_no_module_in_services_imports_qt_ui_or_app() -> None:
    offenders = []
    for path in (ROOT / "services").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in {"PySide6", "qasync", "ui", "app"}:
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_ui_never_imports_app() -> None:
    offenders = []
    for path in (ROOT / "ui").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[0] == "app"
            ):
                offenders.append(str(path))
            if isinstance(node, ast.Import) and any(
                a.name.split(".")[0] == "app" for a in node.names
            ):
                offenders.append(str(path))
    assert offenders == []


def test_only_ui_qt_imports_the_qt_binding() -> None:
    offenders = []
    for top in ("ui", "app"):
        for path in (ROOT / top).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "PySide6" in text and path != ROOT / "ui" / "qt.py":
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
