"""The peaks-over-threshold bar (models/spot.py): it spends the alarm budget it is given, and in
the equipment model it replaces the quantile threshold only when ``spot_risk`` is set."""

from __future__ import annotations

import math
import pickle
import random
from datetime import timedelta
from typing import Any

import pytest

from models.equipment import EquipmentAnomaly
from models.spot import MIN_PEAKS, Spot
from tests.unit.models.test_profile import DAY, SETTINGS, _alerts
from tests.unit.models.test_profile import _room as room


def _fitted(draw: Any, *, risk: float, n: int = 3000, level: float = 0.98) -> Spot:
    spot = Spot(risk=risk, level=level)
    for _ in range(n):
        spot.calibrate(draw())
    spot.fit()
    return spot


@pytest.mark.parametrize("risk", [1e-3, 1e-4])
def test_normal_scores_exceed_the_bar_at_about_the_risk(risk: float) -> None:
    """Squared normal deviates (a chi-square tail, like a Mahalanobis score): the share of a
    long normal stream over the bar is the budget, within a factor of 2.5, when an alarm is
    learnt at the bar; left out (the paper's SPOT), the bar sinks under its alarms."""
    spent = {}
    for censored in (True, False):
        rng = random.Random(5)
        spot = _fitted(lambda rng=rng: rng.gauss(0, 1) ** 2, risk=risk)
        over, n = 0, 400_000
        for _ in range(n):
            score, bar = rng.gauss(0, 1) ** 2, spot.threshold()
            if score > bar:
                over += 1
                if censored:
                    spot.learn(bar)
            else:
                spot.learn(score)
        spent[censored] = over / n
    assert risk / 2 < spent[True] < risk * 2.5
    assert spent[False] > spent[True]


def test_a_smaller_risk_sets_a_higher_bar() -> None:
    bars = [_fitted(random.Random(2).random, risk=r).threshold() for r in (1e-2, 1e-3, 1e-4)]
    assert bars[0] < bars[1] < bars[2]


def test_no_bar_before_calibration_and_the_highest_score_with_few_peaks() -> None:
    spot = Spot(risk=1e-4)
    assert math.isinf(spot.threshold())
    spot.learn(3.0)  # not fitted yet: calibrates
    assert not spot.fitted
    assert math.isinf(spot.threshold())
    few = _fitted(random.Random(1).random, risk=1e-4, n=MIN_PEAKS * 10)  # ~2 peaks at 0.98
    assert few.threshold() == max(few.t, few.top) < 1.0


def test_the_peaks_kept_are_bounded_and_their_sums_agree() -> None:
    rng = random.Random(9)
    spot = Spot(risk=1e-3, level=0.5, max_peaks=100)
    for _ in range(500):
        spot.calibrate(rng.random())
    spot.fit()
    for _ in range(5000):
        spot.learn(rng.random())
    assert len(spot.peaks) == 100 < spot.n_peaks
    assert spot.sum == pytest.approx(sum(spot.peaks))
    assert spot.sum_sq == pytest.approx(sum(p * p for p in spot.peaks))
    again = pickle.loads(pickle.dumps(spot))
    assert again.threshold() == spot.threshold()


def _room(days: int, step_minutes: int, fail_day: float | None, seed: int = 4) -> list[Any]:
    """A room's temperature: a daily cycle, a slow seasonal drift, noise; a +6 failure for a day."""
    return room(days, step_minutes, fail_day, drift=0.15, seed=seed, jump=6.0)


NAB_LIKE = {"profile_seconds": 7 * DAY, "level_seconds": DAY, "spot_risk": 1e-4}


def test_the_bar_and_the_recent_level_keep_a_drifting_room_quiet_and_find_a_failure() -> None:
    """One setting in seconds, hourly and every 5 minutes: under a daily cycle and a slow drift
    (0.15 degrees a day, 9 in 60 days) hardly any false alarm, and the failure found within
    hours."""
    for step_minutes in (60, 5):
        readings = _room(60, step_minutes, fail_day=45.3)
        start = int(45.3 * 1440 / step_minutes)
        alerts = _alerts(readings, **NAB_LIKE)
        assert sum(alerts[:start]) <= 10, step_minutes  # hourly: 7 single readings of 1,087
        first = next(i for i in range(start, len(alerts)) if alerts[i])
        assert (first - start) * step_minutes <= 4 * 60, step_minutes


def test_with_the_recent_level_a_lasting_change_alarms_less_and_less() -> None:
    """A change that stays (+6 from day 30 on) is an alarm while it is new. Without
    ``level_seconds`` it is never learnt (flagged readings are not) and alarms every hour for
    good; with it the alarm thins out, but only slowly: the time-of-day profile learns the new
    level slot by slot, from the hours that are not flagged, and the hours it has not yet
    learnt keep flickering (5-12 alerts a day after three weeks). A known weakness of the
    adopted NAB design (models/EVALUATION.md)."""
    readings = _room(30, 60, None)
    for i, r in enumerate(_room(30, 60, None, seed=5)):
        later = dict(r, event_id=f"s{i}", event_time=r["event_time"] + timedelta(days=30))
        later["metrics"] = {"temperature": r["metrics"]["temperature"] + 0.15 * 30 + 6.0}
        readings.append(later)
    start = 30 * 24
    followed = _alerts(readings, **NAB_LIKE)
    kept = _alerts(readings, **{**NAB_LIKE, "level_seconds": None})
    assert all(followed[start + 1 : start + 24])  # found at once
    assert all(kept[start + 1 :])  # without: every hour to the end
    late = followed[start + 20 * 24 :]  # days 20-30 after the change
    assert 0 < sum(late) < len(late) / 2


def test_without_spot_risk_the_quantile_is_the_threshold() -> None:
    readings = _room(20, 60, None)
    m = EquipmentAnomaly(**SETTINGS)
    spot = EquipmentAnomaly(**SETTINGS, spot_risk=1e-4)
    for r in readings:
        m.process(r)
        spot.process(r)
    assert m.units["ROOM-1"].spot is None
    fitted = spot.units["ROOM-1"].spot
    assert fitted is not None
    assert fitted.fitted
    restored = pickle.loads(pickle.dumps(spot))
    assert restored.score_one(readings[-1]) == spot.score_one(readings[-1])
