"""Memory a worker gives back to the system (glibc only; a no-op elsewhere).

A profile of the pipeline found ~300 MiB in use before the first event and most of the rest
of its peak RSS in glibc fragmentation: ``malloc_trim`` returned 130–370 MiB. Two knobs bound
it: at most ``RISKLOOP_MEMORY__MALLOC_ARENAS`` malloc arenas (glibc makes up to 8 per core, one
per thread that allocates — librdkafka's, aiokafka's and the thread pool's), and a
``malloc_trim(0)`` every ``RISKLOOP_MEMORY__TRIM_INTERVAL`` seconds that returns freed pages
(streams/runner.py). The state's own share is bounded in streams/hot.py.
"""

from __future__ import annotations

import ctypes
import ctypes.util
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
