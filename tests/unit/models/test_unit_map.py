"""Units packed once cold (models/unit_map.py): the same decisions as every unit an object, a
snapshot with packed units continues exactly, and a snapshot from before the map still loads."""

from __future__ import annotations

import pickle
import random
import zlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from models.equipment import EquipmentAnomaly
from models.trucks import TruckBehaviour
from models.unit_map import UnitMap

if TYPE_CHECKING:
    from schemas.scores import ModelScore

T0 = datetime(2024, 3, 1, tzinfo=UTC)
UNITS = 12


def _readings(n: int, seed: int = 3) -> list[dict[str, Any]]:
    """Readings of UNITS pumps in a random order; unit 5 shifts from reading 500 on."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        u = rng.randrange(UNITS)
        shift = 6.0 if u == 5 and i >= 500 else 0.0
        current = 10 + u + rng.gauss(0, 0.2) + shift
        out.append(
            {
                "event_id": f"e{i}",
                "event_time": T0 + timedelta(seconds=10 * i),
                "equipment_code": f"P{u}",
                "equipment_type": "pressure_vessel",
                "uscc": "91110000100000000X",
                "metrics": {"current": current, "flow": 50 - 2 * current + rng.gauss(0, 0.2)},
            }
        )
    return out


def _fixes(n: int) -> list[dict[str, Any]]:
    rng = random.Random(9)
    return [
        {
            "event_id": f"f{i}",
            "event_time": T0 + timedelta(seconds=30 * i),
            "plate": f"浙A{rng.randrange(UNITS):05d}",
            "lat": 30.2 + 0.001 * i,
            "lon": 120.1,
            "speed_kmh": rng.uniform(0, 60) if i % 97 else 180.0,
        }
        for i in range(n)
    ]


def _verdicts(model: Any, events: list[dict[str, Any]]) -> list[ModelScore]:
    return [model.process(e) for e in events]


def _equipment() -> EquipmentAnomaly:
    return EquipmentAnomaly(warmup=30, min_scores=10, span_seconds=30.0, hold_seconds=20.0)


def test_packed_units_decide_exactly_as_units_kept_as_objects() -> None:
    trucks = (lambda: TruckBehaviour(warmup=30, min_scores=10), _fixes(1500))
    for build, events in ((_equipment, _readings(1500)), trucks):
        whole, bounded = build(), build()
        bounded.units = UnitMap(hot=3)  # nearly every reading finds its unit packed
        expected = _verdicts(whole, events)
        assert _verdicts(bounded, events) == expected  # scores, thresholds, features, alerts
        assert bounded.units.packed == UNITS - 3
        assert len(bounded.units) == UNITS
        assert bounded.warmed_up
        assert whole.warmed_up
        assert any(v.alert for v in expected)  # the comparison covered alerts


def test_a_model_keeps_few_units_as_objects_by_default() -> None:
    """A worker holds a copy per partition and model; with many units each kept at most
    HOT_UNITS as objects (issue #16: ~3 KB of memory a hot unit, ~0.2 KB a packed one)."""
    events = _readings(400)
    for i, e in enumerate(events):
        e["equipment_code"] = f"Q{i}"  # every reading a unit of its own
    m = _after(events)
    assert len(m.units) == 400
    assert m.units.packed >= 400 - 128


def test_a_map_from_an_older_snapshot_keeps_the_present_bound() -> None:
    old: UnitMap[list[int]] = UnitMap(hot=1024)  # the bound until 2026-12-06
    assert pickle.loads(pickle.dumps(old)).hot == 128
    assert pickle.loads(pickle.dumps(UnitMap(hot=3))).hot == 3


def _after(events: list[dict[str, Any]], hot: int | None = None) -> EquipmentAnomaly:
    """An equipment model that has scored ``events``, at most ``hot`` units as objects."""
    m = _equipment()
    if hot is not None:
        m.units = UnitMap(hot=hot)
    _verdicts(m, events)
    return m


def test_a_snapshot_with_packed_units_continues_exactly() -> None:
    events = _readings(1200)
    whole, bounded = _after(events[:700]), _after(events[:700], hot=2)
    restored = pickle.loads(pickle.dumps(bounded))
    assert isinstance(restored.units, UnitMap)
    assert restored.units.packed == UNITS - 2
    assert _verdicts(restored, events[700:]) == _verdicts(whole, events[700:])


def test_a_snapshot_from_before_the_map_loads_into_one() -> None:
    events = _readings(600)
    m = _equipment()
    _verdicts(m, events[:400])
    old = _equipment()
    _verdicts(old, events[:400])
    old.units = {k: old.units[k] for k in old.units}  # type: ignore[assignment]  # as it was
    restored = pickle.loads(pickle.dumps(old))
    assert isinstance(restored.units, UnitMap)
    assert len(restored.units) == UNITS
    assert _verdicts(restored, events[400:]) == _verdicts(m, events[400:])


def test_warm_counts_packed_units_without_unpacking_them() -> None:
    m = EquipmentAnomaly(warmup=50)
    m.units = UnitMap(hot=2)
    for e in _readings(700):
        m.learn_one(e)
    assert m.units.packed == UNITS - 2
    seen = max(seen for _, seen in m.units._cold.values())
    assert m.units.warm(seen)
    assert not m.units.warm(seen + 10_000)
    assert m.units.packed == UNITS - 2  # nothing was unpacked to answer


def test_the_map_is_a_mapping() -> None:
    units: UnitMap[list[int]] = UnitMap(hot=2)
    for k in "abcd":
        units[k] = [ord(k)]
    assert units.packed == 2
    assert sorted(units) == list("abcd")
    assert "a" in units
    assert units["a"] == [97]
    assert units.packed == 2
    del units["b"]
    assert len(units) == 3
    assert units.get("b") is None
    assert units.setdefault("e", [1]) == [1]
    assert len(units) == 4


def test_units_pack_against_the_first_as_dictionary_and_come_back_the_same() -> None:
    m = _after(_readings(700), hot=2)
    blobs = [blob for blob, _ in m.units._cold.values()]
    alone = [
        len(zlib.compress(zlib.decompressobj(zdict=m.units._zdict or b"").decompress(b), 1))
        for b in blobs
    ]
    assert m.units._zdict  # the first unit packed
    assert sum(map(len, blobs)) * 2 < sum(alone)  # under half of what each packs to alone
    restored = pickle.loads(pickle.dumps(m.units))
    assert restored._zdict == m.units._zdict
    assert pickle.dumps(restored["P0"]) == pickle.dumps(m.units["P0"])


def test_units_packed_before_the_dictionary_still_load() -> None:
    events = _readings(900)
    m, old = _after(events[:600]), _after(events[:600], hot=2)
    old.units._cold = {  # as a map of the last release packed them: zlib alone
        k: (zlib.compress(old.units._inflate(blob), 1), seen)
        for k, (blob, seen) in old.units._cold.items()
    }
    del old.units.__dict__["_zdict"]
    restored = pickle.loads(pickle.dumps(old))
    assert restored.units._zdict == b""  # no dictionary for this map's units, old or new
    assert _verdicts(restored, events[600:]) == _verdicts(m, events[600:])
