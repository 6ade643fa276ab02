"""Alarm hysteresis of one unit: an incident opens on a score above threshold and is held.

Point-wise, a fault on a pump or a boiler is a contiguous segment, not a scatter of readings: a
score that dips under the threshold for a few seconds mid-fault is still the same fault, and an
operator wants one alarm that stays up, not a flicker. So an incident opens on the first score
above the threshold and is held until the unit has been *settled* for ``hold_seconds`` of its own
time (in time, not readings, so one setting serves 1-second and hourly data).
With ``persist`` it opens only once the score has stayed above the threshold that long: one
reading over the line, held for ``hold_seconds``, made many of the false alarms on SKAB's normal
runs (models/EVALUATION.md; off by default, it did not pay there).

Settled means back under the threshold, or — with ``drop`` set — fallen ``drop`` decades below
the incident's own level: a fault that ends rarely puts the plant back exactly where the
reference was fitted (a pump that was shaking hard goes quiet again, but warmer), so "far
below the fault, yet still above the old normal" is how the end of a fault looks. Such an end
asks the caller to re-fit the unit's baseline on what follows (``Step.rebaseline``); otherwise the
new state would alarm for as long as it lasts.

With ``accept`` an incident that has stayed above the threshold that long (the unit's own time)
ends the same way, re-fit and all, whatever its level: a step that lasts (a server that settles
at a new load, a plant at a new operating point) never falls a decade under itself, and an alarm
that has said "changed" for a day has said what it can; held longer it only hides the next
change (NAB's twelfth round, models/EVALUATION.md).

The incident's level starts at the opening log-score and follows it upwards only, as an EWMA with
a span of three holds, so one spike just after a fault's onset does not set a level that the
fault's steady part then "drops" from (the caller smooths scores, so an opening score is rarely
a spike itself).

Pure: :func:`step` returns the verdict and the next state; the caller decides when to keep it
(``score_one`` must not change state, ``learn_one`` does).

>>> state, alerts = Incident(), []
>>> for t, score in enumerate([0.5, 2.0, 0.5, 2.0, 0.5, 0.5, 0.5, 0.5]):
...     out = step(state, t, score, 1.0, hold=3.0)
...     state = out.state
...     alerts.append(int(out.alert))
>>> alerts
[0, 1, 1, 1, 1, 1, 1, 0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FLOOR = 1e-9
"""Scores are compared in log10; a zero score is this (a reading exactly at the mean)."""


@dataclass(frozen=True)
class Incident:
    """One unit's alarm state: open or not, its log-score level, since when it is settled."""

    active: bool = False
    level: float = 0.0
    updated: float = 0.0
    settled_since: float | None = None
    above_since: float | None = None
    opened: float | None = None
    """When it opened (for ``accept``); None in older snapshots, where ``updated`` stands in."""


@dataclass(frozen=True)
class Step:
    """A verdict: alert or not, the next state, and whether the baseline must be re-fitted."""

    alert: bool
    state: Incident
    rebaseline: bool = False


def step(
    state: Incident,
    now: float,
    score: float,
    threshold: float,
    *,
    hold: float,
    drop: float | None = None,
    persist: float = 0.0,
    ceiling: float | None = None,
    accept: float | None = None,
) -> Step:
    """The verdict on one score at time ``now`` (seconds) and the incident state after it.

    ``persist``: an incident opens only once the score has stayed above the threshold that
    long (seconds of the unit's own time); a shorter excursion is noise, not a fault.
    ``accept``: an incident above the threshold that long since it opened ends with a re-fit.
    """
    above = math.isfinite(threshold) and score > threshold
    log = math.log10(max(score, FLOOR))
    if not state.active:
        if not above:
            return Step(False, Incident())
        since = getattr(state, "above_since", None)  # older snapshots have none
        since = now if since is None else since
        if now - since < persist:
            return Step(False, Incident(above_since=since))
        return Step(True, Incident(True, log, now, opened=now))
    opened = getattr(state, "opened", None)  # older snapshots have none
    opened = state.updated if opened is None else opened
    if accept is not None and above and now - opened >= accept:
        return Step(False, Incident(), rebaseline=True)
    level = state.level
    if log > level:
        weight = 1.0 - math.exp(-2.0 * max(now - state.updated, 0.0) / max(3.0 * hold, 1e-9))
        level += weight * (log - level)
    over = log - math.log10(max(threshold, FLOOR))  # decades over the threshold
    dropped = drop is not None and log < level - drop and (ceiling is None or over <= ceiling)
    settled = not above or dropped
    since = (state.settled_since if state.settled_since is not None else now) if settled else None
    if since is not None and now - since >= hold:
        return Step(False, Incident(), rebaseline=above)
    return Step(True, Incident(True, level, now, since, opened=opened))
