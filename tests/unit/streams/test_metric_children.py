"""The metrics' labelled children are looked up once per label tuple (streams/metrics.py),
and behave as client_python's own: counts read back from the private registry, a removed or
cleared child made anew."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from streams.metrics import Metrics


def _value(m: Metrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_the_same_child_counts_every_call() -> None:
    m = Metrics(CollectorRegistry())
    first = m.events_in.labels("trucks")
    assert m.events_in.labels("trucks") is first
    assert m.events_in.labels(source="trucks") is first  # by name: the same series
    m.events_in.labels("trucks").inc()
    m.events_in.labels(source="trucks").inc(2)
    m.events_in.labels("complaints").inc()
    assert _value(m, "riskloop_events_in_total", source="trucks") == 3
    assert _value(m, "riskloop_events_in_total", source="complaints") == 1


def test_several_labels_and_kinds() -> None:
    m = Metrics(CollectorRegistry())
    m.rule_hits.labels("p", "r1", "active").inc()
    m.rule_hits.labels("p", "r2", "active").inc()
    m.rule_hits.labels("p", "r1", "active").inc()
    m.model_scores.labels("cnb").observe(0.9)
    m.tasks_open.labels("d1").set(4)
    assert _value(m, "riskloop_rule_hits_total", pack="p", rule="r1", mode="active") == 2
    assert _value(m, "riskloop_rule_hits_total", pack="p", rule="r2", mode="active") == 1
    assert _value(m, "riskloop_model_score_count", model="cnb") == 1
    assert _value(m, "riskloop_tasks_open", department="d1") == 4


def test_a_removed_or_cleared_child_starts_again() -> None:
    m = Metrics(CollectorRegistry())
    old = m.tasks_open.labels("d1")
    old.set(4)
    m.tasks_open.remove("d1")
    assert _value(m, "riskloop_tasks_open", department="d1") is None
    assert m.tasks_open.labels("d1") is not old
    assert _value(m, "riskloop_tasks_open", department="d1") == 0
    m.tasks_open.labels("d1").set(2)
    m.tasks_open.clear()
    assert _value(m, "riskloop_tasks_open", department="d1") is None
    m.tasks_open.labels("d1").set(1)
    assert _value(m, "riskloop_tasks_open", department="d1") == 1


def test_wrong_labels_still_refused() -> None:
    m = Metrics(CollectorRegistry())
    with pytest.raises(ValueError, match="Incorrect label count"):
        m.rule_hits.labels("only-one")
    with pytest.raises(ValueError, match="Incorrect label names"):
        m.events_in.labels(nope="x")
