"""Package exports that load their module on first use.

Why: the command line and the first prompt must not wait for pydicom and pynetdicom (~0.4 s), yet
``settings`` needs a few light names (AE title check, transfer-syntax tables) from packages whose
other modules import those libraries. A package lists its public names here; each module is
imported only when one of its names is asked for. Type checkers read the ``TYPE_CHECKING``
imports beside it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def exports(package: str, modules: Mapping[str, tuple[str, ...]]) -> tuple[Callable[[str], object],
                                                                          Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: module name → the public names it holds."""
    where = {name: module for module, names in modules.items() for name in names}

    def getattr_(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def dir_() -> list[str]:
        return sorted(where)

    return getattr_, dir_
