"""Event clocks per source partition: newest event time, then the wall clock once idle."""

from __future__ import annotations

from streams.clocks import EventClocks


def test_clock_is_the_newest_event_time_per_source_and_partition() -> None:
    clocks = EventClocks()
    clocks.observe("equipment", 0, at=1000.0, wall=9000.0)
    clocks.observe("equipment", 0, at=900.0, wall=9001.0)  # a late event does not go back
    clocks.observe("trucks", 0, at=500.0, wall=9001.0)
    clocks.observe("equipment", 1, at=2000.0, wall=9001.0)
    assert clocks.now(0, wall=99_999.0) == {"equipment": 1000.0, "trucks": 500.0}
    assert clocks.now(1, wall=9002.0) == {"equipment": 2000.0}
    assert clocks.now(2, wall=9002.0) == {}


def test_a_quiet_partition_follows_the_wall_clock_only_after_idle_after() -> None:
    clocks = EventClocks(idle_after=300)
    clocks.observe("equipment", 0, at=1000.0, wall=9000.0)
    assert clocks.now(0, wall=9299.0) == {"equipment": 1000.0}
    assert clocks.now(0, wall=9300.0) == {"equipment": 1300.0}
    clocks.observe("equipment", 0, at=1010.0, wall=9400.0)  # the stream is back
    assert clocks.now(0, wall=9401.0) == {"equipment": 1010.0}


def test_forget_restarts_idle_time() -> None:
    clocks = EventClocks(idle_after=1)
    clocks.observe("equipment", 0, at=1000.0, wall=9000.0)
    clocks.forget()  # a restart: the time read is kept (a table), idle counts from now
    assert clocks.now(0, wall=10_000.0) == {"equipment": 1000.0}
    assert clocks.now(0, wall=10_001.0) == {"equipment": 1001.0}


def test_a_restarted_worker_reads_the_clocks_from_its_store() -> None:
    store: dict[str, float] = {}
    EventClocks(store).observe("trucks", 3, at=500.0, wall=1.0)
    assert EventClocks(store).now(3, wall=2.0) == {"trucks": 500.0}
