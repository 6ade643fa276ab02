"""The "双随机" draw: risk-weighted random selection of inspection objects, reproducibly.

Objects are drawn without replacement with probability proportional to a weight that depends on
their class (``ratios``, A low … D high), by Efraimidis–Spirakis: each object gets the key
``u^(1/w)`` with ``u`` uniform in (0, 1), and the ``n`` largest keys win. The random numbers come
from ``random.Random(seed)`` in USCC order, so the same seed and the same profiles give the same
list however they were passed in — the draw can be re-run and audited (一公开: it is published).

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


def sample(
    profiles: Iterable[EntityProfile],
    n: int,
    *,
    region: str | None = None,
    seed: int | str,
    ratios: Mapping[str, float] | None = None,
    now: datetime | None = None,
    config: ProfileConfig | None = None,
) -> list[Pick]:
    """Draw up to ``n`` enterprises (all of them if fewer are eligible), highest key first.

    ``region`` keeps only profiles whose region code starts with it (GB/T 2260 prefix). With
    ``now`` and ``config`` the classes are recomputed from the decayed score at ``now``;
    otherwise each profile's stored class is used. A class with ratio 0 is never drawn.
    """
    ratios = dict(DEFAULT_RATIOS if ratios is None else ratios)
    if n < 0 or any(w < 0 for w in ratios.values()):
        raise ConfigError("sample size and class ratios must not be negative")
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
        pool.append((p, cls, score, ratios[cls]))
    total = sum(w for *_, w in pool)
    rng = random.Random(seed)
    keyed = []
    for p, cls, score, weight in pool:
        u = rng.random()  # drawn for every profile, so one weight change never shifts the rest
        if weight > 0:
            keyed.append((u ** (1.0 / weight), p.uscc, cls, score, weight))
    keyed.sort(key=lambda k: (-k[0], k[1]))
    return [
        Pick(
            uscc=uscc,
            risk_class=cls,
            score=round(score, 4),
            weight=weight,
            share=weight / total,
            rank=rank,
            explanation=(
                f"class {cls} (risk score {score:.2f}) has sampling weight {weight:g}, "
                f"{weight / total:.2%} of the pool's total weight {total:g} across {len(pool)} "
                f"enterprises{f' in region {region}' if region else ''}"
            ),
        )
        for rank, (_, uscc, cls, score, weight) in enumerate(keyed[:n], start=1)
    ]
