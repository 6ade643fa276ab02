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

Both ``__init__``\\ s bind the submodule by name and read nothing from it, so the submodule's
code can wait for the first read of a name it defines: the import returns the module with what
the import system sets (``__name__``, ``__file__``, ``__spec__``, ``__loader__``, ``__package__``,
``__cached__``), and reading anything else (a class, a function, ``__path__`` to import one of
its submodules, ``dir()``) runs it in full, with its own loader, before the read is answered.
Nothing else changes: the same module, found by the same finder, executed the moment anything
uses it (a test reads one of its classes), and every River and CEL object the worker uses is
the library's own.

Why not :class:`importlib.util.LazyLoader`, which does the same: its module runs at *any*
attribute read, ``__file__`` included, and :func:`inspect.getmodule` reads ``__file__`` of every
module in ``sys.modules``. Faust calls it for each agent it registers (``app.agent`` →
``venusian.attach`` → ``inspect.getframeinfo``), so with LazyLoader ``build_app`` ran both
modules again and the worker's RSS before its first event did not move.

What is left, and why: ``scipy.stats`` (~60 MiB) is imported by name at module level by
``river.proba``, ``river.tree`` and ``river.metrics`` (``from scipy.stats import f``), which
``river.anomaly``'s ``__init__`` imports — an attribute read, so it cannot be deferred this way.

Upstream River postpones heavy imports case by case (online-ml/river#966 moved pandas out of
``river.base``); in 0.26.1 ``river.drift``'s ``datasets`` is not one of them. Drop the entry
when it is.

:func:`install` is called by ``streams/__init__.py``, so it runs before any module of the worker
(and so before River or CEL) is imported; a submodule imported before that stays as it is.

>>> import json, sys
>>> finder = _Deferring(frozenset({"json.tool"}))
>>> sys.meta_path.insert(0, finder)
>>> sys.modules.pop("json.tool", None) and None
>>> import json.tool
>>> type(sys.modules["json.tool"]).__name__, json.tool.__name__
('_DeferredModule', 'json.tool')
>>> json.tool.main.__name__  # a name the module defines: it runs now
'main'
>>> type(sys.modules["json.tool"]).__name__
'module'
>>> sys.meta_path.remove(finder)
"""

from __future__ import annotations

import importlib.abc
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec

DEFERRED = frozenset({"river.drift.datasets", "cel.cli"})
"""Submodules a package ``__init__`` imports by name and the worker never reads (see above)."""

SET_BY_IMPORT = frozenset(
    {"__name__", "__file__", "__cached__", "__spec__", "__loader__", "__package__"}
)
"""What a deferred module answers without running: what the import system set on it, which
``inspect.getmodule`` and a repeated ``import`` read. Not ``__path__``: importing a submodule
of a deferred package runs the package first, as it always does."""


class _DeferredModule(types.ModuleType):
    """A module whose code has not run yet: the first read of a name it defines runs it."""

    def __getattribute__(self, name: str) -> Any:
        if name in SET_BY_IMPORT or name in ("__dict__", "__class__"):
            return super().__getattribute__(name)
        _run(self)
        return getattr(self, name)

    def __dir__(self) -> list[str]:
        _run(self)
        return dir(self)


def _run(module: types.ModuleType) -> None:
    """Run a deferred module's code with its own loader; it becomes a plain module."""
    object.__setattr__(module, "__class__", types.ModuleType)
    spec = module.__spec__
    if spec is None or not isinstance(spec.loader, _DeferredLoader):
        raise ImportError(f"{module.__name__} was not deferred", name=module.__name__)
    loader = spec.loader.loader
    spec.loader = module.__loader__ = loader
    loader.exec_module(module)


class _DeferredLoader(importlib.abc.Loader):
    """Creates the module as its own loader would and leaves its code for later."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        """The module the library's own loader would create (None: the default one)."""
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        """Mark the module deferred instead of running it."""
        module.__class__ = _DeferredModule


class _Deferring(importlib.abc.MetaPathFinder):
    """Finds the deferred submodules with the other finders, and defers their loader."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> ModuleSpec | None:
        """The spec the other finders give, its loader deferred; None for any other module."""
        if fullname not in self.names:
            return None
        for finder in sys.meta_path:
            if isinstance(finder, _Deferring):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and isinstance(spec.loader, importlib.abc.Loader):
                spec.loader = _DeferredLoader(spec.loader)
                return spec
        return None


def install(names: frozenset[str] = DEFERRED) -> None:
    """Defer ``names`` in this process (first in ``sys.meta_path``; installed once)."""
    if not any(isinstance(f, _Deferring) for f in sys.meta_path):
        sys.meta_path.insert(0, _Deferring(names))
