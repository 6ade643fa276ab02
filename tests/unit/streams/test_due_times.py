"""streams/due.py: a due time is computed once per stored value, again when the value or the
context (config, calendar, silences) changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from loop.loop_config import LoopConfig
from streams.due import NEVER, DueTimes, silences_context, warnings_due


def test_a_due_time_is_computed_once_per_stored_value() -> None:
    calls: list[object] = []

    def compute(key: str, value: object) -> float:
        assert key == "k"
        calls.append(value)
        return 10.0

    times = DueTimes(compute)
    assert times.refresh("ctx", compute) is True
    a, b = object(), object()
    assert times.due("k", lambda: a) == 10.0
    assert times.due("k", lambda: b) == 10.0
    assert calls == [a]  # known: the value is not even loaded
    times.changed("k")  # the store holds a new value: computed again
    assert times.due("k", lambda: b) == 10.0
    assert calls == [a, b]
    assert times.refresh("ctx", compute) is False
    times.due("k", lambda: b)
    assert calls == [a, b]
    assert times.refresh("other", compute) is True  # e.g. a new calendar: everything again
    times.due("k", lambda: b)
    assert calls == [a, b, b]
    times.changed(None)  # a partition taken or given away
    assert times.due("k", lambda: None) == NEVER
    assert calls == [a, b, b]
    times.keep_only(set())
    assert len(times) == 0


def test_the_store_tells_the_due_times_of_its_table_and_no_other() -> None:
    from streams.due import due_times
    from streams.state import Store

    store = Store()
    caches: dict[str, DueTimes] = {}
    warnings, tasks = due_times(caches, store, "warnings:0"), due_times(caches, store, "tasks:0")
    store.put("warnings", "e", {"v": 1})
    store.put("tasks", "t", {"v": 1})
    assert warnings.due("e", lambda: 1) == NEVER
    assert tasks.due("t", lambda: 1) == NEVER
    warnings.refresh("c", lambda _k, _v: 5.0)
    tasks.refresh("c", lambda _k, _v: 5.0)
    assert warnings.due("e", lambda: 1) == 5.0
    assert tasks.due("t", lambda: 1) == 5.0
    tasks.refresh("c", lambda _k, _v: 7.0)  # same context: the known time stands …
    store.put("warnings", "e", {"v": 2})  # … until the store says the value changed
    warnings.refresh("c", lambda _k, _v: 6.0)
    assert warnings.due("e", lambda: 2) == 6.0
    assert tasks.due("t", lambda: 1) == 5.0
    store.delete("tasks", "t")
    assert tasks.due("t", lambda: 1) == 7.0


def test_a_warning_is_due_when_quiet_long_enough_and_only_if_escalated() -> None:
    config = LoopConfig()
    seen = datetime(2026, 12, 1, tzinfo=UTC)
    bumped = SimpleNamespace(active=True, bumps=1, last_seen=seen)
    plain = SimpleNamespace(active=True, bumps=0, last_seen=seen)
    due = warnings_due(config)
    assert (
        due("e", SimpleNamespace(warnings={"a": bumped, "b": plain}))
        == (seen + config.quiet_after).timestamp()
    )
    assert due("e", SimpleNamespace(warnings={"b": plain})) == NEVER


def test_a_silence_starting_or_ending_changes_the_context() -> None:
    config = LoopConfig()
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    s = SimpleNamespace(starts_at=t0, ends_at=t0 + timedelta(hours=1))
    before = silences_context([s], config, t0 - timedelta(minutes=1))
    during = silences_context([s], config, t0 + timedelta(minutes=1))
    assert before != during
    assert during == silences_context([s], config, t0 + timedelta(minutes=30))
    assert during != silences_context([s], config, t0 + timedelta(hours=2))


def test_due_among_reads_each_unknown_value_once_and_forgets_keys_no_longer_held() -> None:
    values = {"a": 5.0, "b": 50.0, "c": 1.0}
    read: list[str] = []

    def load(key: str) -> float:
        read.append(key)
        return values[key]

    times = DueTimes(lambda _key, value: value)
    assert times.due_among(["a", "b", "c"], load, 10.0) == ["a", "c"]
    assert times.due_among(["a", "b"], load, 60.0) == ["a", "b"]
    assert read == ["a", "b", "c"]  # the second round knew every time
    assert len(times) == 2  # "c" is no longer held
