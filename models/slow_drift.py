"""Per-channel offsets that follow a slow drift and stay put on a step.

A pump loop warms its water for hours: the thermocouple climbs a few tenths of a degree, steadily,
and against a baseline fitted on the first minutes that climb reaches 5–10 standard deviations
and raises an alarm that lasts to the end of the run (SKAB's normal recording, models/EVALUATION.md,
fifth round). A fault moves a channel differently: a valve closes, a pump shakes, and the
channel *jumps* several standard deviations within seconds and stays there.

So each channel gets an offset, subtracted before the detector sees the reading. After every
reading the offset moves towards the channel's deviation from the baseline's mean by
``1 − exp(−2Δt / seconds)`` (an EWMA in time, as the smoothing), but only while that deviation
is within ``band`` standard deviations: a drift slow enough to stay inside the band as the offset
follows is absorbed, a jump out of the band leaves the offset where it was, so the fault stays
in the score. The offsets move whether or not the reading was flagged: a drift that crossed the
threshold is absorbed too (the baseline itself learns no flagged reading).

Pure: plain floats in a dict, so it pickles with the unit.

>>> offsets: dict[str, float] = {}
>>> mean, std = {"t": 0.0}, {"t": 1.0}
>>> for second in range(600):  # a drift of 0.01 σ a second, for ten minutes
...     deviation = {"t": 0.01 * second - offsets.get("t", 0.0)}
...     offsets = follow(offsets, deviation, std, weight=weight(1.0, 60.0), band=4.0)
>>> round(0.01 * 599 - offsets["t"], 1)  # what the detector still sees of 6 σ
0.3
>>> follow(offsets, {"t": 9.0}, std, weight=0.5, band=4.0) == offsets  # a jump: not followed
True
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


def weight(elapsed: float, seconds: float) -> float:
    """How far an offset moves after ``elapsed`` seconds (none for a first or earlier reading)."""
    return 1.0 - math.exp(-2.0 * max(elapsed, 0.0) / seconds)


def follow(
    offsets: Mapping[str, float],
    deviations: Mapping[str, float],
    std: Mapping[str, float],
    *,
    weight: float,
    band: float,
) -> dict[str, float]:
    """The offsets after one reading: each channel's ``deviations`` (reading minus offset minus
    the baseline's mean) is followed by ``weight`` where it is within ``band`` × ``std``."""
    out = dict(offsets)
    for name, d in deviations.items():
        if abs(d) < band * std[name]:
            out[name] = out.get(name, 0.0) + weight * d
    return out
