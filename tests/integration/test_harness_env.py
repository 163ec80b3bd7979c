"""The autouse environment from tests/conftest.py: isolated data dir, offscreen Qt, no keyring."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import keyring.errors
import pytest

_seen_data_dirs: list[str] = []


@pytest.mark.parametrize("run", [1, 2])
def test_data_dir_is_a_fresh_temp_dir_per_test(run: int) -> None:
    data_dir = os.environ["COMMHUB_DATA_DIR"]
    path = Path(data_dir)
    assert path.is_dir() and not any(path.iterdir())
    assert not path.resolve().is_relative_to(Path.home().resolve() / ".local")
    assert data_dir not in _seen_data_dirs
    _seen_data_dirs.append(data_dir)


def test_qt_runs_offscreen() -> None:
    expected = os.environ.get("COMMHUB_TEST_QT_PLATFORM") or "offscreen"
    assert os.environ["QT_QPA_PLATFORM"] == expected


def test_keyring_fails_by_default() -> None:
    assert os.environ["PYTHON_KEYRING_BACKEND"] == "keyring.backends.fail.Keyring"
    with pytest.raises(keyring.errors.NoKeyringError):
        keyring.set_password("commhub-test", "alice", "secret")


@pytest.mark.real_keyring
def test_real_keyring_opt_in_drops_the_fail_backend() -> None:
    assert "PYTHON_KEYRING_BACKEND" not in os.environ
    import keyring.core

    assert keyring.core._keyring_backend is None  # re-resolved on first use in this test
