"""Counting what a trial wrote from two high-watermark snapshots, and the /metrics readers."""

from __future__ import annotations

import doctest

import pytest

import bench.probes
import bench.volume
from bench.probes import metric_sum
from bench.volume import Volume, messages_by_topic, short_topic, written


def test_only_partitions_that_grew_count_and_new_topics_start_at_zero() -> None:
    start = {("alerts", 0): 10, ("alerts", 1): 4}
    end = {("alerts", 0): 15, ("alerts", 1): 4, ("app-warnings-changelog", 2): 7}
    assert written(start, end) == {("alerts", 0): 10, ("app-warnings-changelog", 2): 0}
    assert messages_by_topic(start, end) == {"alerts": 5, "app-warnings-changelog": 7}


def test_volume_is_per_input_event_and_per_input_byte() -> None:
    v = Volume(events=1000, bytes_in=400_000, messages=9_800, bytes_out=12_000_000)
    assert v.messages_per_event == pytest.approx(9.8)
    assert v.bytes_ratio == pytest.approx(30.0)
    assert v.as_dict()["messages_per_event"] == pytest.approx(9.8)


def test_short_topic_drops_the_trial_tag() -> None:
    tag = "20261202-abc-pipeline-2"
    assert short_topic(f"bench.{tag}.tasks.hz_market", tag) == "tasks.hz_market"
    assert short_topic(f"bench-{tag}-__assignor-__leader", tag) == "__assignor-__leader"
    assert short_topic("unrelated", tag) == "unrelated"


def test_events_read_sums_every_source() -> None:
    text = (
        "# HELP riskloop_events_in_total Records read\n# TYPE riskloop_events_in_total counter\n"
        'riskloop_events_in_total{source="trucks"} 120.0\n'
        'riskloop_events_in_total{source="equipment"} 80.0\n'
        'riskloop_events_accepted_total{source="trucks"} 119.0\n'
    )
    assert metric_sum(text, "riskloop_events_in_total") == 200.0
    assert metric_sum(text, "riskloop_sink_retries_total") == 0.0


def test_volume_and_probes_doctests() -> None:
    assert doctest.testmod(bench.volume).failed == 0
    assert doctest.testmod(bench.probes).failed == 0
