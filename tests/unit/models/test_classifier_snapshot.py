"""The complaint classifier's snapshot leaves its taxonomy priors out (models/complaints.py,
``__getstate__``): restored, it is the same model to the last bit and word order, several
times smaller, and a snapshot taken against other priors is refused, never mixed in."""

from __future__ import annotations

import pickle
import zlib

import pytest

from models import complaints
from models.complaints import ComplaintClassifier
from models.errors import IncompatibleSnapshot
from models.snapshot import restore, take
from schemas.records import Complaint
from schemas.sample_stream import generate

KEY = b"k" * 32


def learnt(n: int) -> ComplaintClassifier:
    model = ComplaintClassifier()
    events = [e for e in generate(6 * n, seed=7) if e.source == "complaints"][:n]
    for e in events:
        model.learn_one(Complaint.model_validate(e.event))
    return model


def test_a_restored_classifier_is_the_same_model_and_its_snapshot_is_smaller() -> None:
    model = learnt(150)
    again = pickle.loads(pickle.dumps(model))
    a, b = model.category_model, again.category_model
    assert list(a.feature_counts.items()) == list(b.feature_counts.items())
    assert list(a.feature_totals.items()) == list(b.feature_totals.items())
    assert (a.class_counts, a.class_totals, a.total) == (b.class_counts, b.class_totals, b.total)
    first = next(e for e in generate(40, seed=3) if e.source == "complaints")
    probe = Complaint.model_validate(
        first.event | {"event_id": "probe", "text": "餐馆食物中毒腹泻"}
    )
    assert model.score_one(probe) == again.score_one(probe)
    whole = dict(model.__dict__)
    whole.pop("_last_features", None)
    full = len(zlib.compress(pickle.dumps(whole), 1))
    delta = len(zlib.compress(pickle.dumps(model), 1))
    assert delta * 2 < full, (delta, full)
    again.learn_one(probe)  # the restored copy learns on its own: the priors were copied
    assert model.category_model.feature_counts != again.category_model.feature_counts
    assert pickle.loads(pickle.dumps(ComplaintClassifier())).category_model.feature_counts == (
        ComplaintClassifier().category_model.feature_counts
    ), "a fresh classifier round-trips too"


def test_a_snapshot_against_other_priors_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    blob = take(learnt(20), {"complaints:0": 20}, key=KEY)
    real = complaints._prior

    def other(key: tuple[object, ...]) -> object:
        found = real(key)
        return None if found is None else (found[0], "another taxonomy")

    monkeypatch.setattr(complaints, "_prior", other)
    with pytest.raises(IncompatibleSnapshot, match="taxonomy"):
        restore(blob, expect_factory="complaint-classifier", key=KEY)


def _delta(model: ComplaintClassifier, learned: object) -> complaints._PriorDelta:
    return complaints._PriorDelta.of(model.category_model, model._prior_key(), learned)  # type: ignore[arg-type]


def test_the_snapshot_compares_only_the_learned_words_and_finds_the_same_delta() -> None:
    """The words a classifier learned are all a snapshot compares with the priors (not the
    whole vocabulary): the same counts as a whole scan, before and after a restore and a
    correction, and a model restored from it that is the same to its word order."""
    model = learnt(60)
    for _ in range(2):
        learned = model._learned
        assert learned is not None
        assert 0 < len(learned) < len(model.category_model.feature_counts)
        fast, whole = _delta(model, learned), _delta(model, None)
        assert fast.fields["feature_counts"] == whole.fields["feature_counts"] != {}
        assert fast.fields["feature_totals"] == whole.fields["feature_totals"]
        again = pickle.loads(pickle.dumps(model))
        a, b = model.category_model, again.category_model
        assert list(a.feature_counts.items()) == list(b.feature_counts.items())
        assert list(a.feature_totals.items()) == list(b.feature_totals.items())
        assert again._learned is not None
        assert set(again._learned) == set(fast.fields["feature_counts"])
        model = again
        model.learn_label({"全新的词": 1.0, "1:餐": 2.0}, "category:环境保护")
        assert "全新的词" in model._learned  # type: ignore[operator]


def test_a_classifier_of_an_older_release_scans_the_whole_vocabulary() -> None:
    """A classifier unpickled from before it kept its learned words snapshots by the whole
    scan, so a word it learned then is still in its snapshot."""
    model = learnt(30)
    del model.__dict__["_learned"]  # as unpickled from an older release
    model.learn_label({"新词": 1.0}, "category:环境保护")
    again = pickle.loads(pickle.dumps(model))
    a, b = model.category_model, again.category_model
    assert list(a.feature_counts.items()) == list(b.feature_counts.items())
    assert b.feature_counts["新词"] == {"环境保护": 1.0}
