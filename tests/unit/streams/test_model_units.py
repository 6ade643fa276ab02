"""A partition's models checkpointed with their units in a head and sealed segments
(streams/model_state.py, models/unit_ledger.py, issue #16): few records whatever the units
used, unchanged units never written again once sealed, a restore from the global snapshot plus
its segments equal to the models never interrupted, a segment that does not verify refusing
its model, deleted units staying deleted, compaction, tombstones, and older layouts restoring
(whole snapshots) or refused (per-unit records)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from pydantic import SecretStr

from models import snapshot, unit_ledger
from models.publication import ModelPublication
from models.unit_records import HEAD, open_segment, seal
from streams.checkpoint import MARKER, replay_changelog
from streams.model_state import (
    INDEX,
    PartitionModels,
    model_blobs,
    segment_key,
    snapshot_records,
    split_unit_key,
)

if TYPE_CHECKING:
    from config.settings import Settings
    from models.unit_records import Entry
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


KEY = b"k" * 32


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """A head sealed past ~2 units' bytes, segments of ~4 units: the layout of many entities
    with a handful."""
    monkeypatch.setattr(unit_ledger, "HEAD_BYTES", 300)
    monkeypatch.setattr(unit_ledger, "SEGMENT_BYTES", 600)
    monkeypatch.setattr(unit_ledger, "MIN_STALE", 4)
    monkeypatch.setattr(unit_ledger, "CARRY_BYTES", 300)


def head_of(written: Log, name: str = EQUIPMENT) -> tuple[str, list[Entry], dict[int, int]]:
    """The epoch, head entries and sealed segments named by ``name``'s global record."""
    blob, head = model_blobs(dict(written))[name]
    assert head is not None
    epoch = snapshot.read_header(blob)[0].units
    assert epoch is not None
    entries, segments = open_segment(head, model=name, epoch=epoch, seq=HEAD, key=KEY)
    return epoch, entries, segments


def segments_written(written: Log, name: str = EQUIPMENT) -> tuple[list[int], list[int]]:
    """The sealed segments of ``name`` among ``written``: those written, those tombstoned."""
    found = [(split_unit_key(k), v) for k, v in written]
    mine = [(w[1], v) for w, v in found if w is not None and w[0] == name and w[1] is not None]
    return [s for s, v in mine if v is not None], [s for s, v in mine if v is None]


def sealed_partition(settings: Settings) -> tuple[Partition, list[int]]:
    """A partition whose equipment model learnt 12 units, checkpointed (under ``small``: they
    are sealed), and the segments written."""
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 12}") for i in range(24)))
    return p, segments_written(p.checkpoint())[0]


def model_keys(written: Log) -> list[bytes]:
    return [k for k, _ in written if k.startswith(b"~model")]


def test_the_units_used_travel_in_the_head_of_the_global_record(settings: Settings) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 3}") for i in range(9)))
    written = p.checkpoint()
    assert segments_written(written) == ([], [])
    assert f"~model/{EQUIPMENT}/0".encode() in model_keys(written)
    assert [k for k, _ in written][-1] == INDEX
    epoch, entries, segments = head_of(written)
    assert [(m, u, seen) for m, u, _, seen in entries] == [
        ("units", "E0", 3),
        ("units", "E1", 3),
        ("units", "E2", 3),
    ]
    assert segments == {}
    _, head = model_blobs(dict(written))[EQUIPMENT]
    assert head is not None
    with pytest.raises(snapshot.CorruptSnapshot):  # another model's head: refused
        open_segment(head, model="truck-behaviour", epoch=epoch, seq=HEAD, key=KEY)
    with pytest.raises(snapshot.IncompatibleSnapshot):
        open_segment(head, model=EQUIPMENT, epoch="other", seq=HEAD, key=KEY)
    with pytest.raises(snapshot.TamperedSnapshot):
        open_segment(head, model=EQUIPMENT, epoch=epoch, seq=HEAD, key=b"x" * 32)


def test_busy_units_write_no_more_model_records_than_whole_snapshots(settings: Settings) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 50}") for i in range(100)))
    p.checkpoint()
    for n in range(5):
        p.learn("equipment", *(reading(100 * n + i, f"E{i % 50}") for i in range(100, 200)))
        assert model_keys(p.checkpoint()) == [f"~model/{EQUIPMENT}/0".encode(), INDEX]
    assert p.checkpoint() == [], "nothing changed: nothing written"
    assert len(head_of(p.log)[1]) == 50


def test_sealed_units_are_not_written_again_until_they_change(
    settings: Settings, small: None
) -> None:
    p, sealed = sealed_partition(settings)
    assert len(sealed) >= 2, "the head passed its bound: sealed, in segments of a few units"
    assert segments_written(p.log)[1] == [], "nothing to tombstone yet"
    _, entries, segments = head_of(p.log)
    assert entries == []
    assert sorted(segments) == sealed
    assert sum(segments.values()) == 12
    p.learn("equipment", reading(30, "E7"))
    written = p.checkpoint()
    assert segments_written(written) == ([], [])
    assert [u for _, u, _, _ in head_of(written)[1]] == ["E7"]


def test_a_restore_from_the_global_snapshot_and_its_segments_continues_exactly(
    settings: Settings, small: None
) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 6}") for i in range(60)))
    p.checkpoint()
    p.learn("equipment", *(reading(i, f"E{i % 2}") for i in range(60, 80)))  # E0, E1 only
    p.checkpoint()
    again = Partition(settings, p.log)
    model = again.live.registry.get(EQUIPMENT)
    assert sorted(model.units) == [f"E{i}" for i in range(6)]
    assert model.units.packed == 6, "restored units stay packed until a reading of theirs"
    for unit in ("E0", "E2", "E5"):
        assert probes(again.live, unit) == probes(p.live, unit)
    more = [reading(i, f"E{i % 6}") for i in range(80, 100)]
    p.learn("equipment", *more)
    again.learn("equipment", *more)
    assert probes(again.live, "E3") == probes(p.live, "E3")
    assert again.models.records(again.state) != [], "what it learnt after the restore is written"


def test_a_segment_that_does_not_verify_refuses_its_model_which_is_written_whole(
    settings: Settings, small: None
) -> None:
    p, _ = sealed_partition(settings)
    key = segment_key(EQUIPMENT, 0)
    log = [(k, v[:-1] + bytes([v[-1] ^ 1]) if k == key and v else v) for k, v in p.log]
    again = Partition(settings, log)
    assert len(again.live.registry.get(EQUIPMENT).units) == 0, "never half a model's units"
    again.learn("equipment", reading(40, "E1"))
    written = again.checkpoint()
    sealed, dropped = segments_written(written)
    assert (key, None) in written, "the bad segment is written over with a tombstone"
    assert [u for _, u, _, _ in head_of(written)[1]] == ["E1"]
    assert sorted(model_blobs(dict(p.log))) == sorted(model_blobs(dict(again.log)))


def test_a_model_written_whole_tombstones_the_segments_of_its_old_epoch(
    settings: Settings, small: None
) -> None:
    p, old = sealed_partition(settings)
    p.live.add(publication("2"))  # a new model: fresh, no units
    p.learn("equipment", reading(30, "E5"))
    written = p.checkpoint()
    sealed, dropped = segments_written(written)
    assert dropped == old
    assert sealed == []
    again = Partition(settings, p.log)
    assert sorted(again.live.registry.get(EQUIPMENT).units) == ["E5"], "v1's units not mixed in"


def test_a_deleted_unit_stays_deleted_though_a_sealed_segment_holds_it(
    settings: Settings, small: None
) -> None:
    p = Partition(settings)
    model = p.live.registry.get(INSPECTIONS)
    model.max_entities = 12
    p.learn("inspections", *(inspection(i, f"U{i}") for i in range(12)))
    assert segments_written(p.checkpoint(), INSPECTIONS)[0], "the histories are sealed"
    p.learn("inspections", inspection(20, "U20"))  # drops U0, the oldest
    written = p.checkpoint()
    head = {u: b for m, u, b, _ in head_of(written, INSPECTIONS)[1] if m == "history"}
    assert "U0" in head
    assert head["U0"] is None, "a deletion entry, over the sealed version"
    again = Partition(settings, p.log)
    restored = again.live.registry.get(INSPECTIONS)
    assert sorted(restored.history) == sorted(model.history)
    assert "U0" not in restored.history
    assert restored.history.get("U20") == model.history.get("U20")
    assert dict(restored.rates) == dict(model.rates), "the per-facility rates are units too"


def test_stale_segments_are_compacted_into_a_new_epoch(settings: Settings, small: None) -> None:
    p, first = sealed_partition(settings)
    epoch = head_of(p.log)[0]
    dropped: list[int] = []
    for n in range(6):  # the same units again and again: their sealed entries go stale
        p.learn("equipment", *(reading(100 + 12 * n + i, f"E{i}") for i in range(12)))
        dropped += segments_written(p.checkpoint())[1]
    assert set(first) <= set(dropped), "the stale segments are tombstoned"
    assert head_of(p.log)[0] != epoch, "compacted: written whole under a new epoch"
    live = head_of(p.log)[2]
    assert not set(live) & set(dropped)
    again = Partition(settings, p.log)
    for unit in ("E0", "E11"):
        assert probes(again.live, unit) == probes(p.live, unit)


def test_an_older_whole_snapshot_still_restores_and_is_then_written_whole(
    settings: Settings,
) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 3}") for i in range(30)))
    whole = p.live.snapshot({}, key=KEY, names=[EQUIPMENT])[EQUIPMENT]
    assert snapshot.read_header(whole)[0].units is None
    old = [(f"~model/{EQUIPMENT}/0".encode(), whole), (INDEX, orjson.dumps({EQUIPMENT: 1}))]
    again = Partition(settings, [*old, (MARKER.encode(), b'{"absorbed": {}}')])
    assert probes(again.live, "E2") == probes(p.live, "E2")
    again.learn("equipment", reading(30, "E0"))
    written = again.checkpoint()
    units = [u for _, u, _, _ in head_of(written)[1]]
    assert sorted(units) == ["E0", "E1", "E2"], "no ledger yet: all of its units"


def test_a_snapshot_of_the_per_unit_record_layout_is_refused_and_its_records_tombstoned(
    settings: Settings,
) -> None:
    p = Partition(settings)
    p.learn("equipment", *(reading(i, f"E{i % 3}") for i in range(30)))
    model = p.live.registry.get(EQUIPMENT)
    with model.units.detached():
        global_only = snapshot.take(model, {}, key=KEY, units="e1")
    legacy = f"~model/{EQUIPMENT}/u/units/E1".encode()
    old = [
        (legacy, b"RLUNIT1\n..."),
        (f"~model/{EQUIPMENT}/0".encode(), global_only),
        (INDEX, orjson.dumps({EQUIPMENT: 1})),
    ]
    again = Partition(settings, [*old, (MARKER.encode(), b'{"absorbed": {}}')])
    assert len(again.live.registry.get(EQUIPMENT).units) == 0, "starts fresh, not unit-less"
    again.learn("equipment", reading(30, "E0"))
    assert (legacy, None) in again.checkpoint()


def test_snapshot_records_continue_a_ledger_with_the_changes_only(settings: Settings) -> None:
    p = Partition(settings)
    ledgers: dict[str, unit_ledger.UnitLedger] = {}
    p.learn("equipment", reading(0, "E0"), reading(1, "E1"))
    snapshot_records(p.live, {}, key=KEY, names=[EQUIPMENT], ledgers=ledgers)
    epoch = ledgers[EQUIPMENT].epoch
    p.learn("equipment", reading(2, "E1"))
    later = snapshot_records(p.live, {}, key=KEY, names=[EQUIPMENT], ledgers=ledgers)
    assert head_of(later)[0] == epoch
    assert ledgers[EQUIPMENT].head["units", "E1"][1] == 2


def test_a_publication_applied_at_restore_writes_that_model_whole(
    settings: Settings, small: None
) -> None:
    p, old = sealed_partition(settings)
    worker = PartitionModels(settings)
    worker.add(publication("2"))  # applied by this worker's control plane before the build
    state = replay_changelog(p.log).state
    state.models = worker.build(state)
    list(state.models.process("equipment", reading(30, "E5")))
    written = worker.records(state)
    assert segments_written(written)[1] == old
    again = Partition(settings, [*p.log, *written, (MARKER.encode(), b'{"absorbed": {}}')])
    assert again.live.versions()[EQUIPMENT] == "2"
    assert sorted(again.live.registry.get(EQUIPMENT).units) == ["E5"], "v1's units not mixed in"


def test_a_segment_record_round_trips_its_entries_and_deletions() -> None:
    entries: list[Entry] = [
        ("units", "a/b", b"xyz", 3),
        ("units", "c", None, 0),
        ("h", "d", b"", 1),
    ]
    record = seal("m", epoch="e", seq=4, entries=entries, key=KEY)
    assert open_segment(record, model="m", epoch="e", seq=4, key=KEY) == (entries, {})
    with pytest.raises(snapshot.CorruptSnapshot):  # found under another sequence
        open_segment(record, model="m", epoch="e", seq=5, key=KEY)


def test_a_torn_checkpoint_restores_the_units_of_the_last_marker(
    settings: Settings, small: None
) -> None:
    p, _ = sealed_partition(settings)
    at_marker = Partition(settings, p.log)
    p.learn("equipment", *(reading(100 + i, f"E{i}") for i in range(12)))
    torn = p.models.records(p.state)  # written, then the worker died before its marker
    assert segments_written(torn)[0], "segments sealed after the marker"
    again = Partition(settings, [*p.log, *torn])
    assert sorted(again.live.registry.get(EQUIPMENT).units) == sorted(f"E{i}" for i in range(12))
    for unit in ("E0", "E7"):
        assert probes(again.live, unit) == probes(at_marker.live, unit)
    again.checkpoint()  # written whole: the torn records are replaced
    after = Partition(settings, again.log)
    assert probes(after.live, "E3") == probes(again.live, "E3")
