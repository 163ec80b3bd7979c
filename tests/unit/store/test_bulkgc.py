"""older_objects_frozen: collections skip the objects that existed before the block and
still free the block's own cyclic garbage; overlapping blocks share one freeze that the
last to end undoes; a freeze the process made itself is left alone."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from services.store.bulkgc import older_objects_frozen


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def _no_freeze() -> Iterator[None]:
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()


def test_older_objects_are_frozen_inside_and_released_after() -> None:
    before = _Node()
    with older_objects_frozen():
        assert gc.get_freeze_count() > 0
        old = weakref.ref(before)
        del before
        gc.collect()
        assert old() is not None  # frozen: no collection looks at it
        inside = _Node()
        new = weakref.ref(inside)
        del inside
        gc.collect()
        assert new() is None  # the block's own garbage is still freed
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert old() is None  # and the older garbage once the block ends


def test_overlapping_blocks_share_one_freeze_the_last_undoes() -> None:
    first, second = older_objects_frozen(), older_objects_frozen()
    first.__enter__()
    frozen = gc.get_freeze_count()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_freeze_count() == frozen > 0  # the second still holds it
    second.__exit__(None, None, None)
    assert gc.get_freeze_count() == 0


def test_blocks_on_several_threads_end_unfrozen() -> None:
    start = threading.Barrier(4)

    def run() -> None:
        start.wait()
        for _ in range(50):
            with older_objects_frozen():
                assert gc.get_freeze_count() > 0

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gc.get_freeze_count() == 0


def test_a_freeze_the_process_made_is_not_undone() -> None:
    gc.freeze()
    count = gc.get_freeze_count()
    with older_objects_frozen():
        pass
    assert gc.get_freeze_count() == count > 0


def test_an_error_inside_still_unfreezes() -> None:
    with pytest.raises(RuntimeError), older_objects_frozen():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
