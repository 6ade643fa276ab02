"""Alarm hysteresis (models/incident.py) and the equipment model's incidents: held alerts,
the end of a fault that leaves the plant in a new state, and the re-fitted baseline after it."""

from __future__ import annotations

import pickle
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from models.equipment import EquipmentAnomaly
from models.incident import Incident, step

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _run(scores: list[float], threshold: float = 1.0, **kw: Any) -> tuple[list[bool], list[bool]]:
    state, alerts, rebaselines = Incident(), [], []
    for t, score in enumerate(scores):
        out = step(state, float(t), score, threshold, **kw)
        state = out.state
        alerts.append(out.alert)
        rebaselines.append(out.rebaseline)
    return alerts, rebaselines


def test_without_hold_an_alert_is_exactly_a_score_above_the_threshold():
    rng = random.Random(5)
    scores = [rng.uniform(0, 2) for _ in range(500)]
    alerts, rebaselines = _run(scores, hold=0.0)
    assert alerts == [s > 1.0 for s in scores]
    assert not any(rebaselines)


def test_a_dip_shorter_than_the_hold_keeps_the_incident_open():
    scores = [0.5] * 5 + [5.0] * 10 + [0.5] * 3 + [5.0] * 10 + [0.5] * 20
    alerts, _ = _run(scores, hold=5.0)
    assert alerts[:5] == [False] * 5
    assert all(alerts[5:33])  # the 3-second dip is inside the incident, and 5 s held after it
    assert not any(alerts[33:])


def test_an_infinite_threshold_never_opens_an_incident():
    alerts, _ = _run([1e9] * 10, threshold=float("inf"), hold=5.0)
    assert not any(alerts)


def test_a_fault_that_ends_in_a_new_state_ends_the_incident_and_asks_for_a_refit():
    # normal, a fault 1,000× the threshold, then a new state 10× it: still above, far below
    scores = [0.5] * 10 + [1000.0] * 60 + [10.0] * 40
    alerts, rebaselines = _run(scores, hold=5.0, drop=1.0)
    assert all(alerts[10:75])
    assert not alerts[75]
    assert rebaselines.index(True) == 75  # the caller re-fits; a fixed threshold would reopen
    without, _ = _run(scores, hold=5.0)
    assert all(without[10:])  # without ``drop`` the new state alarms for as long as it lasts


def test_a_fault_settling_far_above_the_threshold_is_not_released_under_a_ceiling():
    # an onset 10^6 over the threshold for 60 s, then the fault's steady part at 10^4: two
    # decades under its level (a "drop"), yet four over the threshold; then the real end
    scores = [0.5] * 10 + [1e6] * 60 + [1e4] * 60 + [10.0] * 40
    alerts, rebaselines = _run(scores, hold=5.0, drop=1.0, ceiling=3.0)
    assert all(alerts[10:135])  # the steady part is the same fault
    assert rebaselines.index(True) == 135  # released once within 3 decades of the threshold
    loose, early = _run(scores, hold=5.0, drop=1.0)
    assert early.index(True) == 75  # without the ceiling the steady part becomes the new normal
    assert not loose[75]  # (the caller re-fits its baseline on the rest of the fault)


def test_one_spike_at_the_onset_does_not_set_the_level_the_fault_then_drops_from():
    scores = [0.5] * 10 + [5.0, 1e6] + [50.0] * 100
    alerts, rebaselines = _run(scores, hold=10.0, drop=1.0)
    assert all(alerts[10:])
    assert not any(rebaselines)


def test_a_state_that_stays_above_the_threshold_is_accepted_after_accept_seconds():
    # a step 30x the threshold that lasts: it never drops a decade under its own level
    scores = [0.5] * 10 + [30.0] * 100
    alerts, rebaselines = _run(scores, hold=5.0, drop=1.0, accept=40.0)
    assert all(alerts[10:50])  # the alarm says "changed" for 40 s of the unit's time
    assert rebaselines.index(True) == 50  # then the state is the new normal: re-fit
    assert not alerts[50]
    held, never = _run(scores, hold=5.0, drop=1.0)
    assert all(held[10:])  # without ``accept`` it alarms to the end
    assert not any(never)


def test_accept_counts_from_the_opening_and_a_snapshot_without_it_still_steps():
    scores = [0.5] * 10 + [30.0] * 20 + [0.5] * 3 + [30.0] * 60
    alerts, rebaselines = _run(scores, hold=5.0, accept=40.0)
    assert rebaselines.index(True) == 50  # the 3-s dip is inside the held incident: 10 + 40
    old = Incident(True, 1.0, 20.0)  # an open incident from before ``opened`` existed
    out = step(old, 61.0, 30.0, 1.0, hold=5.0, accept=40.0)
    assert out.rebaseline  # ``updated`` stands in for the opening: 41 s ago


def test_the_model_accepts_a_step_that_lasts_and_alarms_on_the_next_one():
    m = EquipmentAnomaly(
        warmup=0,
        warmup_seconds=300.0,
        span_seconds=5.0,
        accept_seconds=60.0,
        rebaseline_seconds=60.0,
    )
    rng = random.Random(7)
    alerts = []
    for i in range(1500):
        shift = 0.0 if i < 400 else 1.5 if i < 1100 else 6.0  # a step that stays, then another
        alerts.append(m.process(_reading(i, T0 + timedelta(seconds=i), shift, rng)).alert)
    assert all(alerts[410:460])  # the step is an alarm while it is news
    assert sum(alerts[600:1100]) < 50  # then the unit's normal (its tail only)
    assert all(alerts[1110:1150])  # a further step is news again
    plain = EquipmentAnomaly(warmup=0, warmup_seconds=300.0, span_seconds=5.0)
    rng = random.Random(7)
    locked = []
    for i in range(1100):
        shift = 0.0 if i < 400 else 1.5
        locked.append(plain.process(_reading(i, T0 + timedelta(seconds=i), shift, rng)).alert)
    assert sum(locked[600:1100]) > 450  # without ``accept_seconds``: an alarm without end


def _reading(i: int, t: datetime, shift: float, rng: random.Random) -> dict[str, Any]:
    current = 10 + rng.gauss(0, 0.2) + shift
    return {
        "event_id": f"e{i}",
        "event_time": t,
        "equipment_code": "P1",
        "equipment_type": "pressure_vessel",
        "uscc": "91110000100000000X",
        "metrics": {"current": current, "flow": 50 - 2 * current + rng.gauss(0, 0.2)},
    }


def _fault_then_new_state(**params: Any) -> list[bool]:
    """400 s normal, 200 s a large fault, then 300 s at a new level 1.5 units from the old one."""
    m = EquipmentAnomaly(warmup=0, warmup_seconds=300.0, span_seconds=5.0, **params)
    rng = random.Random(11)
    alerts = []
    for i in range(900):
        shift = 0.0 if i < 400 else 20.0 if i < 600 else 1.5
        alerts.append(m.process(_reading(i, T0 + timedelta(seconds=i), shift, rng)).alert)
    return alerts


def test_the_model_holds_the_fault_and_refits_on_the_state_after_it():
    params = {"hold_seconds": 10.0, "release_drop": 1.0, "rebaseline_seconds": 120.0}
    alerts = _fault_then_new_state(**params)
    assert sum(alerts[:400]) < 40  # the normal part: the 99th percentile's tail, each held 10 s
    assert all(alerts[402:600])  # the fault, held from its first seconds to its end
    assert sum(alerts[650:]) < 40  # the new state became the unit's normal (tail, held)
    old = _fault_then_new_state()
    assert sum(old[650:]) > 200  # without the release the new state is one long false alarm


def test_an_open_incident_survives_a_snapshot():
    m = EquipmentAnomaly(warmup=0, warmup_seconds=60.0, span_seconds=5.0, hold_seconds=30.0)
    rng = random.Random(2)
    for i in range(200):
        m.process(_reading(i, T0 + timedelta(seconds=i), 0.0 if i < 150 else 20.0, rng))
    restored = pickle.loads(pickle.dumps(m))
    assert restored.units["P1"].incident.active
    later = _reading(200, T0 + timedelta(seconds=200), 0.0, rng)  # back to normal at once
    assert restored.score_one(later).alert  # still held: settled for less than 30 s


def test_a_snapshot_from_before_incidents_keeps_scoring():
    m = EquipmentAnomaly(warmup=0, warmup_seconds=60.0, span_seconds=5.0)
    rng = random.Random(4)
    for i in range(150):
        m.process(_reading(i, T0 + timedelta(seconds=i), 0.0, rng))
    probe = _reading(150, T0 + timedelta(seconds=150), 20.0, rng)
    verdict = m.score_one(probe)
    old = pickle.loads(pickle.dumps(m))
    for unit in old.units.values():  # what a unit held before this change
        del unit.incident, unit.rewarm_until
    old._last = old._last[:4]  # the cache of a score_one taken into the snapshot
    for name in ("hold_seconds", "release_drop", "rebaseline_seconds"):
        delattr(old, name)
    again = pickle.loads(pickle.dumps(old))
    old.learn_one(probe)  # straight from the old cache: recomputed, not unpacked short
    assert old.units["P1"].incident.active
    assert again.score_one(probe).alert == verdict.alert is True


def test_persistence_opens_an_incident_only_after_the_score_stayed_above_that_long():
    blips = [0.5] * 5 + [5.0] * 2 + [0.5] * 5 + [5.0] * 6 + [0.5] * 5
    alerts, _ = _run(blips, hold=0.0, persist=3.0)
    assert not any(alerts[:12])  # a 2-second excursion never alarms
    assert alerts[12:18] == [False] * 3 + [True] * 3  # the 6-second one from its fourth second
    plain, _ = _run(blips, hold=0.0)
    assert sum(plain) == 8
    assert sum(alerts) == 3


def test_a_snapshot_from_before_persistence_keeps_scoring():
    restored = pickle.loads(pickle.dumps(Incident(True, 2.0, 10.0)))
    object.__delattr__(restored, "above_since")  # what an Incident held before this change
    out = step(restored, 11.0, 5.0, 1.0, hold=3.0, persist=3.0)
    assert out.alert
    assert out.state.active


def test_the_model_does_not_learn_a_score_it_waits_on():
    m = EquipmentAnomaly(warmup=0, warmup_seconds=60.0, span_seconds=5.0, raise_seconds=30.0)
    rng = random.Random(6)
    alerts = []
    for i in range(200):
        shift = 0.0 if i < 150 else 20.0
        alerts.append(m.process(_reading(i, T0 + timedelta(seconds=i), shift, rng)).alert)
    learnt = m.units["P1"].seen
    assert not any(alerts[150:175])  # waiting the 30 s out (the EWMA also takes a few)
    assert all(alerts[185:])  # then raised, and held while the fault lasts
    assert learnt < 165  # the fault's readings were not learnt while the alarm waited
