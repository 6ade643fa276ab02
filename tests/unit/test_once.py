"""The journal that makes a redelivered event neither count twice nor lose its outputs.

A worker is modelled as: events on one partition, each read-modify-writing a key; the table
is whatever prefix of its changelog reached the broker; offsets are committed only for events
whose writes all did. A crash at any point, then redelivery from the committed offset, must
end with the state and the outputs of an uninterrupted run.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.once import Journal, Mode, Origin, Seen

MARK = "inspections:0"


class Clock:
    """Stands in for Faust's current event."""

    def __init__(self) -> None:
        self.origin: Origin | None = None

    def __call__(self) -> Origin | None:
        return self.origin


class Changelog(dict[str, Any]):
    """A dict that records every write, like a table's changelog topic."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, Any]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.log.append((key, value))


def journal(mode: Mode, committed: dict[str, int] | None = None) -> tuple[Journal, Clock]:
    clock = Clock()
    table = Changelog()
    return Journal(table, mode, ({} if committed is None else committed).get, origin=clock), clock


def test_a_redelivered_event_reads_the_value_from_before_its_first_delivery() -> None:
    j, clock = journal(Mode.rewind)
    clock.origin = (MARK, 1)
    j["k"] = 1
    j["k"] = j["k"] + 1  # a second write by the same event keeps the same before-value
    clock.origin = (MARK, 2)
    assert j.get("k") == 2
    j["k"] = 10
    j.forget()  # crash/rebalance: what comes now is redelivered
    clock.origin = (MARK, 1)
    assert j.get("k") is None  # before offset 1 the key did not exist
    j["k"] = 1
    assert j.get("k") == 1  # its own write, now
    clock.origin = (MARK, 2)
    assert j.get("k") == 1  # offset 2's entry went with the rewind: computed again
    clock.origin = None
    assert j.current("k") == 1


def test_committed_entries_are_pruned_and_never_rewound() -> None:
    committed: dict[str, int] = {}
    j, clock = journal(Mode.rewind, committed)
    for offset in range(5):
        clock.origin = (MARK, offset)
        j["k"] = offset
    committed[MARK] = 4  # offsets 0..3 are done
    clock.origin = (MARK, 5)
    j["k"] = 5
    entries = j.table["k"]["~journal"][1]
    assert [e[1] for e in entries] == [4, 5]
    j.forget()
    clock.origin = (MARK, 4)
    assert j.get("k") == 3


def test_replay_mode_gives_back_the_outputs_and_leaves_the_state() -> None:
    j, clock = journal(Mode.replay)
    clock.origin = (MARK, 7)
    assert j.replay("e").seen is Seen.fresh
    j.put("e", {"n": 1}, [{"role": "alerts", "key": "e", "value": "a1", "sink": ""}])
    assert j.replay("e").seen is Seen.fresh  # the same delivery may write again
    j.put("e", {"n": 2}, [{"role": "alerts", "key": "e", "value": "a2", "sink": ""}])
    clock.origin = ("ticks:0", 3)  # another input writes the same key
    j.put("e", {"n": 3}, [])
    j.forget()
    clock.origin = ("ticks:0", 2)  # a tick that wrote nothing here, before one that did
    assert j.replay("e").seen is Seen.passed
    clock.origin = (MARK, 7)
    replay = j.replay("e")
    assert replay.seen is Seen.stored
    assert [o["value"] for o in replay.outputs] == ["a1", "a2"]
    assert j.current("e") == {"n": 3}
    clock.origin = (MARK, 8)
    assert j.replay("e").seen is Seen.fresh


def test_values_written_before_journalling_still_read() -> None:
    j, clock = journal(Mode.rewind)
    j.table["old"] = {"x": 1}
    assert j.get("old") == {"x": 1} and "old" in j and j["old"] == {"x": 1}
    clock.origin = (MARK, 1)
    j["old"] = {"x": 2}
    j.forget()
    assert j.get("old") == {"x": 1}


def _run(
    events: list[tuple[str, int]], j: Journal, clock: Clock, start: int, stop: int
) -> dict[int, tuple[str, int]]:
    """Each event adds to its key and outputs the new total (a running count)."""
    outputs = {}
    for offset in range(start, stop):
        key, amount = events[offset]
        clock.origin = (MARK, offset)
        total = (j.get(key) or 0) + amount
        j[key] = total
        outputs[offset] = (key, total)
    return outputs


@settings(max_examples=400, deadline=None)
@given(
    events=st.lists(st.tuples(st.sampled_from("abc"), st.integers(1, 9)), min_size=1, max_size=30),
    data=st.data(),
)
def test_a_crash_anywhere_ends_like_an_uninterrupted_run(
    events: list[tuple[str, int]], data: st.DataObject
) -> None:
    """Commits start between events and are confirmed some events later (the journal learns
    each when it starts and when it is confirmed, as the worker's consumer tells it); the
    crash restarts from the last confirmed commit or from one the broker took but the worker
    never heard back about. Lean entries (before-values dropped) must never be needed."""
    ref, ref_clock = journal(Mode.rewind)
    expected = _run(events, ref, ref_clock, 0, len(events))
    final = {k: ref.current(k) for k in "abc" if ref.current(k) is not None}

    n = data.draw(st.integers(0, len(events)), label="handled")
    confirmed: dict[str, int] = {}
    committing: dict[str, int] = {}
    clock = Clock()
    crashed = Journal(Changelog(), Mode.rewind, confirmed.get, origin=clock,
                      committing=committing.get)  # fmt: skip
    # one commit at a time (Faust's commit task awaits each): (start, confirmed) offsets
    commits: list[tuple[int, int]] = []
    for start in sorted(set(data.draw(st.lists(st.integers(1, max(n, 1)), max_size=6), "c"))):
        if not commits or start >= commits[-1][1]:
            commits.append((start, start + data.draw(st.integers(0, 3), f"confirm {start}")))
    for offset in range(n):
        for start, done in commits:
            if start == offset:
                committing[MARK] = start  # a commit of everything before ``offset`` starts
            if done == offset:
                confirmed[MARK] = start  # ... and is confirmed a few events later
        _run(events, crashed, clock, offset, offset + 1)
    restart = confirmed.get(MARK, 0)
    if MARK in committing and data.draw(st.booleans(), "broker took the last commit"):
        restart = max(restart, committing[MARK])
    restart = min(restart, n)

    log = crashed.table.log
    must = sum(1 for k, v in log if v["~journal"][1] and v["~journal"][1][-1][1] < restart)
    persisted = data.draw(st.integers(must, len(log)), label="persisted")
    restarted, clock = journal(Mode.rewind, {MARK: restart})
    for key, value in log[:persisted]:
        restarted.table[key] = value
    redone = _run(events, restarted, clock, restart, len(events))
    assert {k: restarted.current(k) for k in final} == final
    assert redone == {o: expected[o] for o in range(restart, len(events))}


def test_lean_entries_keep_only_the_before_values_a_redelivery_can_read() -> None:
    """Restart points: the confirmed commit (2), a commit the broker may hold (5); and the
    newest entry, whose event may be in flight when the next commit is made."""
    confirmed, committing = {MARK: 2}, {MARK: 5}
    clock = Clock()
    j = Journal(Changelog(), Mode.rewind, confirmed.get, origin=clock, committing=committing.get)
    for offset in range(2, 8):
        clock.origin = (MARK, offset)
        j["a"] = {"n": offset}
    entries = j.table["a"]["~journal"][1]
    kept = [e[1] for e in entries if e[2] != {"~journal": "no before-value kept"}]
    assert [e[1] for e in entries] == [2, 3, 4, 5, 6, 7] and kept == [2, 5, 7]
    for restart in (2, 5):  # a new worker, redelivered from either commit
        again = Journal(Changelog(), Mode.rewind, {MARK: restart}.get, origin=clock)
        again.table["a"] = j.table["a"]
        clock.origin = (MARK, restart)
        assert again.get("a") == ({"n": restart - 1} if restart > 2 else None)


def test_a_busy_key_keeps_at_most_max_entries_and_counts_what_it_dropped() -> None:
    from streams.once import MAX_ENTRIES

    dropped: list[int] = []
    j, clock = journal(Mode.replay)
    j.on_truncated = dropped.append
    for offset in range(MAX_ENTRIES + 5):
        clock.origin = (MARK, offset)
        j.put("hot", {"n": offset}, [{"role": "alerts", "key": "hot", "value": "x", "sink": ""}])
    entries = j.table["hot"]["~journal"][1]
    assert len(entries) == MAX_ENTRIES
    assert entries[0][1] == 5 and sum(dropped) == 5
    assert j.current("hot") == {"n": MAX_ENTRIES + 4}


def test_a_changelog_value_reads_back_through_the_journal() -> None:
    """``riskloop sample`` reads the profiles changelog without a worker: what it finds there
    is the journal's wrapping, which it used to parse as a profile (and failed every time)."""
    from faust.serializers import codecs

    from loop.profile import EntityProfile
    from streams.codec import register
    from streams.tables import changelog_value

    clock = Clock()
    table = Changelog()
    journal = Journal(table, Mode.rewind, lambda mark: None, origin=clock)
    profile = EntityProfile(uscc="91330106MA27XXXX0X", score=2.0, risk_class="B")
    clock.origin = (MARK, 7)
    journal["91330106MA27XXXX0X"] = profile.model_dump(mode="json")
    data = codecs.dumps(register(), table["91330106MA27XXXX0X"])
    assert b"~journal" in data  # what the changelog really holds
    assert EntityProfile.model_validate(changelog_value(data)) == profile


def test_changelog_bytes_that_are_not_json_are_a_value_error() -> None:
    import pytest

    from streams.tables import changelog_value

    with pytest.raises(ValueError):
        changelog_value(b"\xff not json")
