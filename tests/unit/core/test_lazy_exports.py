"""Package exports load on first use: a parse worker importing the header-sync modules does
not import the IMAP service, the SQLite store or the manager; every exported name still
resolves, to the object its module defines."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

PACKAGES = ("services", "services.store", "services.email.imap")


def _modules_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    return set(json.loads(out))


def test_a_worker_s_imports_stay_small() -> None:
    loaded = _modules_after("from services.email.imap.protocol import warm_up; warm_up()")
    assert "services.email.imap.fetchparse" in loaded and "services.mime.fastheaders" in loaded
    heavy = {"services.manager", "services.store.store", "services.email.imap.service",
             "services.email.imap.client", "services.attachments.manager", "ssl"}
    assert not heavy & loaded


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves_to_its_definition(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        assert getattr(value, "__name__", name) == name  # the function or class, not a module
        assert name in dir(module)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        module.nope  # noqa: B018


def test_star_import_and_the_shadowing_submodule() -> None:
    """``services.store.prepare`` is a module and the package's ``prepare`` a function."""
    loaded = _modules_after(
        "import services.store.prepare\nfrom services.store import prepare\n"
        "assert callable(prepare) and prepare.__module__ == 'services.store.prepare'\n"
        "from services import *\nassert CommManager.__name__ == 'CommManager'")
    assert "services.manager" in loaded
