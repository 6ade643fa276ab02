"""Memory a worker gives back to the system (glibc only; a no-op elsewhere).

A profile of the pipeline found ~300 MiB in use before the first event and most of the rest
of its peak RSS in glibc fragmentation: ``malloc_trim`` returned 130–370 MiB. Two knobs bound
it: at most ``RISKLOOP_MEMORY__MALLOC_ARENAS`` malloc arenas (glibc makes up to 8 per core, one
per thread that allocates — librdkafka's, aiokafka's and the thread pool's), and a
``malloc_trim(0)`` every ``RISKLOOP_MEMORY__TRIM_INTERVAL`` seconds that returns freed pages
(streams/runner.py). The state's own share is bounded in streams/hot.py.

The cyclic garbage collector is the third knob (:func:`settle_collector`): by the time the worker
has started, ~180,000 objects the collector tracks are alive and live as long as the process
(modules, classes, the rule packs' compiled programs, the models' templates), and every full
collection walks them all again; and with Python's default young-generation threshold (700 allocations) a young
collection runs every few events, each walking whatever the event in flight holds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache
from typing import Any

M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 2


@cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def bound_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (call before the worker starts its threads); True if set."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, arenas) == 1)


def trim() -> bool:
    """Return freed heap pages to the system; True if any were."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)


def settle_collector(young: int) -> None:
    """Move every object alive now out of the collector's sight (``gc.freeze``) and collect the
    young generation every ``young`` allocations (0: Python's default, 700).

    Why: call it once the worker has started. What is alive then lives as long as the process,
    so a collection that walks it can never free it; frozen, full collections walk only what
    events made since. A larger young threshold means fewer young collections, each finding more
    of an event's temporaries already freed by reference counting (they leave the young list when
    they die, uncollected). In process, on the bench's stream: the collector's share of the CPU
    went from ~5 % to under 1 % (bench/RESULTS.md, 2026-12-05). Garbage cycles made after
    the freeze are still collected, only later (tests/unit/streams/test_memory.py).

    >>> import gc
    >>> before = gc.get_threshold()
    >>> settle_collector(10_000); gc.get_threshold()[0], gc.get_freeze_count() > 0
    (10000, True)
    >>> gc.unfreeze(); gc.set_threshold(*before)
    """
    gc.freeze()
    if young:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(young, middle, old)
