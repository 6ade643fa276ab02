"""A partition's models checkpointed as changed units (streams/model_state.py, issue #16): the
record layout, only the units that changed written, a restore from the global snapshot plus
the unit records equal to the models never interrupted, a unit record that does not verify
starting that unit fresh, tombstones, and an older whole snapshot still restoring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from pydantic import SecretStr

from models import snapshot
from models.publication import ModelPublication
from models.unit_records import open_unit
from streams.checkpoint import MARKER, replay_changelog
from streams.model_state import (
    INDEX,
    PartitionModels,
    snapshot_blobs,
    snapshot_records,
    split_unit_key,
    unit_key,
)

if TYPE_CHECKING:
    from config.settings import Settings
    from models.worker_models import WorkerModels

EQUIPMENT = "equipment-anomaly"
INSPECTIONS = "inspection-risk"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
Log = list[tuple[bytes, bytes | None]]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings with one snapshot key, as every worker of a deployment shares one."""
    return settings.with_overrides(snapshot_key=SecretStr("k" * 32))


def reading(i: int, unit: str) -> dict[str, Any]:
    return {
        "event_id": f"r-{unit}-{i}",
        "event_time": T0 + timedelta(seconds=30 * i),
        "equipment_code": unit,
        "equipment_type": "elevator",
        "uscc": "91110000100000000X",
        "metrics": {"current": 10.0 + (i % 7) * 0.3, "speed": 1.0 + (i % 3) * 0.01},
    }


def inspection(i: int, uscc: str) -> dict[str, Any]:
    return {
        "event_id": f"i-{uscc}-{i}",
        "event_time": T0 + timedelta(days=i),
        "uscc": uscc,
        "entity_name": "某餐饮店",
        "region_code": "440300",
        "outcome": "fail" if i % 2 else "pass",
        "critical_count": i % 2,
    }


class Partition:
    """One partition's models and the changelog its checkpoints wrote (a marker after each)."""

    def __init__(self, settings: Settings, log: Log | None = None) -> None:
        self.models = PartitionModels(settings)
        self.log: Log = list(log or [])
        self.state = replay_changelog(self.log).state
        self.state.models = self.models.build(self.state)

    @property
    def live(self) -> WorkerModels:
        assert self.state.models is not None
        return self.state.models

    def learn(self, source: str, *records: dict[str, Any]) -> None:
        for record in records:
            list(self.live.process(source, record))

    def checkpoint(self) -> Log:
        written = self.models.records(self.state)
        self.log += [*written, (MARKER.encode(), b'{"absorbed": {}}')]
        return written


def publication(version: str) -> ModelPublication:
    """A new version of the equipment model, published now (after any snapshot so far)."""
    return ModelPublication(
        name=EQUIPMENT,
        factory=EQUIPMENT,
        version=version,
        published_by="li",
        published_at=datetime.now(UTC) + timedelta(seconds=1),
    )


def probes(models: WorkerModels, unit: str) -> list[tuple[float, float]]:
    model = models.registry.get(EQUIPMENT)
    return [(s.score, s.threshold) for s in (model.score_one(reading(900, unit)),)] + [
        (float(model.units[unit].seen), 0.0)
    ]


def units_written(written: Log, name: str = EQUIPMENT, map_name: str = "units") -> list[str]:
    """The units (or tombstones) of ``name``'s map ``map_name`` among ``written``, in order."""
    found = [split_unit_key(k) for k, _ in written]
    return [w[2] for w in found if w is not None and w[:2] == (name, map_name)]


def test_each_unit_is_its_own_signed_record_before_the_global_snapshot(settings: Settings) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 3}") for i in range(9)))
    written = p.checkpoint()
    keys = [k for k, _ in written]
    assert units_written(written) == ["E0", "E1", "E2"]
    assert keys.index(unit_key(EQUIPMENT, "units", "E2")) < keys.index(
        f"~model/{EQUIPMENT}/0".encode()
    )
    assert keys[-1] == INDEX
    header, _ = snapshot.read_header(snapshot_blobs(dict(written))[EQUIPMENT])
    assert header.units is not None, "the global snapshot names its units' epoch"
    record = dict(written)[unit_key(EQUIPMENT, "units", "E1")]
    assert record is not None
    blob, seen = open_unit(
        record, model=EQUIPMENT, map_name="units", unit="E1", epoch=header.units, key=b"k" * 32
    )
    assert seen == 3
    assert blob
    with pytest.raises(snapshot.CorruptSnapshot):  # copied under another unit's key: refused
        open_unit(
            record, model=EQUIPMENT, map_name="units", unit="E2", epoch=header.units, key=b"k" * 32
        )


def test_a_checkpoint_writes_only_the_units_that_changed(settings: Settings) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 50}") for i in range(100)))
    assert len(units_written(p.checkpoint())) == 50
    p.learn("equipment", reading(100, "E7"), reading(101, "E8"))
    assert units_written(p.checkpoint()) == ["E7", "E8"]
    assert p.checkpoint() == [], "nothing changed: nothing written"


def test_a_restore_from_the_global_snapshot_and_its_units_continues_exactly(
    settings: Settings,
) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 4}") for i in range(40)))
    p.checkpoint()
    p.learn("equipment", *(reading(i, f"E{i % 2}") for i in range(40, 60)))  # E0, E1 only
    p.checkpoint()
    again = Partition(settings, p.log)
    model = again.live.registry.get(EQUIPMENT)
    assert sorted(model.units) == ["E0", "E1", "E2", "E3"]
    assert model.units.packed == 4, "restored units stay packed until a reading of theirs"
    for unit in ("E0", "E2"):
        assert probes(again.live, unit) == probes(p.live, unit)
    more = [reading(i, f"E{i % 4}") for i in range(60, 80)]
    p.learn("equipment", *more)
    again.learn("equipment", *more)
    assert probes(again.live, "E3") == probes(p.live, "E3")
    assert again.models.records(again.state) != [], "what it learnt after the restore is written"


def test_a_unit_record_that_does_not_verify_starts_that_unit_fresh_and_is_tombstoned(
    settings: Settings,
) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 3}") for i in range(30)))
    p.checkpoint()
    key = unit_key(EQUIPMENT, "units", "E1")
    log = [(k, v[:-1] + bytes([v[-1] ^ 1]) if k == key and v else v) for k, v in p.log]
    again = Partition(settings, log)
    model = again.live.registry.get(EQUIPMENT)
    assert sorted(model.units) == ["E0", "E2"], "E1 starts fresh, the others are restored"
    assert probes(again.live, "E0") == probes(p.live, "E0")
    written = again.checkpoint()
    assert (key, None) in written, "the bad record is written over with a tombstone"


def test_units_of_another_epoch_are_not_mixed_into_a_model_written_whole_since(
    settings: Settings,
) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 2}") for i in range(20)))
    p.checkpoint()
    p.live.add(publication("2"))  # a new model: fresh, no units
    p.learn("equipment", reading(20, "E5"))
    written = p.checkpoint()
    assert units_written(written) == ["E5"], "written whole: its one unit"
    again = Partition(settings, p.log)
    assert sorted(again.live.registry.get(EQUIPMENT).units) == ["E5"]
    stale = {k for k, v in again.checkpoint() if v is None}
    assert stale == {unit_key(EQUIPMENT, "units", u) for u in ("E0", "E1")}


def test_a_deleted_unit_is_written_as_a_tombstone(settings: Settings) -> None:
    p = Partition(settings)
    model = p.live.registry.get(INSPECTIONS)
    model.max_entities = 2
    p.learn("inspections", inspection(1, "A"), inspection(2, "B"))
    assert units_written(p.checkpoint(), INSPECTIONS, "history") == ["A", "B"]
    p.learn("inspections", inspection(3, "C"))  # drops A, the oldest
    written = p.checkpoint()
    assert (unit_key(INSPECTIONS, "history", "A"), None) in written
    assert units_written(written, INSPECTIONS, "history") == ["C", "A"]
    again = Partition(settings, p.log)
    restored = again.live.registry.get(INSPECTIONS)
    assert list(restored.history) == ["B", "C"]
    assert restored.history.get("C") == model.history.get("C")
    assert dict(restored.rates) == dict(model.rates), "the per-facility rates are units too"


def test_an_older_whole_snapshot_still_restores_and_is_then_written_whole(
    settings: Settings,
) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 3}") for i in range(30)))
    whole = p.live.snapshot({}, key=b"k" * 32, names=[EQUIPMENT])[EQUIPMENT]
    assert snapshot.read_header(whole)[0].units is None
    old = [(f"~model/{EQUIPMENT}/0".encode(), whole), (INDEX, orjson.dumps({EQUIPMENT: 1}))]
    again = Partition(settings, [*old, (MARKER.encode(), b'{"absorbed": {}}')])
    assert probes(again.live, "E2") == probes(p.live, "E2")
    again.learn("equipment", reading(30, "E0"))
    written = again.checkpoint()
    assert units_written(written) == ["E0", "E1", "E2"], "no epoch yet: all of its units"


def test_snapshot_records_continue_an_epoch_with_the_changes_only(settings: Settings) -> None:
    p = Partition(settings)
    epochs: dict[str, str] = {}
    p.learn("equipment", reading(0, "E0"), reading(1, "E1"))
    first = snapshot_records(p.live, {}, key=b"k" * 32, names=[EQUIPMENT], epochs=epochs)
    assert units_written(first) == ["E0", "E1"]
    assert EQUIPMENT in epochs
    p.learn("equipment", reading(2, "E1"))
    later = snapshot_records(p.live, {}, key=b"k" * 32, names=[EQUIPMENT], epochs=epochs)
    assert units_written(later) == ["E1"]


def test_a_publication_applied_at_restore_writes_that_model_whole(settings: Settings) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 2}") for i in range(20)))
    p.checkpoint()
    worker = PartitionModels(settings)
    worker.add(publication("2"))  # applied by this worker's control plane before the build
    state = replay_changelog(p.log).state
    state.models = worker.build(state)
    list(state.models.process("equipment", reading(20, "E5")))
    written = worker.records(state)
    assert units_written(written) == ["E5"]
    again = Partition(settings, [*p.log, *written, (MARKER.encode(), b'{"absorbed": {}}')])
    assert again.live.versions()[EQUIPMENT] == "2"
    assert sorted(again.live.registry.get(EQUIPMENT).units) == ["E5"], "v1's units not mixed in"
