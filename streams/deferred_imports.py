"""Modules of our libraries that a worker never uses, loaded only when something reads them.

Why (issue #16, memory): a package's ``__init__`` runs whenever any of its submodules is
imported, and River's and CEL's load things the worker never calls. Each entry of
:data:`DEFERRED`, who imports it in a worker (River 0.26.1, SciPy as locked), and what it saves:

* ``river.drift.datasets``: ``river.drift``'s ``__init__`` does ``from . import binary,
  datasets``; it reaches ``river.datasets`` → ``river.stream``, which imports SQLAlchemy
  (``iter_sql``) and, where it is installed, scikit-learn (``iter_sklearn``): ~19 MiB of RSS and
  ~340 modules (~25 MiB with scikit-learn, a dev dependency). Importing ``river.drift.adwin``
  alone does not sidestep it (the package ``__init__`` runs first).
* ``cel.cli``: ``cel``'s ``__init__`` does ``from . import cli, stdlib``; it is the ``cel`` REPL
  and imports prompt_toolkit and Pygments (~6 MiB).
* ``scipy.stats``: ``river.drift.kswin`` and ``river.metrics.geometric_mean`` do ``from scipy
  import stats`` and call it only in methods (``river.stats.chi_squared`` imports it inside
  one). Its other two importers read names from it at import time, which would run it, and are
  deferred themselves (the next two entries).
* ``river.proba``: ``river.linear_model.bayesian_lin_reg`` (the inspection and complaint
  models' package) and ``river.anomaly.gaussian`` do ``from river import proba`` and read
  ``proba.Gaussian`` only in methods. Run, its ``gaussian`` does ``from scipy.stats import
  multivariate_normal``.
* ``river.tree``: ``river.preprocessing`` → ``gap_encoder`` → ``river.feature_extraction`` →
  ``kernel_approx``, and ``river.anomaly.hst`` (``HalfSpaceTrees``), import the submodule
  ``river.tree.padded`` (→ ``river.tree.base``), not the package's names. Its ``__init__`` imports
  every tree model: the splitters do ``from river.proba import Gaussian`` and
  ``stochastic_gradient_tree`` does ``from scipy.stats import f``. These three: ~19 MiB, ~160
  modules.
* ``scipy.integrate`` and ``scipy.ndimage``: ``river.metrics.roc_auc`` (``river.anomaly`` → ``pad``
  → ``river.time_series`` → ``river.metrics``) and ``river.preprocessing.lda`` bind them by name
  and call them only in methods (``integrate.trapezoid``, ``ndimage.shift``); ``scipy.integrate``
  brings ``scipy.optimize``, ``scipy.linalg`` and ``scipy.spatial``: ~25 MiB, ~275 modules.

How: each is bound by name and nothing reads a name it defines, so its code can wait for that
first read. The import returns the module with what the import system sets (``__name__``,
``__file__``, ``__spec__``, ``__loader__``, ``__package__``, ``__cached__``, and a package's
``__path__``), and reading anything else (a class, a function, ``dir()``) runs it in full, with
its own loader, before the read is answered. A deferred package answers ``__path__``, so a
submodule of it (``river.tree.padded``) imports as usual without the package's ``__init__``,
which runs at the first read of one of its names (``from river.tree import
HoeffdingTreeClassifier``) and then finds the submodules already imported, as it would have.
Nothing else changes: the same modules, found by the same finders, executed the moment anything
uses them (a test, an evaluation, ``from scipy.stats import norm``), and every River, SciPy and
CEL object the worker uses is the library's own.

Why not :class:`importlib.util.LazyLoader`, which does the same: its module runs at *any*
attribute read, ``__file__`` included, and :func:`inspect.getmodule` reads ``__file__`` of every
module in ``sys.modules``. Faust calls it for each agent it registers (``app.agent`` →
``venusian.attach`` → ``inspect.getframeinfo``), so with LazyLoader ``build_app`` ran the
deferred modules again and the worker's RSS before its first event did not move.

When a library changes: an entry that no longer exists fails
``test_each_deferred_name_is_still_found_and_deferred``; one that an importer now reads at import
time runs again, and the worker-start test (tests/unit/streams/test_deferred_imports.py) names
it. Upstream River postpones heavy imports case by case (online-ml/river#966 moved pandas out of
``river.base``); in 0.26.1 none of these is one of them. Drop an entry when its importers
postpone it themselves (or the worker stops importing them).

:func:`install` is called by ``streams/__init__.py``, so it runs before any module of the worker
(and so before River, SciPy or CEL) is imported; a module imported before that stays as it is.

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
import threading
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec

DEFERRED = frozenset(
    {
        "river.drift.datasets",
        "cel.cli",
        "scipy.stats",
        "river.proba",
        "river.tree",
        "scipy.integrate",
        "scipy.ndimage",
    }
)
"""Modules the worker imports by name and never reads (see above for who imports each)."""

SET_BY_IMPORT = frozenset(
    {"__name__", "__file__", "__cached__", "__spec__", "__loader__", "__package__", "__path__"}
)
"""What a deferred module answers without running: what the import system set on it, which
``inspect.getmodule``, a repeated ``import`` and the import of a submodule read (a package's
``__path__``; a module that is not one still has none)."""


class _DeferredModule(types.ModuleType):
    """A module whose code has not run yet: the first read of a name it defines runs it."""

    def __getattribute__(self, name: str) -> Any:
        if name in SET_BY_IMPORT or name in ("__dict__", "__class__"):
            return super().__getattribute__(name)
        if _run(self):
            return getattr(self, name)
        return super().__getattribute__(name)  # its own code's read while it runs

    def __dir__(self) -> list[str]:
        _run(self)
        return list(types.ModuleType.__dir__(self))


_LOCKS: dict[str, threading.RLock] = {}
"""One lock per deferred module (by name), taken to run it: see :func:`_run`."""

_RUNNING: set[str] = set()
"""Deferred modules whose code is running now (under their lock)."""


def _run(module: types.ModuleType) -> bool:
    """Run a deferred module's code once, with its own loader; then it is a plain module.

    True once its code has run (here, or in another thread while this one waited); False when
    the read comes from the module's own code while it runs (the same thread, under the lock),
    which then reads what is already set, as during any import.

    Why a lock, and the class changed only after the code ran: two threads reading a deferred
    module at once must both get the module run in full. Were the class changed first, a
    second thread would read a plain module that is still running and miss its names
    (``AttributeError``); CPython's ``LazyLoader`` had the same race and took the same cure
    (python/cpython#114763). The class changes even when the code raises, so a failed module
    is not run twice, as with a failed import.
    """
    name = object.__getattribute__(module, "__name__")
    with _LOCKS.setdefault(name, threading.RLock()):
        if type(module) is not _DeferredModule:
            return True
        if name in _RUNNING:
            return False
        spec = module.__spec__
        if spec is None or not isinstance(spec.loader, _DeferredLoader):
            raise ImportError(f"{name} was not deferred", name=name)
        loader = spec.loader.loader
        spec.loader = module.__loader__ = loader
        _RUNNING.add(name)
        try:
            loader.exec_module(module)
        finally:
            _RUNNING.discard(name)
            object.__setattr__(module, "__class__", types.ModuleType)
    return True


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
