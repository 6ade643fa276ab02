"""Per-source behaviour: complaints learn corrections, inspections do not leak, trucks, drift."""

from __future__ import annotations

import math
import random

from river import naive_bayes

from models.cnb import ComplementNB
from models.complaints import ComplaintClassifier
from models.drift import DriftMonitor
from models.equipment import EquipmentAnomaly
from models.inspections import InspectionRisk
from models.trucks import TruckBehaviour

from .conftest import complaint_event, equipment_event, inspection_event, stream, truck_event


def test_complaint_classifier_learns_category_and_urgency():
    model = ComplaintClassifier(min_labels=10)
    for event in stream("complaints", 60):
        model.process(event)
    probe = complaint_event(1, random.Random(3), labelled=False)  # 劳动和社会保障, 工资
    result = model.score_one({**probe, "text": "公司拖欠工资不发"})
    assert result.label == "劳动和社会保障"
    assert result.alert  # urgent learnt from labelled urgency


def test_complaint_operator_correction_moves_prediction():
    model = ComplaintClassifier(min_labels=3)
    for event in stream("complaints", 30):
        model.process(event)
    odd = {**complaint_event(0, random.Random(0), labelled=False), "text": "噪音扰民深夜施工"}
    before = model.score_one(odd)
    assert before.label != "城乡建设"  # else the correction below would prove nothing
    for _ in range(3):
        model.learn_label(before.features, "category:城乡建设")
    assert model.score_one(odd).label == "城乡建设"


def test_complaint_disposition_labels_judge_urgency_and_not_found_teaches_nothing():
    """A disposition reaches the classifier as the loop's bool or as a result word
    (``schemas.labels``); 查无此事 leaves it exactly as it was."""
    model = ComplaintClassifier(min_labels=10)
    for event in stream("complaints", 60):
        model.process(event)
    probe = {**complaint_event(1, random.Random(3), labelled=False), "text": "公司拖欠工资不发"}
    before = model.score_one(probe)
    model.learn_label(before.features, "not_found")
    assert model.score_one(probe) == before
    for _ in range(20):
        model.learn_label(before.features, False)  # 不属实: not urgent
    assert model.score_one(probe).score < before.score
    assert model.score_one(probe).label == before.label  # the category is not touched


def test_fast_complement_nb_matches_river():
    """Our dense ComplementNB predicts River's probabilities within 1e-9 (not to the bit: the
    sums run in numpy's order, models/cnb.py)."""
    ours, river = ComplementNB(), naive_bayes.ComplementNB()
    clf = ComplaintClassifier(tokens="char2")
    compared = 0
    for event in stream("complaints", 25):
        x = clf.features(clf.coerce(event))
        if river.class_counts:
            a, b = ours.predict_proba_one(x), river.predict_proba_one(x)
            assert a.keys() == b.keys()
            assert all(abs(a[k] - b[k]) < 1e-9 for k in b)
            compared += 1
        ours.learn_one(x, event["category"])
        river.learn_one(x, event["category"])
    assert compared == 24


def test_inspection_score_ignores_the_current_outcome():
    model = InspectionRisk(min_labels=5)
    for event in stream("inspections", 200):
        model.process(event)
    event = inspection_event(200, random.Random(1))
    clean = {**event, "outcome": "pass", "critical_count": 0}
    dirty = {**event, "outcome": "fail", "critical_count": 5, "serious_count": 3}
    assert model.score_one(clean) == model.score_one(dirty).model_copy(update={})


def test_inspection_history_ranks_bad_entities_higher():
    model = InspectionRisk(min_labels=5, lr=0.05)
    for event in stream("inspections", 600):
        model.process(event)
    rng = random.Random(9)
    probe = {**inspection_event(600, rng), "risk_tier": 2}  # same tier: only history differs
    bad = [model.score_one({**probe, "uscc": f"E{e:03d}"}).score for e in range(10)]
    good = [model.score_one({**probe, "uscc": f"E{e:03d}"}).score for e in range(10, 30)]
    assert sum(bad) / len(bad) > sum(good) / len(good)


def test_truck_long_stop_is_anomalous():
    model = TruckBehaviour(warmup=100, min_scores=30)
    rng = random.Random(0)
    events = [truck_event(i, rng) for i in range(300)]
    results = [model.process(e) for e in events]
    assert sum(r.alert for r in results) < 10
    last = events[-1]
    stop = [
        {
            **last,
            "event_id": f"s{j}",
            "event_time": last["event_time"]
            + (j + 1) * (events[1]["event_time"] - events[0]["event_time"]),
            "speed_kmh": 0.0,
        }
        for j in range(40)
    ]
    assert any(model.process(e).alert for e in stop)


def test_anomalies_are_per_unit():
    model = EquipmentAnomaly(warmup=100, min_scores=30)
    rng = random.Random(0)
    for i in range(200):
        model.process(equipment_event(i, rng, code="A"))
        model.process(equipment_event(i, rng, code="B", shift=5.0))  # B's normal is higher
    assert not model.score_one(equipment_event(200, rng, code="B", shift=5.0)).alert
    assert model.score_one(equipment_event(200, rng, code="A", shift=5.0)).alert


def test_falling_confirmed_rate_demotes_to_shadow():
    model = EquipmentAnomaly(warmup=10, min_scores=10)
    for event in stream("equipment", 20):
        model.process(event)
    events = [
        model.observe_disposition("confirmed" if i < 150 else "false_alarm") for i in range(300)
    ]
    demotions = [e for e in events if e is not None and e.action == "demote"]
    assert demotions
    assert model.shadow
    assert "demoted" in demotions[0].message
    assert model.score_one(stream("equipment", 1)[0]).mode == "shadow"
    assert demotions[0] in model.pop_drift_events()


def test_score_drift_is_reported_for_review():
    monitor = DriftMonitor(model="m")
    events = [monitor.update_score(1.0 if i < 300 else 10.0) for i in range(600)]
    assert any(e is not None and e.signal == "score" and e.action == "review" for e in events)


def _reference_jll(m: ComplementNB, x: dict[str, float], classes: list[str]) -> dict[str, float]:
    """The likelihood as models/cnb.py computed it before its counts were dense (2026-12-06),
    term for term: the dense one agrees within 1e-9 (numpy sums in another order)."""
    feature_counts, feature_totals = m.feature_counts, m.feature_totals  # copies: read once
    vocabulary = len(feature_counts)
    shared = mass = 0.0
    correction = dict.fromkeys(classes, 0.0)
    for f, frequency in x.items():
        counts = feature_counts.get(f)
        if counts is None:
            shared -= frequency * math.log(m.alpha)
            mass += frequency
            continue
        top = feature_totals[f] + m.alpha
        log_top = math.log(top)
        shared -= frequency * log_top
        mass += frequency
        for c, n in counts.items():
            if c in correction and n:
                correction[c] -= frequency * (math.log(top - n) - log_top)
    return {
        c: shared
        + correction[c]
        + mass * math.log(m.total + m.alpha * vocabulary - m.class_totals.get(c, 0.0))
        for c in classes
    }


def test_complement_nb_agrees_with_its_word_by_word_sums():
    clf = ComplaintClassifier()
    m = ComplementNB(alpha=0.5)
    total = 0.0
    for event in stream("complaints", 40):
        x = clf.features(clf.coerce(event))
        if m.class_counts:
            classes = sorted(m.class_counts)
            for subset in (None, classes[:2]):
                got = m.joint_log_likelihood(x, subset)
                want = _reference_jll(m, x, list(subset or m.class_counts))
                assert got.keys() == want.keys()
                assert all(math.isclose(got[c], want[c], rel_tol=1e-9) for c in want)
        m.learn_one(x, event["category"])
        for v in x.values():  # the running total, added up in the model's order
            total += v
    assert m.total == total


def test_cached_jieba_words_are_jieba_words():
    import jieba

    from models.complaints import _NOISE, tokenize

    text = "小区门口垃圾堆放，0天没人清理，电话0"
    direct = [w for w in jieba.lcut(text) if not _NOISE.fullmatch(w)]
    assert tokenize(text, "jieba") == direct
    again = tokenize(text, "jieba")
    assert again == direct
    again.append("x")  # a caller's list is its own: the cached words stay as they were
    assert tokenize(text, "jieba") == direct


def test_cached_token_counts_are_the_counts_of_before_and_a_callers_own():
    """``_counts`` is cached per text (2026-12-04): the very counts, in the same order and of
    the same types, and a caller that adds to its dict (``features`` adds the subject's)
    cannot change what the next complaint with that text gets."""
    from collections import Counter

    from models.complaints import tokenize

    def before(clf: ComplaintClassifier, text: str) -> dict[str, float]:
        out = {w: float(c) for w, c in Counter(tokenize(text, clf.tokens, clf.longest)).items()}
        if clf.word_weight and clf.tokens == "chars":
            for w, c in Counter(tokenize(text, "jieba")).items():
                out[f"w:{w}"] = clf.word_weight * c
        return out

    text = "小区门口垃圾堆放，3天没人清理，电话12345"
    for clf in (
        ComplaintClassifier(),
        ComplaintClassifier(word_weight=2),
        ComplaintClassifier(longest=2),
    ):
        expected = before(clf, text)
        first = clf._counts(text)
        assert list(first.items()) == list(expected.items())
        assert [type(v) for v in first.values()] == [type(v) for v in expected.values()]
        first["1:小"] += 100.0
        first["extra"] = 1.0
        assert list(clf._counts(text).items()) == list(expected.items())


def test_char_grams_are_the_grams_of_before_their_tuning():
    """``char_grams`` builds its list faster (2026-12-03): the very grams, in the same order."""
    from models.complaints import _DIGITS, _NOISE, char_grams

    def before(text: str, longest: int) -> list[str]:
        out: list[str] = []
        for chunk in _NOISE.split(_DIGITS.sub("0", text)):
            for k in range(1, longest + 1):
                out.extend(f"{k}:{chunk[i : i + k]}" for i in range(len(chunk) - k + 1))
        return out

    texts = [e["text"] + " " + (e.get("subject") or "") for e in stream("complaints", 80)]
    texts += ["", "  ", "a", "电梯 困人！！12345号", "ab_cd\u3000ef 9 x"]
    for text in texts:
        for longest in (1, 2, 3, 5):
            assert char_grams(text, longest) == before(text, longest)
    assert len(char_grams(texts[0], 3)) > 20
