"""Drift watch on each model: its score stream and the confirmed rate of its alerts.

Two signals, two meanings. A shift in the *scores* says the world (or the sensors) changed: the
operator should look, but the model may be right. A fall in the *confirmed rate* of dispositions
says the model's alerts stopped being true: that model should stop creating tasks, so it is
demoted to shadow (a flag the caller reads; its scores still flow to ``alerts.shadow``).
ADWIN is used for both because it needs no window length and gives a principled cut.

>>> m = DriftMonitor(model="m", grace=10)
>>> events = [m.update_disposition(i < 200) for i in range(400)]
>>> [e.action for e in events if e][:1]
['demote']
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from river import drift


class DriftEvent(BaseModel):
    """An operator event: a model's scores or its confirmed rate changed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    signal: Literal["score", "confirmed_rate"]
    action: Literal["review", "demote"]
    seen: int = Field(description="observations of this signal so far")
    mean_before: float
    mean_after: float
    detected_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    message: str


class DriftMonitor:
    """ADWIN over scores and over confirmed (1) / false (0) dispositions."""

    def __init__(self, model: str, delta: float = 0.002, grace: int = 30) -> None:
        self.model = model
        self.delta = delta
        self.grace = grace
        self._scores = drift.ADWIN(delta=delta)
        self._confirmed = drift.ADWIN(delta=delta)
        self._n_scores = 0
        self._n_confirmed = 0

    def update_score(self, score: float) -> DriftEvent | None:
        """Feed one score; a detected change gives a ``review`` event."""
        self._n_scores += 1
        before = self._scores.estimation
        self._scores.update(score)
        if self._n_scores < self.grace or not self._scores.drift_detected:
            return None
        after = self._scores.estimation
        return DriftEvent(
            model=self.model,
            signal="score",
            action="review",
            seen=self._n_scores,
            mean_before=before,
            mean_after=after,
            message=(
                f"scores of model {self.model} shifted (mean {before:.3g} → {after:.3g}); "
                "check the source for a sensor or process change"
            ),
        )

    def update_disposition(self, confirmed: bool) -> DriftEvent | None:
        """Feed one disposition of this model's alerts; a fall in the confirmed rate demotes."""
        self._n_confirmed += 1
        before = self._confirmed.estimation
        self._confirmed.update(1.0 if confirmed else 0.0)
        if self._n_confirmed < self.grace or not self._confirmed.drift_detected:
            return None
        after = self._confirmed.estimation
        fell = after < before
        return DriftEvent(
            model=self.model,
            signal="confirmed_rate",
            action="demote" if fell else "review",
            seen=self._n_confirmed,
            mean_before=before,
            mean_after=after,
            message=(
                f"confirmed rate of model {self.model}'s alerts went {before:.0%} → {after:.0%}"
                + ("; demoted to shadow until a modeller re-publishes it" if fell else "")
            ),
        )
