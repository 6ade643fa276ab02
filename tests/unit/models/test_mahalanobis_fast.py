"""The online Mahalanobis detector in Python floats (issue #16) gives the very floats of its
numpy code before (2026-12-03): scores, z-scores, what it learns, on the bench stream and on
readings with missing, young, non-finite and new features; and it pickles to the same bytes,
so checkpointed units and snapshots are what they were."""

from __future__ import annotations

import json
import pickle
import random
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import models.unit_anomaly as unit_anomaly
from config.settings import Settings
from models.mahalanobis import OnlineMahalanobis
from models.worker_models import build_models
from schemas.ingest import IngestLimits, decode_source
from schemas.sample_stream import generate

if TYPE_CHECKING:
    from pathlib import Path


class _Before(OnlineMahalanobis):
    """The detector as it was before the changes: its state in numpy arrays (pickled as they
    are), ``score_one``, ``z_scores``, ``_vector`` and ``learn_one`` in numpy calls."""

    def __init__(self, ridge: float = 0.01, min_samples: int = 10, max_features: int = 64) -> None:
        super().__init__(ridge, min_samples, max_features)
        self._n = np.zeros(0)  # type: ignore[assignment]
        self._mu = np.zeros(0)  # type: ignore[assignment]
        self._s = np.zeros((0, 0))  # type: ignore[assignment]

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _grow(self, name: str, value: float) -> None:
        self._index[name] = len(self._names)
        self._names.append(name)
        self._n = np.append(self._n, 0.0)
        self._mu = np.append(self._mu, value)
        d = len(self._names)
        s = np.zeros((d, d))
        s[: d - 1, : d - 1] = self._s
        self._s = s

    def forget(self, factor: float) -> None:
        if factor < 1.0:
            self._n = self._n * factor
            self._s = self._s * factor

    def _vector(self, x: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        v = self._mu.copy()
        seen = np.zeros(len(self._names), dtype=bool)
        for name, value in x.items():
            i = self._index.get(name)
            if i is not None and value is not None and np.isfinite(value):
                v[i] = float(value)
                seen[i] = True
        return v, seen

    def z_scores(self, x: dict[str, Any]) -> dict[str, float]:
        if not self._names:
            return {}
        v, _ = self._vector(x)
        z = (v - self._mu) / self._std()
        return {
            name: float(z[i]) if self._n[i] >= self.min_samples else 0.0
            for i, name in enumerate(self._names)
        }

    def score_one(self, x: dict[Any, Any]) -> float:
        active = np.flatnonzero(self._n >= self.min_samples)
        if active.size == 0:
            return 0.0
        v, _ = self._vector(x)
        sd = self._std()[active]
        z = (v[active] - self._mu[active]) / sd
        n = self._n[active]
        pair = np.maximum(np.minimum.outer(n, n) - 1.0, 1e-9)
        corr = self._s[np.ix_(active, active)] / pair / np.outer(sd, sd)
        corr = np.clip(corr, -1.0, 1.0)
        np.fill_diagonal(corr, 1.0)
        corr += self.ridge * np.eye(active.size)
        return float(z @ np.linalg.solve(corr, z)) / active.size

    def score_and_z_scores(self, x: dict[Any, Any]) -> tuple[float, dict[str, float]]:
        return self.score_one(x), self.z_scores(x)

    def _std(self) -> np.ndarray:
        var = np.divide(
            np.diag(self._s), self._n - 1, out=np.zeros(len(self._n)), where=self._n > 1
        )
        return np.sqrt(np.maximum(var, 0.0)) + 1e-6 * (np.abs(self._mu) + 1.0)

    def learn_one(self, x: dict[Any, Any]) -> None:
        """As before its unmasked path for a reading with every feature (2026-12-04)."""
        self._admit(x)
        v, seen = self._vector(x)
        self._n = self._n + seen
        delta = np.where(seen, v - self._mu, 0.0)
        self._mu = self._mu + np.divide(delta, self._n, out=np.zeros_like(delta), where=seen)
        after = np.where(seen, v - self._mu, 0.0)
        self._s = self._s + np.outer(delta, after)


def _same_state(a: OnlineMahalanobis, b: _Before) -> None:
    assert a._names == b._names
    got, want = a.__getstate__(), b.__getstate__()
    for name in ("_n", "_mu", "_s"):
        assert got[name].shape == want[name].shape, name
        assert np.array_equal(got[name], want[name]), name
    # the same bytes: a checkpoint of the unit, or a snapshot of the model, is unchanged
    assert pickle.dumps(a, protocol=5) == _as_it_was_pickled(b)


def _as_it_was_pickled(det: _Before) -> bytes:
    """``det``'s pickle as the numpy code's OnlineMahalanobis gave it: that class, and its
    ``__dict__`` as the state (``object.__reduce_ex__`` reads ``__getstate__`` off the
    instance, so the new class's conversion is bypassed)."""
    shadow = object.__new__(OnlineMahalanobis)
    state = dict(det.__dict__)
    shadow.__getstate__ = lambda: state  # type: ignore[method-assign]
    return pickle.dumps(shadow, protocol=5)


def test_std_in_python_floats_is_numpys_to_the_bit() -> None:
    """``_std`` element by element (2026-12-04) on what a detector can hold: counts below two,
    decayed counts, negative or zero co-moments (rounding), NaN and infinities."""
    rng = random.Random(5)
    special = [0.0, -0.0, -1e-300, float("nan"), float("inf"), -float("inf"), 1e308]
    counts = [0.0, 1.0, 0.9, 1.5, 2.0]
    new, old = OnlineMahalanobis(), _Before()
    for _ in range(300):
        d = rng.randint(1, 6)
        n = [rng.choice([*counts, rng.uniform(0, 500)]) for _ in range(d)]
        mu = [rng.choice([*special, rng.gauss(0, 1e3)]) for _ in range(d)]
        s = [rng.choice([*special, rng.gauss(0, 1e4)]) for _ in range(d)]
        new._n, new._mu, new._s = n, mu, np.diag(s).tolist()
        old._n, old._mu, old._s = np.array(n), np.array(mu), np.diag(s)  # type: ignore[assignment]
        with np.errstate(over="ignore"):  # 1e308 / 0.5: numpy warns, both give inf
            got, want = new._std(), old._std()
        assert np.array_equal(got, want, equal_nan=True)
        assert np.signbit(got).tolist() == np.signbit(want).tolist()


def test_same_floats_with_missing_young_and_non_finite_features() -> None:
    rng = random.Random(3)
    new, old = OnlineMahalanobis(min_samples=5), _Before(min_samples=5)
    _same_state(new, old)  # empty: arrays of shape (0,) and (0, 0)
    names = ["a", "b", "c", "d", "e", "f"]
    for i in range(600):
        # features join late (young ones), go missing, and now and then are not finite
        x: dict[str, Any] = {
            n: rng.gauss(j, 1 + j) + (0.5 * i if n == "b" else 0.0)
            for j, n in enumerate(names[: 2 + i // 100])
            if rng.random() > 0.15
        }
        if rng.random() < 0.05:
            x["c"] = rng.choice([float("nan"), float("inf"), None])
        assert new.score_one(x) == old.score_one(x)
        assert new.z_scores(x) == old.z_scores(x)
        assert new.score_and_z_scores(x) == (old.score_one(x), old.z_scores(x))
        if i % 50 == 7:
            new.forget(0.9)
            old.forget(0.9)
        new.learn_one(x)
        old.learn_one(x)
        _same_state(new, old)
    assert new.score_one({"a": 40.0, "b": -9.0}) > 1.0  # it did learn something


def _records(tmp_path: Path) -> list[tuple[str, Any]]:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    limits = IngestLimits.from_settings(settings)
    now = datetime.now(UTC)
    return [
        (e.source, decode_source(e.source, json.dumps(e.event).encode(), limits=limits, now=now))
        for e in generate(3000, seed=7)
        if e.source in ("equipment", "trucks")
    ]


def test_unit_anomaly_models_score_the_bench_stream_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _records(tmp_path)
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    new = build_models(settings)
    fast = [s.model_dump() for source, r in records for s in new.process(source, r)]
    monkeypatch.setattr(unit_anomaly, "OnlineMahalanobis", _Before)
    old = build_models(settings)
    slow = [s.model_dump() for source, r in records for s in old.process(source, r)]
    assert len(fast) == len(records)
    assert fast == slow
    assert any(s["score"] > 0 for s in fast), "no reading was scored: the test proves nothing"
    compared = 0
    for name in new.registry.names():
        for unit, state in getattr(new.registry.get(name), "units", {}).items():
            before = old.registry.get(name).units[unit].detector
            assert isinstance(before, _Before)
            _same_state(state.detector, before)
            compared += 1
    assert compared > 10


def test_an_old_pickle_restores_and_goes_on_with_the_same_floats() -> None:
    """A unit checkpointed by the numpy code restores into Python floats and scores, learns
    and pickles as the numpy code would have."""
    rng = random.Random(11)
    old = _Before(min_samples=3)
    for _ in range(40):
        old.learn_one({"a": rng.gauss(0, 1), "b": rng.gauss(5, 2), "c": rng.gauss(0, 1e-3)})
    new = pickle.loads(_as_it_was_pickled(old))
    assert type(new) is OnlineMahalanobis
    assert isinstance(new._s[0][0], float)
    _same_state(new, old)
    for _ in range(40):
        x = {"a": rng.gauss(0, 3), "b": rng.gauss(5, 2), "c": rng.gauss(0, 1)}
        assert new.score_and_z_scores(x) == old.score_and_z_scores(x)
        new.learn_one(x)
        old.learn_one(x)
    _same_state(new, old)


def test_a_singular_matrix_raises_as_numpy_did() -> None:
    """A ridge of -1 zeroes the diagonal of independent channels: ``np.linalg.solve``'s error,
    through the direct LAPACK call's fallback."""
    new, old = OnlineMahalanobis(ridge=-1.0, min_samples=1), _Before(ridge=-1.0, min_samples=1)
    for det in (new, old):
        for i in range(5):
            det.learn_one({"a": float(i)})
        warns = pytest.warns(RuntimeWarning) if det is new else nullcontext()
        with warns, pytest.raises(np.linalg.LinAlgError):
            det.score_one({"a": 9.0})
