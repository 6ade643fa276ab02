"""The one small protocol every RiskLoop model keeps, and the base class that implements it.

Why a protocol of our own on top of River's: a Faust agent, the evaluation command and the hot-load
registry all need the same five things from a model, whatever River pipeline sits inside —
``score_one(event) -> ModelScore``, ``learn_one(event)``, ``learn_label(features, label)``,
``version`` and ``warmed_up``. ``process`` does score-then-learn in that order, so an event is
never scored by a model that has already learnt from it (River's progressive-validation rule).

Events arrive as the pydantic records of :mod:`schemas.records` or as their dicts; dicts are
validated into records first, so a model only ever reads the shared contract.
"""

from __future__ import annotations

import hashlib
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from models import hyperparameters
from models.drift import DriftEvent, DriftMonitor
from models.errors import ModelError
from schemas.labels import Label, confirmed
from schemas.records import Level
from schemas.scores import ModelScore

if TYPE_CHECKING:
    from pydantic import BaseModel


def params_hash(params: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a parameter set (sorted keys): same params, same hash."""
    blob = json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@runtime_checkable
class OnlineModel(Protocol):
    """What the stream agents, the evaluator and the registry rely on."""

    name: str
    source: str
    version: str
    content_hash: str
    shadow: bool

    @property
    def warmed_up(self) -> bool:
        """Whether the model has seen enough to alert; before that its scores only inform."""

    def score_one(self, event: Any) -> ModelScore:
        """Score without learning, so a replay or a shadow comparison changes no state."""

    def learn_one(self, event: Any) -> None:
        """Learn from one event (its own label, if the source carries one) without scoring it."""

    def learn_label(self, features: Mapping[str, float], label: Label) -> None:
        """Learn a label that came later (a disposition) for the features an alert carried;
        one that teaches nothing (``schemas.labels``: not found) is ignored."""

    def process(self, event: Any) -> ModelScore:
        """Score, then learn: the one call an agent makes per event."""

    def observe_disposition(self, label: Label) -> DriftEvent | None:
        """Track how often alerts are confirmed; a fall may demote the model to shadow."""

    def pop_drift_events(self) -> list[DriftEvent]:
        """Drift events since the last call; each is returned once, for the agent to publish."""


class SourceModel(ABC):
    """Base of the four source models: record coercion, score-then-learn, drift, provenance.

    Subclasses set ``record_type`` and ``source`` and implement ``_score``, ``learn_one`` and
    ``learn_label``. ``factory`` and ``state_version`` identify the state layout for snapshots;
    ``version`` is the published version an alert records. A subclass declares its
    hyperparameters once, as the keyword parameters of its ``__init__`` (River-style, with their
    ranges: :mod:`models.hyperparameters`), and hands them on as ``params=locals()``.
    """

    record_type: ClassVar[type[BaseModel]]
    source: ClassVar[str]
    factory: ClassVar[str]
    state_version: ClassVar[str]
    supervised: ClassVar[bool] = False
    """True when ``learn_one`` reads the event's own label (the evaluator delays it then)."""

    def __init__(
        self,
        *,
        name: str,
        version: str,
        params: Mapping[str, Any],
        demote_on_drift: bool = True,
        drift_delta: float = 0.002,
    ) -> None:
        self.name = name
        self.version = version
        self.params = hyperparameters.checked(type(self), params)
        self.content_hash = params_hash({"factory": self.factory, "params": self.params})
        self.shadow = False
        self.demote_on_drift = demote_on_drift
        self.drift = DriftMonitor(model=name, delta=drift_delta)
        self._drift_events: list[DriftEvent] = []

    # ------------------------------------------------------------------ protocol

    def prepare(self) -> None:
        """Load now what the first event would otherwise load on its way (a worker calls it
        at start, before it reads an event). Nothing here; a model that loads something on
        first use says what."""
        return

    @property
    @abstractmethod
    def warmed_up(self) -> bool:
        """True once the model has seen enough to be allowed to alert."""

    def score_one(self, event: Any) -> ModelScore:
        """Score one event without learning from it (pure with respect to model state)."""
        return self._score(self.coerce(event))

    @abstractmethod
    def learn_one(self, event: Any) -> None:
        """Learn from one event (its own label, if the source carries one)."""

    @abstractmethod
    def learn_label(self, features: Mapping[str, float], label: Label) -> None:
        """Learn a label given later for exactly ``features`` (an alert's ``ModelScore.features``);
        a label that teaches nothing (``schemas.labels.confirmed`` is None) changes nothing."""

    def process(self, event: Any) -> ModelScore:
        """Score, then learn: the one call an agent makes per event. Drift events queue up."""
        record = self.coerce(event)
        result = self._score(record)
        self.learn_one(record)
        drift = self.drift.update_score(result.score)
        if drift is not None:
            self._drift_events.append(drift)
        return result

    def observe_disposition(self, label: Label) -> DriftEvent | None:
        """Track the confirmed rate of this model's alerts; a fall can demote it to shadow."""
        verdict = confirmed(label)
        if verdict is None:
            return None
        drift = self.drift.update_disposition(verdict)
        if drift is None:
            return None
        if drift.action == "demote" and self.demote_on_drift:
            self.shadow = True
        self._drift_events.append(drift)
        return drift

    def pop_drift_events(self) -> list[DriftEvent]:
        """Drift events since the last call, for the agent to publish as operator events."""
        events, self._drift_events = self._drift_events, []
        return events

    # ------------------------------------------------------------------ helpers

    def coerce(self, event: Any) -> Any:
        """The event as this model's record type; a dict is validated into one."""
        if isinstance(event, self.record_type):
            return event
        if isinstance(event, Mapping):
            return self.record_type.model_validate(dict(event))
        raise ModelError(
            f"model {self.name!r} reads {self.record_type.__name__} records (or their dicts), "
            f"got {type(event).__name__}"
        )

    @abstractmethod
    def _score(self, record: Any) -> ModelScore:
        """Score a validated record."""

    def _verdict(
        self,
        record: Any,
        *,
        entity: str,
        score: float,
        threshold: float,
        features: Mapping[str, float],
        label: str | None = None,
        uscc: str | None = None,
        warm: bool | None = None,
        decided: bool | None = None,
    ) -> ModelScore:
        """Build the ModelScore; alerting needs warm-up (``warm``) and a finite threshold.

        ``decided``: the model's own incident (models/incident.py) decides instead of the
        score alone: a held incident alerts below the threshold, and a score above it that has
        not yet lasted ``raise_seconds`` does not alert.
        """
        warm = self.warmed_up if warm is None else warm
        above = math.isfinite(threshold) and score > threshold
        alert = warm and (above if decided is None else decided)
        return ModelScore(
            model=self.name,
            version=self.version,
            content_hash=self.content_hash,
            source=self.source,
            entity=entity,
            uscc=uscc,
            region_code=getattr(record, "region_code", None),
            event_id=record.event_id,
            event_time=record.event_time,
            score=float(score),
            threshold=float(threshold) if math.isfinite(threshold) else 0.0,
            alert=alert,
            warmed_up=warm,
            level=_level(score, threshold) if alert else Level.blue,
            mode="shadow" if self.shadow else "active",
            features=dict(features),
            label=label,
        )


def _level(score: float, threshold: float) -> Level:
    """Grade an alert by how far it clears its threshold: 1× blue … ≥4× red.

    >>> _level(2.5, 1.0).value, _level(5.0, 1.0).value
    ('orange', 'red')
    """
    ratio = score / threshold if threshold > 0 else float("inf")
    if ratio >= 4:
        return Level.red
    if ratio >= 2:
        return Level.orange
    if ratio >= 1.5:
        return Level.yellow
    return Level.blue
