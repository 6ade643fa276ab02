"""A reading with thousands of metric names must not grow the model's dimension without bound."""

from __future__ import annotations

from models.mahalanobis import OnlineMahalanobis


def test_dimensions_are_capped() -> None:
    model = OnlineMahalanobis(max_features=64)
    wide = {f"m{i}": float(i) for i in range(2000)}
    for _ in range(3):
        model.learn_one(wide)
    assert model.n_features == 64
    assert isinstance(model.score_one(wide), float)
