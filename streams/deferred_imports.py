"""Submodules of our libraries that a worker never uses, loaded only when something touches them.

Why (issue #16, memory): a package's ``__init__`` runs whenever any of its submodules is
imported, and two of ours load things the worker never calls:

* ``river.drift``'s ``__init__`` does ``from . import binary, datasets``. ``river.drift.datasets``
  reaches ``river.datasets`` → ``river.stream``, which imports SQLAlchemy (``iter_sql``) and,
  where it is installed, scikit-learn (``iter_sklearn``): ~19 MiB of RSS and ~340 modules in a
  worker (~25 MiB with scikit-learn, a dev dependency). It cannot be sidestepped by importing
  ``river.drift.adwin`` alone (the package ``__init__`` runs first), nor by taking ADWIN from
  River's compiled ``river._river_rust.drift``: ``river.anomaly`` (``HalfSpaceTrees``, the
  equipment and truck models) imports ``river.tree``, which imports ``river.drift`` anyway.
* ``cel``'s ``__init__`` does ``from . import cli, stdlib``; ``cel.cli`` is the ``cel`` REPL and
  imports prompt_toolkit and Pygments (~6 MiB).

Both ``__init__``\\ s bind the submodule by name and read nothing from it, so the submodule can be
handed over by the standard library's :class:`importlib.util.LazyLoader`: the import returns a
module whose code runs at the first attribute read. Nothing else changes: the same module, found
by the same finder, executed in full the moment anything uses it (a test reads one of its
classes), and every River and CEL object the worker uses is the library's own.

What is left, and why: ``scipy.stats`` (~60 MiB) is imported by name at module level by
``river.proba``, ``river.tree`` and ``river.metrics`` (``from scipy.stats import f``), which
``river.anomaly``'s ``__init__`` imports — an attribute read, so it cannot be deferred this way.

:func:`install` is called by ``streams/__init__.py``, so it runs before any module of the worker
(and so before River or CEL) is imported; a submodule imported before that stays as it is.

>>> import importlib.util, json
>>> spec = _Deferring(frozenset({"json.tool"})).find_spec("json.tool", json.__path__)
>>> isinstance(spec.loader, importlib.util.LazyLoader)
True
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

DEFERRED = frozenset({"river.drift.datasets", "cel.cli"})
"""Submodules a package ``__init__`` imports by name and the worker never reads (see above)."""


class _Deferring(importlib.abc.MetaPathFinder):
    """Finds the deferred submodules with the other finders, and wraps their loader lazily."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        """The spec the other finders give, its loader made lazy; None for any other module."""
        if fullname not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, _Deferring):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def install(names: frozenset[str] = DEFERRED) -> None:
    """Defer ``names`` in this process (first in ``sys.meta_path``; installed once)."""
    if not any(isinstance(f, _Deferring) for f in sys.meta_path):
        sys.meta_path.insert(0, _Deferring(names))
