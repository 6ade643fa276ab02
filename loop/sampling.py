"""The "双随机" draw: risk-weighted random selection of inspection objects, reproducibly.

Objects are drawn without replacement with probability proportional to a weight that depends on
their class (``ratios``, A low … D high), by Efraimidis–Spirakis: each object gets the key
``u^(1/w)`` with ``u`` uniform in (0, 1), and the ``n`` largest keys win. The random numbers come
from ``random.Random(seed)`` in USCC order, so the same seed and the same profiles give the same
list however they were passed in — the draw can be re-run and audited (一公开: it is published).

Where the worker's inspection-risk model has scored an enterprise's inspection (issue #18), the
profile keeps that P(critical finding) (``EntityProfile.model_risk``, its newest), and the
class weight is multiplied by the model's *relative* risk: the enterprise's model risk over the
mean model risk of the pool's scored enterprises, clipped to ``model_bounds`` (¼ … 4 by
default). An enterprise the model rates twice as risky as the average scored one weighs twice
its class's weight; one it has never scored keeps its class's weight (factor 1), so a model
that has seen only some enterprises neither favours nor spares the others as a group.
``use_model=False`` draws by the classes alone, as before.

Each :class:`Pick` explains its weight, so an inspected enterprise can be told why it was drawn.

>>> from loop.profile import EntityProfile
>>> ps = [EntityProfile(uscc=f"U{i}", risk_class="D" if i < 2 else "A") for i in range(6)]
>>> [p.uscc for p in sample(ps, 2, seed=7)] == [p.uscc for p in sample(ps[::-1], 2, seed=7)]
True
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from loop.profile import EntityProfile, classify, score_at
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    from loop.loop_config import ProfileConfig

DEFAULT_RATIOS: Mapping[str, float] = {"A": 1.0, "B": 2.0, "C": 4.0, "D": 8.0}
MODEL_BOUNDS = (0.25, 4.0)
"""The model's factor on a class weight is kept within these: one model score moves an
enterprise by at most two classes' worth (each class doubles the weight)."""


class Pick(BaseModel):
    """One drawn enterprise and why it weighed what it did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uscc: str
    risk_class: str
    score: float
    weight: float
    share: float
    rank: int
    explanation: str
    model_risk: float | None = None
    """The inspection model's P(critical finding) the weight used, if any."""
    model_factor: float = 1.0
    """What the model risk multiplied the class weight by (1: not scored, or not used)."""


def sample(
    profiles: Iterable[EntityProfile],
    n: int,
    *,
    region: str | None = None,
    seed: int | str,
    ratios: Mapping[str, float] | None = None,
    now: datetime | None = None,
    config: ProfileConfig | None = None,
    use_model: bool = True,
    model_bounds: tuple[float, float] = MODEL_BOUNDS,
) -> list[Pick]:
    """Draw up to ``n`` enterprises (all of them if fewer are eligible), highest key first.

    ``region`` keeps only profiles whose region code starts with it (GB/T 2260 prefix). With
    ``now`` and ``config`` the classes are recomputed from the decayed score at ``now``;
    otherwise each profile's stored class is used. A class with ratio 0 is never drawn.
    ``use_model``: weigh by the inspection model's relative risk too (module docstring).
    """
    ratios = dict(DEFAULT_RATIOS if ratios is None else ratios)
    if n < 0 or any(w < 0 for w in ratios.values()):
        raise ConfigError("sample size and class ratios must not be negative")
    low, high = model_bounds
    if not 0 < low <= 1 <= high:
        raise ConfigError("model bounds must be 0 < low <= 1 <= high")
    pool = []
    for p in sorted(profiles, key=lambda p: p.uscc):
        if region and not (p.region_code or "").startswith(region):
            continue
        score = score_at(p, now, config) if now is not None and config is not None else p.score
        cls = classify(score, config) if now is not None and config is not None else p.risk_class
        if cls not in ratios:
            raise ConfigError(
                f"no sampling ratio for class {cls!r}; give one for each of {sorted(ratios)}"
            )
        pool.append((p, cls, score))
    risks = [p.model_risk for p, *_ in pool if use_model and p.model_risk is not None]
    mean = sum(risks) / len(risks) if risks else 0.0
    weighed = []
    for p, cls, score in pool:
        risk = p.model_risk if use_model and mean > 0 else None
        factor = 1.0 if risk is None else min(max(risk / mean, low), high)
        weighed.append((p, cls, score, ratios[cls] * factor, risk, factor))
    total = sum(w[3] for w in weighed)
    rng = random.Random(seed)
    keyed = []
    for p, cls, score, weight, risk, factor in weighed:
        u = rng.random()  # drawn for every profile, so one weight change never shifts the rest
        if weight > 0:
            keyed.append((u ** (1.0 / weight), p.uscc, cls, score, weight, risk, factor))
    keyed.sort(key=lambda k: (-k[0], k[1]))
    scope = f" in region {region}" if region else ""
    return [
        Pick(
            uscc=uscc,
            risk_class=cls,
            score=round(score, 4),
            weight=weight,
            share=weight / total,
            rank=rank,
            explanation=(
                f"class {cls} (risk score {score:.2f}) has sampling weight {ratios[cls]:g}"
                f"{_model_clause(risk, factor, mean, len(risks))}"
                f"{f' = {weight:.3g}' if risk is not None else ''}, "
                f"{weight / total:.2%} of the pool's total weight {total:g} across {len(pool)} "
                f"enterprises{scope}"
            ),
            model_risk=risk,
            model_factor=factor,
        )
        for rank, (_, uscc, cls, score, weight, risk, factor) in enumerate(keyed[:n], start=1)
    ]


def _model_clause(risk: float | None, factor: float, mean: float, scored: int) -> str:
    """What the model did to a class weight, for the explanation ("" when nothing).

    >>> _model_clause(0.4, 2.0, 0.2, 30)
    ', ×2 for the inspection model (a critical finding 40.0% likely, 2.00× the mean 20.0% of 30 scored enterprises)'
    >>> "9.00× the mean 10.0% of 30 scored enterprises; kept within ×4" in _model_clause(0.9, 4.0, 0.1, 30)
    True
    """
    if risk is None:
        return ""
    clipped = "" if abs(factor - risk / mean) < 1e-9 else f"; kept within ×{factor:g}"
    return (
        f", ×{factor:.3g} for the inspection model (a critical finding {risk:.1%} likely, "
        f"{risk / mean:.2f}× the mean {mean:.1%} of {scored} scored enterprises{clipped})"
    )
