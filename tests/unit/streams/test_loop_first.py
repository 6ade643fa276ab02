"""streams/consumer.py point 5: the fetched-records buffer puts the loop's own topics in front."""

from __future__ import annotations

from collections import OrderedDict
from types import SimpleNamespace

from aiokafka.structs import TopicPartition

from streams.consumer import LoopFirst, loop_first

SOURCES = {"inspections.results", "trucks.gps"}


def test_the_buffer_is_swapped_once_keeping_what_it_held_loop_topics_first() -> None:
    held: OrderedDict[TopicPartition, str] = OrderedDict(
        [
            (TopicPartition("trucks.gps", 0), "600 readings"),
            (TopicPartition("riskloop.task-commands", 1), "3 commands"),
            (TopicPartition("inspections.results", 2), "600 results"),
        ]
    )
    aio = SimpleNamespace(_fetcher=SimpleNamespace(_records=held))
    loop_first(aio, SOURCES)
    buf = aio._fetcher._records
    assert type(buf) is LoopFirst
    assert list(buf.values()) == ["3 commands", "600 readings", "600 results"]
    loop_first(aio, SOURCES)
    assert aio._fetcher._records is buf  # once only: later polls find it in place
    buf[TopicPartition("trucks.gps", 3)] = "a later source fetch"
    buf[TopicPartition("riskloop.rekeyed", 0)] = "a later re-keyed fetch"
    assert [tp.topic for tp in buf] == [
        "riskloop.rekeyed",
        "riskloop.task-commands",
        "trucks.gps",
        "inspections.results",
        "trucks.gps",
    ]


def test_before_the_consumer_starts_there_is_nothing_to_swap() -> None:
    aio = SimpleNamespace()
    loop_first(aio, SOURCES)  # no fetcher yet: no error, nothing done
    assert not hasattr(aio, "_fetcher")
