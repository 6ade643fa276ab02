"""The complaint classifier's snapshot leaves its taxonomy priors out (models/complaints.py,
``__getstate__``): restored, it is the same model to the last bit and word order, several
times smaller, a snapshot taken against other priors is refused, never mixed in, and the
snapshots of older releases (per-word dicts) still load."""

from __future__ import annotations

import copy
import pickle
import zlib

import pytest

from models import complaints
from models.cnb import ComplementNB
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


def same(a: ComplementNB, b: ComplementNB) -> None:
    """``b`` is ``a`` to the bit: words and classes in order, counts, totals, sums."""
    n, k = len(a.vocabulary), len(a._columns)
    assert a.vocabulary == b.vocabulary
    assert list(a._columns) == list(b._columns)
    assert a._counts[:n, :k].tobytes() == b._counts[:n, :k].tobytes()
    assert a._totals[:n].tobytes() == b._totals[:n].tobytes()
    assert (a.class_counts, a.class_totals, a.total) == (b.class_counts, b.class_totals, b.total)


def cells(delta: complaints._PriorDelta) -> list[tuple[int, int, float]]:
    rows, columns, values = delta.fields["cells"]
    return sorted(zip(rows.tolist(), columns.tolist(), values.tolist(), strict=True))


def test_the_snapshot_compares_only_the_learnt_rows_and_finds_the_same_delta() -> None:
    """The rows a classifier learnt are all a snapshot compares with the priors (not the whole
    vocabulary): the same cells as a comparison of every row, before and after a restore and a
    correction, and a model restored from it that is the same to the bit and word order."""
    model = learnt(60)
    key = model._prior_key()
    for _ in range(2):
        cm = model.category_model
        learnt_rows = set(cm.learnt_rows().tolist())
        assert 0 < len(learnt_rows) < len(cm.vocabulary)
        fast = complaints._PriorDelta.of(cm, key)
        everything = copy.deepcopy(cm)
        everything.track_learnt(range(len(cm.vocabulary)))
        whole = complaints._PriorDelta.of(everything, key)
        assert cells(fast) == cells(whole) != []
        assert fast.fields["totals"][0].tolist() == whole.fields["totals"][0].tolist()
        assert fast.fields["totals"][1].tobytes() == whole.fields["totals"][1].tobytes()
        again = pickle.loads(pickle.dumps(model))
        same(cm, again.category_model)
        restored_rows = set(again.category_model.learnt_rows().tolist())
        assert restored_rows == {r for r, _, _ in cells(fast)} | set(
            fast.fields["totals"][0].tolist()
        )
        assert restored_rows <= learnt_rows
        model = again
        model.learn_label({"全新的词": 1.0, "1:餐": 2.0}, "category:环境保护")
        rows = model.category_model._rows
        assert {rows["全新的词"], rows["1:餐"]} <= set(model.category_model.learnt_rows().tolist())


def _dicts_delta(model: ComplementNB, key: tuple[object, ...]) -> complaints._PriorDelta:
    """The delta an older release (per-word dicts) took of ``model``: every word whose counts
    or total differ from the priors', its counts in full."""
    found = complaints._prior(key)
    assert found is not None
    base, digest = found
    counts, totals = base.feature_counts, base.feature_totals
    fields = {name: getattr(model, name) for name in ("alpha", "class_counts", "class_totals")}
    fields["total"] = model.total
    fields["feature_counts"] = {f: c for f, c in model.feature_counts.items() if counts.get(f) != c}
    fields["feature_totals"] = {f: t for f, t in model.feature_totals.items() if totals.get(f) != t}
    return complaints._PriorDelta(key, digest, fields)


def test_snapshots_of_an_older_release_load_and_snapshot_anew() -> None:
    """A delta of an older release (per-word dicts) restores the same model as the dense one;
    a whole model of an older release (its category model not known to extend the priors)
    is checked once, then snapshotted as a delta, restored to the bit."""
    model = learnt(30)
    key = model._prior_key()
    cm = model.category_model
    old = _dicts_delta(cm, key)
    assert old.fields["feature_counts"]
    restored = old.apply(complaints._prior(key))
    same(cm, restored)
    rows = restored._rows
    assert set(restored.learnt_rows().tolist()) == {rows[f] for f in old.fields["feature_counts"]}
    whole = copy.deepcopy(model)
    del whole.__dict__["_on_priors"]  # as unpickled from a release that stored it whole
    whole.learn_label({"新词": 1.0}, "category:环境保护")
    state = whole.__getstate__()
    assert isinstance(state["category_model"], complaints._PriorDelta)
    again = pickle.loads(pickle.dumps(whole))
    same(whole.category_model, again.category_model)
    assert again.category_model.feature_counts["新词"] == {"环境保护": 1.0}


def test_a_model_that_does_not_extend_the_priors_is_stored_whole() -> None:
    """A category model whose words are not the priors' in their order (built by hand here)
    is never stored as a delta against them: it would restore another model."""
    model = learnt(5)
    other = ComplementNB(alpha=model.alpha)
    other.learn_one({"别的": 1.0}, "环境保护")
    model.category_model = other
    model._on_priors = None
    assert model.__getstate__()["category_model"] is other
    again = pickle.loads(pickle.dumps(model))
    same(other, again.category_model)
