"""Qt test plumbing for tests/ui: Qt warnings fail tests; a qasync loop fixture.

Every test collected here gets pytest-qt's ``qt_log_level_fail("WARNING")`` (a
``qWarning`` or worse fails the test) unless it sets its own level; the offscreen
platform's "does not support propagateSizeHints()" notice is ignored (it is the
platform plugin saying it has no window manager, not our code).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).resolve().parent
OFFSCREEN_NOISE = r"This plugin does not support propagateSizeHints\(\)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            if item.get_closest_marker("qt_log_level_fail") is None:
                item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture
def qloop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop for sync tests: drive coroutines with ``qloop.run_until_complete``
    (Qt events are processed while it runs)."""
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture(autouse=True)
def _collect_widgets_here() -> Iterator[None]:
    """Widgets in reference cycles (slots capturing self) are collected on this thread after
    pytest-qt closed them, not later by a GC pass on a worker thread (a Qt warning)."""
    yield
    gc.collect()
