"""A worker killed anywhere in the checkpoint's order (streams/checkpoint.py) loses nothing and
doubles nothing. Driven through the real agents: the checkpoint's changelog records are kept,
a second app restores from them, and the events come again from the committed offset."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

import pytest

import streams.retries
from bench.memory_curve import checkpoint_writes
from streams.app import RiskLoopApp, build_app
from streams.checkpoint import replay_changelog
from tests.streams.test_skeleton import encode, inspection, metric

if TYPE_CHECKING:
    from config.settings import Settings
    from tests.streams.conftest import Sent

Log = dict[int, list[tuple[bytes, bytes | None]]]


def _capture(app: RiskLoopApp) -> Log:
    """Keep what the app's checkpoints write, per partition, instead of producing it."""
    log: Log = {}
    checkpoint_writes(
        app, lambda partition, key, value: log.setdefault(partition, []).append((key, value))
    )
    return log


def _restarted(settings: Settings, log: Log) -> RiskLoopApp:
    """A new worker that read the changelog back (what a restart after SIGKILL does)."""
    app = build_app(settings)
    app.finalize()
    app.conf.store = "memory://"
    app.flow_control.resume()
    for partition in range(settings.topics.partitions):
        app.worker.checkpoint.take(partition, replay_changelog(log.get(partition, [])))
    return app


async def _inspect(app: RiskLoopApp, ev: dict[str, Any], *, again: bool = False) -> None:
    """Send ``ev`` through the inspections agent (twice, as a new message, if asked)."""
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(ev), key=ev["uscc"].encode())
        if again:
            await agent.put(encode(ev), key=ev["uscc"].encode())  # offset 1: a producer retry


def _occurrences(app: RiskLoopApp, entity: str) -> dict[str, int]:
    from streams.handle import WARNINGS, load

    state = load(app.worker, WARNINGS, entity)
    assert state is not None
    return {fp: w.occurrences for fp, w in state.warnings.items()}


async def test_events_absorbed_before_a_crash_are_skipped_after_it(
    app: RiskLoopApp, sent: Sent, settings: Settings
) -> None:
    """Crash between the changelog and the offsets: the marker says both were absorbed."""
    log = _capture(app)
    first, second = inspection(), inspection()
    second["event_id"] = first["event_id"] + "-2"
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(first), key=first["uscc"].encode())
        await agent.put(encode(second), key=second["uscc"].encode())
    occurrences = _occurrences(app, first["uscc"])
    written = await app.worker.checkpoint.commit()
    assert written > 0
    assert log
    sent.messages.clear()

    again = _restarted(settings, log)
    assert _occurrences(again, first["uscc"]) == occurrences
    async with again.agents["inspections"].test_context() as agent:  # offsets 0, 1 again
        await agent.put(encode(first), key=first["uscc"].encode())
        await agent.put(encode(second), key=second["uscc"].encode())
    assert sent.messages == []
    assert _occurrences(again, first["uscc"]) == occurrences
    skipped = metric(again, "riskloop_redelivered_skipped_total", topic="inspections.results")
    assert skipped == 2
    assert metric(again, "riskloop_events_in_total", source="inspections") == 0


async def test_events_after_the_last_marker_are_redone_once(
    app: RiskLoopApp, sent: Sent, settings: Settings
) -> None:
    """Crash before the second event's checkpoint: it is redone from the state it first met,
    sends what it sent then, and the first is not counted twice."""
    log = _capture(app)
    first, second = inspection(), inspection()
    second["event_id"] = first["event_id"] + "-2"
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(first), key=first["uscc"].encode())
        await app.worker.checkpoint.commit()
        sent.messages.clear()
        await agent.put(encode(second), key=second["uscc"].encode())
    outputs = list(sent.messages)
    occurrences = _occurrences(app, first["uscc"])
    sent.messages.clear()

    again = _restarted(settings, log)
    async with again.agents["inspections"].test_context() as agent:
        await agent.put(encode(first), key=first["uscc"].encode())  # offset 0: absorbed
        await agent.put(encode(second), key=second["uscc"].encode())  # offset 1: redone
    assert sent.messages == outputs
    assert _occurrences(again, first["uscc"]) == occurrences
    assert metric(again, "riskloop_events_duplicate_total", source="inspections") == 0


async def test_a_torn_checkpoint_is_read_back_as_its_last_marker(
    app: RiskLoopApp, sent: Sent, settings: Settings
) -> None:
    """A crash in the middle of writing the changelog: records after the last marker are not
    state; their keys come back dirty with the marker's values, to be written over them."""
    log = _capture(app)
    ev = inspection()
    key = ev["uscc"].encode()
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(ev), key=key)
        await app.worker.checkpoint.commit()
        (p,) = log
        marked = len(log[p])
        await agent.put(encode({**ev, "event_id": ev["event_id"] + "-2"}), key=key)
        await app.worker.checkpoint.commit()
    torn = log[p][marked:-1]  # the second checkpoint's records without its marker
    assert torn
    restored = replay_changelog([*log[p][:marked], *torn])
    before = replay_changelog(log[p][:marked])
    assert restored.state.tables == before.state.tables
    assert restored.state.absorbed == before.state.absorbed
    state_keys = [r for r in torn if not r[0].startswith(b"~model")]  # models: own test
    assert restored.torn == len(torn)
    assert len(restored.state.dirty) == len(state_keys)


async def test_a_key_written_many_times_costs_one_record_per_checkpoint(
    app: RiskLoopApp, sent: Sent
) -> None:
    log = _capture(app)
    ev = inspection()
    async with app.agents["inspections"].test_context() as agent:
        for n in range(20):
            again = encode({**ev, "event_id": f"{ev['event_id']}-{n}"})
            await agent.put(again, key=ev["uscc"].encode())
    await app.worker.checkpoint.commit()
    (written,) = log.values()
    keys = [k for k, _ in written]
    assert len(keys) == len(set(keys)), "a key was written twice in one checkpoint"
    assert keys.count(b"~checkpoint") == 1
    assert f"warnings/{ev['uscc']}".encode() in keys
    # plus one record per model (and their index) for the partition's models, once
    assert len([k for k in keys if not k.startswith(b"~model")]) < 20 + 10


async def test_an_event_that_raises_is_undone_dead_lettered_and_the_next_goes_on(
    app: RiskLoopApp, sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streams.pipeline as pipeline

    real = pipeline.raise_warnings
    calls = 0

    async def boom(app_: RiskLoopApp, scored: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug in one decision")
        return await real(app_, scored, **kw)

    monkeypatch.setattr(pipeline, "raise_warnings", boom)
    bad, good = inspection(), inspection()
    good["event_id"] = bad["event_id"] + "-good"
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(bad), key=bad["uscc"].encode())
        assert app.worker.store.size("rule_state") == 0, "not undone"
        assert app.worker.dedup.store.get(f"inspections:{bad['event_id']}") is None
        dead = sent.on("deadletter")
        assert [(d["reason"], d["message"][:12]) for d in dead] == [
            ("internal_error", "RuntimeError")
        ]
        await agent.put(encode(good), key=good["uscc"].encode())
    assert sent.on("alerts"), "the next event was not handled"
    assert (
        metric(
            app, "riskloop_event_failures_total", topic="inspections.results", error="RuntimeError"
        )
        == 1
    )
    accepted = metric(app, "riskloop_events_accepted_total", source="inspections")
    assert metric(app, "riskloop_events_in_total", source="inspections") == accepted == 2


async def test_a_full_disk_pauses_the_event_until_there_is_room(
    app: RiskLoopApp, sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streams.pipeline as pipeline

    real = pipeline.raise_warnings
    calls = 0

    async def full(app_: RiskLoopApp, scored: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return await real(app_, scored, **kw)

    monkeypatch.setattr(pipeline, "raise_warnings", full)
    monkeypatch.setattr(streams.retries.asyncio, "sleep", _no_sleep)
    await _inspect(app, inspection())
    assert calls == 3
    assert sent.on("deadletter") == []
    assert sent.on("alerts")
    assert metric(app, "riskloop_storage_stalled", agent="inspections") == 0
    assert metric(app, "riskloop_events_accepted_total", source="inspections") == 1


async def _no_sleep(_: float) -> None:
    return None


async def test_a_checkpoint_whose_changelog_write_fails_writes_the_same_keys_next_time(
    app: RiskLoopApp, sent: Sent
) -> None:
    """A failed delivery commits nothing and loses nothing: the keys it carried are dirty again,
    so the next checkpoint writes them (with the values they hold then) and its marker."""
    log = _capture(app)
    written_before = app.worker.checkpoint.flush
    failing = True

    async def flush() -> None:
        if failing and log:  # the changelog's records were sent, and the broker did not take
            log.clear()  # them: the producer's flush raises
            raise OSError(errno.ETIMEDOUT, "broker did not acknowledge")
        await written_before()

    app.worker.checkpoint.flush = flush
    ev = inspection()
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(ev), key=ev["uscc"].encode())
    with pytest.raises(OSError, match="acknowledge"):
        await app.worker.checkpoint.commit()
    assert log == {}
    (state,) = [s for s in app.worker.checkpoint.store.partitions.values() if s.dirty]
    assert ("warnings", ev["uscc"]) in state.dirty

    failing = False
    written = await app.worker.checkpoint.commit()
    (records,) = log.values()
    keys = [k for k, _ in records]
    assert written == len(keys) - 1
    assert f"warnings/{ev['uscc']}".encode() in keys
    assert keys[-1] == b"~checkpoint"
    assert await app.worker.checkpoint.commit() == 0, "written once, not again"


async def test_a_profile_event_for_this_partition_is_applied_here_not_sent(
    app: RiskLoopApp, sent: Sent
) -> None:
    from loop.profile import EntityProfile
    from streams.rekey import partition_of

    ev = inspection(entity_name="某某餐饮店", address="西湖区文三路1号")
    await _inspect(app, ev)
    home = app.worker.store.partitions[
        partition_of(ev["uscc"], app.worker.settings.topics.partitions)
    ]
    assert "riskloop.profile-events" not in sent.topics(), "sent round the broker"
    assert ev["uscc"] in home.tables.get("profiles", {}), "the profile did not move"
    assert ("profiles", ev["uscc"]) in home.dirty
    profile = EntityProfile.model_validate(home.tables["profiles"][ev["uscc"]])
    assert (profile.entity_name, profile.entity_address) == ("某某餐饮店", "西湖区文三路1号")


async def test_a_profile_event_for_another_partition_is_still_sent(
    app: RiskLoopApp, sent: Sent
) -> None:
    from datetime import datetime

    from loop.decide.warnings import profile_message
    from schemas.internal import ProfileEvent
    from streams.effects import run
    from streams.feedback_stage import apply_local_profile_events
    from streams.rekey import partition_of

    uscc = inspection()["uscc"]
    n = app.worker.settings.topics.partitions
    assert n > 1
    other = (partition_of(uscc, n) + 1) % n
    token = app.worker.store.begin(other, "t:0", 0)
    try:
        outputs = await apply_local_profile_events(
            app.worker,
            [
                profile_message(
                    ProfileEvent(
                        uscc=uscc,
                        kind="complaint",
                        at=datetime.fromisoformat("2026-01-01T00:00:00+08:00"),
                        ref="r",
                        entity_name="某某餐饮店",
                        entity_address="文三路1号",
                    )
                )
            ],
        )
        assert len(outputs) == 1, "another partition's profile event is not applied here"
        await run(app.worker, outputs)
    finally:
        app.worker.store.finish(token)
    (event,) = sent.on("riskloop.profile-events")
    assert (event["uscc"], event["entity_name"], event["entity_address"]) == (
        uscc,
        "某某餐饮店",
        "文三路1号",
    )  # the text is the warning's business, not the profile's
    assert app.worker.store.size("profiles") == 0
