"""DedupWindow: duplicates within the window, survival across a restart, bounded expiry."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.dedup import DedupWindow

events = st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 500)), max_size=60)


@settings(max_examples=100, deadline=500)
@given(events=events, window=st.integers(1, 200))
def test_matches_a_reference_model(events: list[tuple[str, int]], window: int) -> None:
    w = DedupWindow({}, window)
    last: dict[str, float] = {}
    for event_id, t in events:
        expected = event_id in last and abs(t - last[event_id]) <= window
        assert w.seen(event_id, t) is expected
        if not expected:
            last[event_id] = t


def test_store_survives_a_restart() -> None:
    store: dict[str, float] = {}
    DedupWindow(store, 60).seen("e1", 100.0)
    assert DedupWindow(store, 60).seen("e1", 100.0) is True


def test_zero_window_disables_dedup() -> None:
    store: dict[str, float] = {}
    w = DedupWindow(store, 0)
    assert not w.seen("e", 1.0)
    assert not w.seen("e", 1.0)
    assert store == {}


def test_expire_is_bounded_and_eventually_complete() -> None:
    store = {f"old{i}": 0.0 for i in range(250)}  # from before a restart
    w = DedupWindow(store, 10, max_expire=100)
    for i in range(150):
        w.seen(f"new{i}", 5.0)
    w.seen("fresh", 1000.0)
    removed = [w.expire(now=1000.0) for _ in range(6)]
    assert all(r <= 100 for r in removed)
    assert sum(removed) == 400
    assert set(store) == {"fresh"}


def test_an_id_seen_again_later_is_not_expired_by_its_old_entry() -> None:
    store: dict[str, float] = {}
    w = DedupWindow(store, 10)
    w.expire(now=0.0)  # nothing from before
    w.seen("e", 0.0)
    w.seen("e", 100.0)  # outside the window: recorded anew
    w.expire(now=105.0)
    assert store == {"e": 100.0}
