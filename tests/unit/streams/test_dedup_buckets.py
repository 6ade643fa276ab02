"""Dedup ids in buckets (streams/dedup.py): same answers as one key per id, far fewer keys,
undone with a failed event, found again after a restore."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.dedup import DedupWindow
from streams.checkpoint import encode, replay_changelog
from streams.dedup import BucketedIds
from streams.state import Store

events = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from("abcdefgh"), st.integers(0, 500)), max_size=80
)


def _store(partitions: int = 4) -> Store:
    store = Store()
    for p in range(partitions):
        store.hold(p)
    return store


def _seen(store: Store, w: DedupWindow, partition: int, offset: int, i: str, t: float) -> bool:
    token = store.begin(partition, f"src:{partition}", offset)
    try:
        return w.seen(i, t)
    finally:
        store.finish(token)


@settings(max_examples=100, deadline=None)
@given(events=events, window=st.integers(1, 200))
def test_matches_a_reference_model(events: list[tuple[int, str, int]], window: int) -> None:
    store = _store()
    w = DedupWindow(BucketedIds(store, bucket_size=3), window)
    last: dict[str, float] = {}
    for offset, (partition, event_id, t) in enumerate(events):
        expected = event_id in last and abs(t - last[event_id]) <= window
        assert _seen(store, w, partition, offset, event_id, t) is expected
        if not expected:
            last[event_id] = t
    w.expire(now=10_000.0)
    assert len(w) == 0
    assert store.size("dedup") == 0


def test_a_checkpoint_of_many_events_writes_few_keys() -> None:
    store = _store(1)
    w = DedupWindow(BucketedIds(store, bucket_size=64), 3600)
    for offset in range(200):
        assert not _seen(store, w, 0, offset, f"e{offset}", 1000.0)
    assert len(store.partitions[0].dirty) == 4  # ⌈200 / 64⌉ buckets, not 200 ids
    assert _seen(store, w, 0, 200, "e17", 1000.0)


def test_a_failed_event_takes_its_id_with_it() -> None:
    store = _store(1)
    w = DedupWindow(BucketedIds(store), 3600)
    assert not _seen(store, w, 0, 0, "kept", 1.0)
    token = store.begin(0, "src:0", 1)
    assert not w.seen("undone", 1.0)
    store.undo()
    store.abandon(token)
    assert not _seen(store, w, 0, 1, "undone", 1.0), "the undone id was still remembered"
    assert _seen(store, w, 0, 2, "kept", 1.0)


def test_ids_are_found_after_a_restore() -> None:
    store = _store(2)
    w = DedupWindow(BucketedIds(store, bucket_size=2), 3600)
    for offset in range(5):
        _seen(store, w, offset % 2, offset, f"e{offset}", 1.0)
    records = [
        (f"dedup/{k}".encode(), encode(v)) for k, v in store.partitions[1].tables["dedup"].items()
    ] + [(b"~checkpoint", b'{"absorbed": {"src:1": 5}}')]
    fresh = Store()
    fresh.hold(1, replay_changelog(records).state)
    again = DedupWindow(BucketedIds(fresh), 3600)
    assert [_seen(fresh, again, 1, 9, i, 1.0) for i in ("e1", "e3", "e0")] == [True, True, False]
