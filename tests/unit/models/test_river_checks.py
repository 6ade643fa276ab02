"""River's own estimator checks (``check_estimator``) on the River estimators inside our models.

Each estimator is taken from the model that uses it, built the way that model builds it:

- InspectionRisk's ``StandardScaler | LogisticRegression`` pipeline;
- ComplaintClassifier's ComplementNB (ours, models/cnb.py) and, for ``classifier="nb"`` and
  ``"logreg"``, River's MultinomialNB and one-vs-rest logistic regression;
- the anomaly models' per-unit detectors: OnlineMahalanobis (ours, models/mahalanobis.py) and
  the ``detector="hst"`` pipeline of Half-Space Trees.

Not checked, because they are not River estimators: the models themselves (they read our
records, not feature dicts, and keep per-unit state), FalseAlarmMemory, Profile, the incident
step and UnitMap; ``stats.Quantile`` is a River statistic, which ``check_estimator`` does not take.

River's anomaly checks replay the CreditCard data set, which River downloads at run time; no
download happens here, so the two detectors get the same checks (``yield_checks``) over a
labelled stream made below: correlated readings with rare shifted faults.
"""

from __future__ import annotations

import functools
import random
from typing import TYPE_CHECKING, Any

import pytest
from river import base
from river.checks import check_estimator, yield_checks

from models.complaints import ComplaintClassifier
from models.inspections import InspectionRisk
from models.unit_anomaly import UnitState

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

CLASSIFIERS: dict[str, Callable[[], base.Estimator]] = {
    "inspection-risk pipeline": lambda: InspectionRisk().model,
    "complaints ComplementNB": lambda: ComplaintClassifier(prior_weight=0).category_model,
    "complaints MultinomialNB": lambda: ComplaintClassifier(classifier="nb").category_model,
    "complaints one-vs-rest": lambda: ComplaintClassifier(classifier="logreg").category_model,
}

DETECTORS: dict[str, Callable[[], base.Estimator]] = {
    "OnlineMahalanobis": lambda: UnitState("mahalanobis", 42, 0.99).detector,
    "HalfSpaceTrees pipeline": lambda: UnitState("hst", 42, 0.99).detector,
}


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_river_check_estimator_passes(name: str) -> None:
    model = CLASSIFIERS[name]()
    assert isinstance(model, base.Classifier)
    check_estimator(model)


def _readings(n: int, seed: int = 7) -> Iterator[tuple[dict[str, float], bool]]:
    """``n`` readings of 8 correlated channels; 2 % are faults, 3 channels shifted by 6 σ."""
    rng = random.Random(seed)
    for _ in range(n):
        load = rng.gauss(0, 1)
        x = {f"c{i}": load * (i % 3) / 2 + rng.gauss(0, 1) for i in range(8)}
        fault = rng.random() < 0.02
        if fault:
            for i in rng.sample(range(8), 3):
                x[f"c{i}"] += 6.0
        yield x, fault


def _local_checks(model: base.Estimator) -> Iterator[Callable[[Any], None]]:
    """What ``check_estimator`` runs on ``model``, with the remote data set replaced."""
    for check in yield_checks(model):
        if check.__name__ in model._unit_test_skips():
            continue
        if isinstance(check, functools.partial) and "dataset" in check.keywords:
            n = 10_000 if check.__name__ == "check_bounded_memory_growth" else 1_000
            yield functools.partial(check.func, dataset=_readings(n))
        else:
            yield check


@pytest.mark.parametrize("name", DETECTORS)
def test_river_checks_pass_for_the_anomaly_detectors(name: str) -> None:
    model = DETECTORS[name]()
    assert isinstance(model, base.AnomalyDetector)
    ran = []
    for check in _local_checks(model):
        check(model.clone())
        ran.append(getattr(check, "__name__", None) or check.func.__name__)
    assert {"check_roc_auc", "check_learn_one", "check_clone_is_idempotent"} <= set(ran)
    assert len(ran) >= 20
