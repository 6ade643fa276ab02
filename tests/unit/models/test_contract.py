"""River-checks-style contract over every registered factory (parametrised over the registry)."""

from __future__ import annotations

import copy
import pickle

import pytest

from models.base import OnlineModel
from models.factories import create, factories
from schemas.scores import ModelScore

from .conftest import stream

SMALL = {
    "equipment-anomaly": {"warmup": 20, "min_scores": 10},
    "truck-behaviour": {"warmup": 20, "min_scores": 10},
    "complaint-classifier": {"min_labels": 5},
    "inspection-risk": {"min_labels": 5},
}
FACTORIES = [f.name for f in factories()]


def build(name: str, **extra):
    return create(name, {**SMALL.get(name, {}), **extra})


def source_of(name: str) -> str:
    return next(f.source for f in factories() if f.name == name)


@pytest.mark.parametrize("name", FACTORIES)
def test_satisfies_protocol_and_scores(name):
    model = build(name)
    assert isinstance(model, OnlineModel)
    for event in stream(source_of(name), 60):
        result = model.process(event)
        assert isinstance(result, ModelScore)
        assert result.model == name
        assert result.source == source_of(name)
    assert model.warmed_up


@pytest.mark.parametrize("name", FACTORIES)
def test_pickle_round_trip_before_and_after_learning(name):
    events = stream(source_of(name), 80)
    model = build(name)
    fresh = pickle.loads(pickle.dumps(model))
    assert fresh.score_one(events[0]) == model.score_one(events[0])
    for event in events[:60]:
        model.process(event)
    clone = pickle.loads(pickle.dumps(model))
    for event in events[60:]:
        assert clone.process(event) == model.process(event)


@pytest.mark.parametrize("name", FACTORIES)
def test_learn_one_is_pure(name):
    model = build(name)
    for event in stream(source_of(name), 30):
        before = copy.deepcopy(event)
        model.learn_one(event)
        assert event == before


@pytest.mark.parametrize("name", FACTORIES)
def test_score_one_does_not_change_state(name):
    events = stream(source_of(name), 50)
    model = build(name)
    for event in events[:40]:
        model.process(event)
    first = model.score_one(events[40])
    for event in events[41:]:
        model.score_one(event)
    assert model.score_one(events[40]) == first


@pytest.mark.parametrize("name", FACTORIES)
def test_seeding_gives_same_scores(name):
    events = stream(source_of(name), 60)
    a, b = build(name, seed=7), build(name, seed=7)
    assert [a.process(e).score for e in events] == [b.process(e).score for e in events]


@pytest.mark.parametrize("name", ["equipment-anomaly", "equipment-anomaly/hst"])
def test_missing_and_new_features(name):
    factory, _, detector = name.partition("/")
    model = build(factory, **({"detector": detector} if detector else {}))
    events = stream("equipment", 80)
    for event in events[:40]:
        model.process(event)
    for i, event in enumerate(events[40:]):
        metrics = dict(event["metrics"])
        if i % 2:
            metrics.pop("vibration")  # missing
        else:
            metrics["temperature"] = 30.0 + i * 0.01  # new
        result = model.process({**event, "metrics": metrics})
        assert result.score == result.score  # not NaN


def test_missing_and_new_words_and_history():
    complaints = build("complaint-classifier")
    for event in stream("complaints", 20):
        complaints.process(event)
    unseen = complaints.score_one({**stream("complaints", 1)[0], "text": "完全没见过的词语组合"})
    assert unseen.label is not None
    risk = build("inspection-risk")
    for event in stream("inspections", 20):
        risk.process(event)
    bare = {
        k: v
        for k, v in stream("inspections", 1)[0].items()
        if k not in {"risk_tier", "facility_type"}
    }
    assert 0.0 <= risk.score_one({**bare, "facility_type": "Grocery_Store"}).score <= 1.0
