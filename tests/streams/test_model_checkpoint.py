"""The models are partition state (streams/model_state.py): written at the checkpoint with the
offsets they absorbed, restored from it, so a worker killed anywhere neither loses nor repeats
what its models learnt. Driven through the real equipment agent; the checkpoint's changelog
records are captured and read back by a second app (what a restart after SIGKILL does)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from pydantic import SecretStr

from config.settings import Settings
from models.publication import ModelPublication
from streams import model_state
from streams.model_state import PartitionModels, snapshot_blobs, snapshot_records
from streams.rekey import partition_of
from tests.streams.test_redelivery import _capture, _restarted
from tests.streams.test_skeleton import encode, inspection, metric

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

MODEL = "equipment-anomaly"
UNIT = "31103301000000000042"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
USCC = inspection()["uscc"]


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    """One snapshot key for every app of a test, as every worker of a deployment shares one."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "worker",
        sql_url=f"sqlite:///{tmp_path / 'riskloop.db'}",
        log_format="console",
        snapshot_key=SecretStr("k" * 32),
    )


def reading(i: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"r-{i}",
            "event_time": (T0 + timedelta(seconds=30 * i)).isoformat(),
            "equipment_code": UNIT,
            "equipment_type": "elevator",
            "uscc": USCC,
            "metrics": {
                "current": 10.0 + (i % 7) * 0.3,
                "speed": 1.0,
                "vibration": 0.1 + i % 3 * 0.01,
            },
        }
    )


async def feed(app: RiskLoopApp, first: int, last: int, *, commit_after: int | None = None) -> None:
    """Readings ``first``..``last - 1`` through the equipment agent at offsets 0.. (a restarted
    worker is fed again from offset 0, as from a committed offset before them)."""
    async with app.agents["equipment"].test_context() as agent:
        for i in range(first, last):
            await agent.put(reading(i), key=UNIT.encode())
            if commit_after is not None and i + 1 == commit_after:
                await app.worker.checkpoint.commit()


def learnt(app: RiskLoopApp) -> list[tuple[float, float]]:
    """What the equipment model of the unit's partition learnt, as its scores of a few probe
    readings (score and threshold move with every reading it learns)."""
    state = app.worker.store.partitions[partition_of(UNIT, app.worker.settings.topics.partitions)]
    if state.models is None:  # not used yet since the restore: build it as an event would
        state.models = app.worker.runtime.models.build(state)
    model = state.models.registry.get(MODEL)
    probes = [model.score_one(orjson.loads(reading(i))) for i in range(1000, 1004)]
    return [(p.score, p.threshold) for p in probes]


async def uninterrupted(settings: Settings, first: int, last: int) -> bytes:
    app = _restarted(settings, {})
    await feed(app, first, last)
    return learnt(app)


async def test_a_crash_after_a_checkpoint_neither_loses_nor_repeats_learning(
    app: RiskLoopApp, settings: Settings
) -> None:
    log = _capture(app)
    await feed(app, 0, 60, commit_after=40)  # 40 checkpointed, 20 learnt and then lost
    again = _restarted(settings, log)
    await feed(again, 0, 60)  # redelivered from offset 0: 40 skipped, 20 learnt once
    assert metric(again, "riskloop_redelivered_skipped_total", topic="equipment.readings") == 40
    assert learnt(again) == await uninterrupted(settings, 0, 60)
    assert learnt(again) != await uninterrupted(settings, 0, 40), "the 20 redone are learnt"


async def test_models_are_written_with_the_offsets_they_absorbed(
    app: RiskLoopApp, settings: Settings
) -> None:
    log = _capture(app)
    await feed(app, 0, 25, commit_after=25)
    partition = partition_of(UNIT, settings.topics.partitions)
    records = dict(log[partition])
    blobs = snapshot_blobs(records)
    assert MODEL in blobs
    from models.snapshot import read_header

    header, _ = read_header(blobs[MODEL])
    assert header.offsets == {f"equipment.readings:{partition}": 25}
    keys = [k for k, _ in log[partition]]
    assert keys.index(b"~models") < keys.index(b"~checkpoint")  # committed by the same marker
    await app.worker.checkpoint.commit()
    assert len(log[partition]) == len(keys), "unchanged models are not written again"


async def test_a_checkpoint_writes_only_the_models_that_changed(
    app: RiskLoopApp, settings: Settings
) -> None:
    log = _capture(app)
    await feed(app, 0, 20, commit_after=20)  # the first checkpoint writes every model
    partition = partition_of(UNIT, settings.topics.partitions)
    first = {k for k, _ in log[partition] if k.startswith(b"~model/")}
    assert {k.split(b"/")[1] for k in first} >= {MODEL.encode(), b"complaint-classifier"}
    done = len(log[partition])
    await feed(app, 0, 40)  # offsets 0..19 skipped; 20 more readings: the equipment model only
    await app.worker.checkpoint.commit()
    later = [k for k, _ in log[partition][done:] if k.startswith(b"~model")]
    # the model's global snapshot (its head holds the unit that learnt), then the index
    assert later == [f"~model/{MODEL}/0".encode(), b"~models"]
    index = orjson.loads(dict(log[partition])[b"~models"] or b"")
    assert set(index) == {k.split(b"/")[1].decode() for k in first}, "the others stay indexed"
    again = _restarted(settings, log)  # their chunks come from the first checkpoint
    state = again.worker.store.partitions[partition]
    state.models = again.worker.runtime.models.build(state)
    assert set(state.models.versions()) == set(index)
    assert learnt(again) == await uninterrupted(settings, 0, 40)
    assert await again.worker.checkpoint.commit() == 0, "a restore writes nothing back"


async def test_a_torn_checkpoint_restores_the_models_of_the_last_marker(
    app: RiskLoopApp, settings: Settings
) -> None:
    log = _capture(app)
    await feed(app, 0, 30, commit_after=30)
    partition = partition_of(UNIT, settings.topics.partitions)
    marker_time = list(log[partition])
    await feed(app, 0, 50)  # offsets 0..29 skipped; 30 more learnt
    await app.worker.checkpoint.commit()
    torn = [r for r in log[partition][len(marker_time) :] if r[0].startswith(b"~model")]
    assert torn
    log[partition] = marker_time + torn[:-1]  # the crash cut the write before the index
    again = _restarted(settings, log)
    state = again.worker.store.partitions[partition]
    assert state.models_rewrite, "the torn model records must be written over"
    await feed(again, 0, 50)
    assert learnt(again) == await uninterrupted(settings, 0, 50)


async def test_a_snapshot_signed_with_another_key_is_never_unpickled(
    app: RiskLoopApp, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _capture(app)
    await feed(app, 0, 30, commit_after=30)
    other = settings.with_overrides(snapshot_key=SecretStr("x" * 32))
    loads: list[bytes] = []
    real = pickle.loads
    monkeypatch.setattr(pickle, "loads", lambda b, *a, **k: loads.append(b) or real(b, *a, **k))
    again = _restarted(other, log)
    await feed(again, 30, 31)  # the first event builds the partition's models
    assert learnt(again) == await uninterrupted(other, 30, 31), "the model started fresh"
    template = again.worker.runtime.models.template  # the shipped defaults, pickled here
    assert loads, "a snapshot that does not verify is not unpickled"
    assert all(b == template for b in loads), "a snapshot that does not verify is not unpickled"


def test_a_large_snapshot_is_cut_into_chunks_and_joined_back(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_state, "CHUNK", 1000)
    models = PartitionModels(settings).loose
    records = snapshot_records(models, {"t:0": 1}, key=b"k" * 32)
    index = orjson.loads(records[-1][1] or b"")
    assert index[MODEL] > 1
    whole = dict(records)
    blob = snapshot_blobs(whole)[MODEL]
    assert len(blob) > 1000
    assert models.restore(MODEL, blob, key=b"k" * 32) is not None, "joined back whole"
    del whole[f"~model/{MODEL}/1".encode()]
    assert MODEL not in snapshot_blobs(whole), "a model with a chunk missing starts fresh"


async def test_a_publication_after_the_snapshot_applies_and_one_before_does_not(
    app: RiskLoopApp, settings: Settings
) -> None:
    log = _capture(app)
    rt = app.worker.runtime
    v2 = ModelPublication(
        name=MODEL,
        factory=MODEL,
        version="2",
        published_by="li",
        published_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    rt.models.add(v2)
    await feed(app, 0, 30, commit_after=30)
    partition = partition_of(UNIT, settings.topics.partitions)
    assert app.worker.store.partitions[partition].models.versions()[MODEL] == "2"

    again = _restarted(settings, log)
    again.worker.runtime.models.add(v2)  # the control topic replays it: in the snapshot
    assert learnt(again) == learnt(app), "v2 again would have thrown its learning away"

    v3 = v2.model_copy(update={"version": "3", "published_at": datetime.now(UTC)})
    again.worker.runtime.models.add(v3)  # published after the snapshot: every partition
    assert again.worker.store.partitions[partition].models.versions()[MODEL] == "3"


def inspection_learnt(app: RiskLoopApp, ev: dict[str, Any]) -> list[float]:
    """The inspection model of the event's partition: its scores of the event's pattern."""
    state = app.worker.store.partitions[
        partition_of(ev["uscc"], app.worker.settings.topics.partitions)
    ]
    assert state.models is not None
    model = state.models.registry.get("inspection-risk")
    probes = [{**ev, "event_id": f"probe-{i}", "critical_count": i} for i in range(4)]
    return [model.score_one(p).score for p in probes]


async def test_an_event_whose_checkpoint_met_a_full_disk_is_learnt_once(
    app: RiskLoopApp, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.streams.test_full_disk import FullThenRoom, _checkpoint_until_stored
    from tests.streams.test_redelivery import _inspect

    ev = inspection()
    once = _restarted(settings, {})
    await _inspect(once, ev)
    twice = _restarted(settings, {})
    async with twice.agents["inspections"].test_context() as agent:  # offsets 0 and 1
        for each in ({**ev, "event_id": ev["event_id"] + "-b"}, ev):
            await agent.put(encode(each), key=each["uscc"].encode())
    sinks = FullThenRoom(full=2)
    app.worker.sinks = sinks
    app.worker.checkpoint.stall_retry = 3600.0  # the test runs each checkpoint itself
    await _inspect(app, ev)
    await _checkpoint_until_stored(app, sinks)
    assert sinks.calls == 3, "two checkpoints refused, the third stored"
    assert inspection_learnt(app, ev) == inspection_learnt(once, ev)
    assert inspection_learnt(twice, ev) != inspection_learnt(once, ev), "the probe can tell"
