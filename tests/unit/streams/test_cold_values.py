"""streams/hot.py and the store's cold values: beyond the budget the least recently used
values are held as their changelog bytes, read back equal, and nothing being changed goes
cold."""

from __future__ import annotations

import pytest

from streams.checkpoint import Checkpoint, replay_changelog
from streams.packing import Cold, encode_sized
from streams.state import Store, TableView


def _checkpointed(store: Store) -> list[tuple[bytes, bytes | None]]:
    """What a checkpoint's snapshot step does to the store: encode what changed, then evict."""
    checkpoint = Checkpoint(store=store, topic="t", send=None, flush=None)  # type: ignore[arg-type]
    checkpoint.start_empty(0)
    for partition in store.partitions:
        checkpoint.expect(partition).set()
    snapshot = checkpoint._snapshot()
    return [r for records, _ in snapshot.values() for r in records]


def window(i: int) -> dict[str, object]:
    return {
        "times": [float(1000 + i + t) for t in range(20)],
        "fired": False,
        "entity": f"e{i:03d}",
    }


def test_beyond_the_budget_the_least_recently_used_go_cold_and_read_back_equal() -> None:
    size = encode_sized(window(0)).size
    store = Store(hot_bytes=3 * size)
    store.hold(0)
    for i in range(10):
        store.put("rule_state", f"r|e{i}", window(i))
    _checkpointed(store)  # the ten are encoded, and seven go cold
    values = store.partitions[0].tables["rule_state"]
    assert [k for k, v in values.items() if not isinstance(v, Cold)] == ["r|e7", "r|e8", "r|e9"]
    assert store.hot.weight <= 3 * size
    assert all(store.get("rule_state", f"r|e{i}") == window(i) for i in range(10))
    assert "r|e0" in TableView(store, "rule_state")  # membership does not decode
    # reading a cold value gives a copy: the bytes stay, nothing is marked changed
    assert isinstance(values["r|e0"], Cold)
    assert not store.partitions[0].dirty
    # used lately: e7 was read last among the hot ones … e0 read does not make it hot
    store.get("rule_state", "r|e7")
    store.put("rule_state", "r|e1", window(100))  # stored again: decoded, and changed
    _checkpointed(store)
    assert not isinstance(values["r|e1"], Cold)
    assert not isinstance(values["r|e7"], Cold)
    assert isinstance(values["r|e8"], Cold)  # the least recently used of the three went cold
    assert store.get("rule_state", "r|e1") == window(100)


def test_a_value_changed_since_the_checkpoint_never_goes_cold() -> None:
    store = Store(hot_bytes=0)
    store.hold(0)
    store.put("warnings", "e", {"n": 1})
    _checkpointed(store)
    assert isinstance(store.partitions[0].tables["warnings"]["e"], Cold)
    store.put("warnings", "e", {"n": 2})  # dirty: only the checkpoint encodes it
    assert store.evict() == 0
    assert store.partitions[0].tables["warnings"]["e"] == {"n": 2}
    records = _checkpointed(store)
    assert records == [(b"warnings/e", b'{"n":2}')]
    assert store.get("warnings", "e") == {"n": 2}


def test_tables_outside_the_evictable_stay_decoded_and_tasks_go_cold() -> None:
    store = Store(hot_bytes=0)
    store.hold(0)
    store.put("tasks", "t", {"state": "open"})
    store.put("dedup", "b", {"id": 1.0})
    _checkpointed(store)
    assert store.partitions[0].tables["dedup"]["b"] == {"id": 1.0}
    # a province's tasks are not all held decoded: a tick reads their briefs (streams/due.py)
    assert isinstance(store.partitions[0].tables["tasks"]["t"], Cold)
    assert store.get("tasks", "t") == {"state": "open"}


def test_a_cold_value_decoded_for_use_goes_cold_again_as_the_same_bytes() -> None:
    """``keep`` (a value decoded into its model) re-uses the bytes it was read from."""
    store = Store(hot_bytes=0)
    store.hold(0)
    store.put("profiles", "u", {"name": "甲"})
    _checkpointed(store)
    cold = store.partitions[0].tables["profiles"]["u"]
    store.keep("profiles", "u", store.get("profiles", "u"))
    assert store.partitions[0].tables["profiles"]["u"] == {"name": "甲"}
    assert _checkpointed(store) == []  # same value: nothing to write …
    assert store.partitions[0].tables["profiles"]["u"] is cold  # … and back to its bytes


def test_an_event_undone_puts_back_the_cold_value_it_replaced() -> None:
    store = Store(hot_bytes=0)
    store.hold(0)
    store.put("vehicles", "f|p", {"fixes": 1})
    _checkpointed(store)
    cold = store.partitions[0].tables["vehicles"]["f|p"]
    token = store.begin(0, "trucks:0", 5)
    store.put("vehicles", "f|p", {"fixes": 2})
    assert store.undo() == 1
    store.abandon(token)
    assert store.partitions[0].tables["vehicles"]["f|p"] is cold
    assert store.get("vehicles", "f|p") == {"fixes": 1}


def test_values_go_cold_only_between_events() -> None:
    store = Store(hot_bytes=0)
    store.hold(0)
    token = store.begin(0, "trucks:0", 1)
    with pytest.raises(RuntimeError, match="between events"):
        store.evict()
    store.abandon(token)


def test_a_restored_partition_holds_bytes_until_a_value_is_used() -> None:
    store = Store(hot_bytes=0)
    store.hold(0)
    store.put("warnings", "e", {"w": ["x" * 600]})
    records = _checkpointed(store)
    restored = replay_changelog([*records, (b"~checkpoint", b'{"absorbed": {}}')])
    again = Store()
    again.hold(0, restored.state)
    assert isinstance(again.partitions[0].tables["warnings"]["e"], Cold)
    assert again.get("warnings", "e") == {"w": ["x" * 600]}


def test_a_cold_value_costs_its_bytes_not_the_encoders_buffer() -> None:
    """orjson's output keeps its ~4 KB buffer however short the JSON: a value held for long
    must be a copy (counted with tracemalloc: what was really allocated)."""
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [encode_sized(window(i)) for i in range(200)]
        per_value = (tracemalloc.get_traced_memory()[0] - before) / len(kept)
    finally:
        tracemalloc.stop()
    assert all(len(c.data) < 300 for c in kept)
    assert per_value < 600, f"{per_value:.0f} bytes allocated per ~250-byte value"


def test_a_value_decoded_for_one_read_stays_cold_and_one_for_use_is_kept() -> None:
    """``decoded(keep=False)`` (streams/handle.py ``peek``: a tick's due times and briefs)
    gives the model and leaves the bytes; ``decoded()`` (an event deciding) keeps the model."""
    from pydantic import BaseModel

    class Window(BaseModel):
        times: list[float]
        fired: bool
        entity: str

    store = Store(hot_bytes=0)
    store.hold(0)
    store.put("warnings", "e", window(1))
    _checkpointed(store)
    values = store.partitions[0].tables["warnings"]
    view = TableView(store, "warnings")
    peeked = view.decoded("e", Window, keep=False)
    assert peeked == Window.model_validate(window(1))
    assert isinstance(values["e"], Cold)
    assert store.hot.weight == 0
    used = view.decoded("e", Window)
    assert used == peeked
    assert values["e"] is used  # kept decoded, not marked changed
    assert not store.partitions[0].dirty
    assert view.decoded("e", Window, keep=False) is used  # a held model is read as it is
