"""Package exports imported on first use (PEP 562).

A package ``__init__`` that re-exports its submodules' names imports all of them the first
time anything under it is imported: a parse worker process that needs one module of the
IMAP package would load the IMAP service, ``ssl`` and the whole store.  With
:func:`attach` the names resolve when first read; ``if TYPE_CHECKING`` imports in the
package keep them visible to type checkers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps each name to the module
    that defines it."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later reads are plain global lookups
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
