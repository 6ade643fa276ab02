"""HotValues.coldest reads its order a slice at a time: what it yields, and what the caller is
left to make cold, must be what a walk over a copy of the whole order gave."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from streams import hot
from streams.hot import HotValues
from streams.packing import Cold

if TYPE_CHECKING:
    from collections.abc import Iterator

    from streams.hot import Where


def copied_walk(values: HotValues) -> Iterator[tuple[Where, Cold]]:
    """The walk as it was before the slices (a copy of every key at each checkpoint)."""
    for where, cold in list(values._order.items()):
        if values.weight <= values.budget:
            return
        if cold is not None:
            yield where, cold


def filled(n: int, budget: int) -> HotValues:
    """``n`` values of 10 bytes each; every third has no encoding yet."""
    values = HotValues(budget)
    for i in range(n):
        where = (i % 4, "warnings", f"k{i}")
        values.used(where)
        if i % 3:
            values.encoded(where, Cold(b"x" * 10, 10))
    return values


def evict(values: HotValues, walk: Iterator[tuple[Where, Cold]]) -> list[Where]:
    """What the store does: forgets what it makes cold, leaves every fifth (changed since)."""
    seen = []
    for where, _ in walk:
        seen.append(where)
        if int(where[2][1:]) % 5:
            values.forget(where)
    return seen


@pytest.mark.parametrize("n", [0, 7, hot._SLICE - 1, hot._SLICE, 3 * hot._SLICE + 5])
@pytest.mark.parametrize("budget", [0, 500, 10**9])
def test_coldest_yields_what_the_copied_walk_did(n: int, budget: int) -> None:
    ours, theirs = filled(n, budget), filled(n, budget)
    assert evict(ours, ours.coldest()) == evict(theirs, copied_walk(theirs))
    assert list(ours._order.items()) == list(theirs._order.items())
    assert ours.weight == theirs.weight


def test_coldest_stops_at_the_budget() -> None:
    values = filled(3 * hot._SLICE, 3000)  # 5,120 bytes with an encoding, 10 each
    evict(values, values.coldest())
    assert 2990 < values.weight <= 3000  # no value made cold once the rest fit
    assert list(values.coldest()) == []  # under budget now: nothing yielded
