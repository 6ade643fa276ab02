"""Natural logarithms of many floats at once, each bit for bit what ``math.log`` returns.

Why not ``numpy.log``: on processors with AVX-512 numpy computes float64 logarithms with its own
SIMD code, which may differ from the C library's ``log`` (what ``math.log`` calls) in the last
bit; a classifier whose scores were ``math.log`` sums would then predict differently on a tie.
Counts are whole numbers in practice (the complaint classifier's weights are), so the logarithms
of whole numbers are kept in a table computed once with ``math.log``; any other value is
computed with ``math.log`` itself, one at a time.

>>> import math
>>> logs([1.0, 2.0, 2.5]).tolist() == [0.0, math.log(2.0), math.log(2.5)]
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

TABLE_LIMIT = 1 << 20
"""Whole numbers up to this are looked up (8 MiB of table at most); larger ones are computed."""

_table: npt.NDArray[np.float64] = np.array([-math.inf, 0.0])
"""``_table[k]`` is ``math.log(k)`` (``-inf`` at 0, as ``math.log`` has no answer there: never
read, since a count is positive); grown by doubling, up to ``TABLE_LIMIT``."""


def _grow(largest: int) -> npt.NDArray[np.float64]:
    """The table, first grown (doubling) to hold ``largest``."""
    global _table  # one table per process: whole numbers' logarithms never change
    size = len(_table)
    if largest < size:
        return _table
    new_size = min(max(size * 2, 1 << (largest.bit_length())), TABLE_LIMIT)
    more = np.fromiter(map(math.log, map(float, range(size, new_size))), np.float64)
    _table = np.concatenate([_table, more])
    return _table


def logs(values: Any) -> npt.NDArray[np.float64]:
    """``math.log`` of every value (any shape), as float64.

    Raises ``ValueError`` where ``math.log`` would (a value ≤ 0), so a bad count fails as it did
    when each logarithm was computed on its own.
    """
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # NaN, inf or huge: not whole, computed below
        whole = values.astype(np.intp)
    if values.size and (whole == values).all() and whole.min() >= 1:
        try:
            found: npt.NDArray[np.float64] = _table[whole]
            return found
        except IndexError:  # a number past the table: grow it (doubling), if not too large
            largest = int(whole.max())
            if largest < TABLE_LIMIT:
                grown: npt.NDArray[np.float64] = _grow(largest)[whole]
                return grown
    flat = np.fromiter(map(math.log, values.ravel().tolist()), np.float64, values.size)
    return flat.reshape(values.shape)
