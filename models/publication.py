"""Hot-loading, the pure part: model publications, validated builds, the live model registry.

A modeller publishes a :class:`ModelPublication` on ``control.models`` (compacted, one key per
model version). It names a *registered factory* and gives JSON parameters: never code, never pickled
state. Every worker ``build``s it (params validated by the factory's pydantic model, then one
probe event of the source scored), and only a build that passes replaces anything. The
:class:`ModelRegistry` keeps, per model name, the live model, the previous one (rollback) and
optionally a shadow candidate that scores alongside the live one and counts disagreements.

The Kafka side (publish, consume, status records) belongs to streams/; this module does no I/O.

>>> reg = ModelRegistry()
>>> v1 = ModelPublication(name="lift", factory="equipment-anomaly", version="1", published_by="li")
>>> reg.activate(v1).version, reg.activate(v1.model_copy(update={"version": "2"})).version
('1', '2')
>>> reg.rollback("lift").version
'1'
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from models.errors import ModelError, PublicationRejected
from models.factories import PROBES, create, get_factory
from schemas.hotload import Registry

if TYPE_CHECKING:
    from models.base import SourceModel
    from schemas.scores import ModelScore


class ModelPublication(BaseModel):
    """A model version on ``control.models``: which factory, which params, who published it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        min_length=1, description="model name; with version and content, the compacted topic's key"
    )
    factory: str
    params: dict[str, JsonValue] = Field(default_factory=dict)
    version: str = Field(min_length=1)
    published_by: str = Field(min_length=1)
    published_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    rollback_of: str | None = None
    shadow: bool = Field(
        default=False,
        description="score beside the live model of this name, raising nothing; disagreements counted",
    )

    @field_validator("params")
    @classmethod
    def _finite(cls, params: dict[str, JsonValue]) -> dict[str, JsonValue]:
        """JSON ``1e400`` reads as ``inf``; factories turn params into ints and spans, and an
        infinite one overflows deep in a model instead of being refused here."""
        stack: list[Any] = [params]
        while stack:  # no recursion: the nesting comes from the sender
            value = stack.pop()
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"params must be finite numbers, not {value}")
            if isinstance(value, dict):
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)
        return params

    @property
    def content_hash(self) -> str:
        """sha256 of what determines behaviour (factory, params, version), not of who/when."""
        blob = json.dumps(
            {"factory": self.factory, "params": self.params, "version": self.version},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


CLOCK_SKEW = timedelta(minutes=5)


def check_published_at(pub: ModelPublication, now: datetime) -> None:
    """Refuse a publication dated in the future (beyond clock skew between hosts).

    Publications are ordered by ``published_at`` (:meth:`WorkerModels.add`), so one dated
    9999 would pin itself: every later, real version would count as older and be refused.

    >>> pub = ModelPublication(name="m", factory="f", version="1", published_by="li",
    ...                        published_at=datetime(9999, 1, 1, tzinfo=UTC))
    >>> check_published_at(pub, datetime(2024, 1, 1, tzinfo=UTC))
    Traceback (most recent call last):
    models.errors.PublicationRejected: model m v1 is dated 9999-01-01T00:00:00+00:00, in the future
    """
    if pub.published_at > now + CLOCK_SKEW:
        raise PublicationRejected(
            f"model {pub.name} v{pub.version} is dated {pub.published_at.isoformat()}, in the future"
        )


def build(pub: ModelPublication) -> SourceModel:
    """A fresh model for a publication, or :class:`PublicationRejected` saying why not.

    Validation: the factory exists, the params fit its schema, and the model scores its
    source's probe event to a finite score without learning from it.
    """
    try:
        model = create(pub.factory, pub.params, name=pub.name, version=pub.version)
        source = get_factory(pub.factory).source
        probe = model.score_one(PROBES[source])
    except ModelError as exc:
        raise PublicationRejected(f"model {pub.name} v{pub.version} rejected: {exc}") from exc
    if not math.isfinite(probe.score):
        raise PublicationRejected(
            f"model {pub.name} v{pub.version} rejected: probe score is {probe.score}"
        )
    return model


class Live(NamedTuple):
    """A live model and what it was published as (version, hash, provenance)."""

    model: SourceModel
    pub: ModelPublication


def _live_version(live: Live) -> str:
    return live.pub.version


@dataclass
class _Shadow:
    """A candidate scoring beside the live model of its name, and how often they disagreed."""

    model: SourceModel
    pub: ModelPublication
    scored: int = 0
    disagreements: int = 0


class ModelRegistry:
    """Live models by name on the one hot-load :class:`~schemas.hotload.Registry`, with
    one-step rollback and shadow candidates.

    Swaps replace one reference, so a concurrent reader sees the old or the new model, never a
    half-built one. The replaced model is kept (with its learnt state) for rollback; a swap
    ends the name's shadow trial.
    """

    def __init__(self) -> None:
        self._live: Registry[Live] = Registry(version=_live_version, keep=1)
        self._shadows: dict[str, _Shadow] = {}
        self._seen: dict[str, list[str]] = {}

    def names(self) -> list[str]:
        """Names of the models registered, sorted for stable listings."""
        return sorted(self._live)

    def get(self, name: str) -> SourceModel:
        """The live model of ``name``: a reference taken once stays whole across a swap."""
        return self._slot(name).model

    def publication(self, name: str) -> ModelPublication:
        """What the live model of ``name`` was published as (version, hash, provenance)."""
        return self._slot(name).pub

    def _slot(self, name: str) -> Live:
        try:
            return self._live[name]
        except KeyError:
            raise ModelError(f"no live model named {name!r}; publish one first") from None

    def activate(self, pub: ModelPublication, model: SourceModel | None = None) -> SourceModel:
        """Build (unless given a restored model) and swap in; the old live becomes previous."""
        new = model if model is not None else build(pub)
        self._live.activate(pub.name, Live(new, pub))
        self._went_live(pub)
        return new

    def previous(self, name: str) -> ModelPublication | None:
        """The publication a rollback would bring back, if any."""
        self._slot(name)
        previous = self._live.previous(name)
        return previous.pub if previous is not None else None

    def history(self, name: str) -> list[str]:
        """Versions that have been live under ``name`` in this process, oldest first."""
        self._slot(name)
        return list(self._seen[name])

    def rollback(self, name: str, pub: ModelPublication | None = None) -> SourceModel:
        """Swap the previous version back in (with the state it had); the current is dropped.

        ``pub`` is the rollback publication that asked for it: it becomes the live publication,
        so its ``published_at`` (not the original one's) orders what is published after it.
        """
        self._slot(name)
        previous = self._live.previous(name)
        if previous is None:
            raise ModelError(f"model {name!r} has no previous version to roll back to")
        if pub is not None and pub.version != previous.pub.version:
            raise ModelError(
                f"model {name!r}: previous version is {previous.pub.version}, not {pub.version}"
            )
        live = previous if pub is None else Live(previous.model, pub)
        self._live.rollback(name, to=live)
        self._went_live(live.pub)
        return live.model

    def _went_live(self, pub: ModelPublication) -> None:
        """A new live version ends the shadow trial of its name and joins its lineage."""
        self._shadows.pop(pub.name, None)
        self._seen[pub.name] = [*self._seen.get(pub.name, []), pub.version]

    def start_shadow(self, pub: ModelPublication) -> SourceModel:
        """Run a candidate beside the live model of the same name; its verdicts are only counted."""
        self._slot(pub.name)
        candidate = build(pub)
        candidate.shadow = True
        self._shadows[pub.name] = _Shadow(candidate, pub)
        return candidate

    def promote_shadow(self, name: str) -> SourceModel:
        """Make the shadow candidate live, keeping what it learnt while shadowing."""
        self._slot(name)
        shadow = self._shadows.get(name)
        if shadow is None:
            raise ModelError(f"model {name!r} has no shadow candidate to promote")
        shadow.model.shadow = False
        return self.activate(shadow.pub, model=shadow.model)

    def shadow_stats(self, name: str) -> dict[str, Any]:
        """How often the candidate's alert differed from the live model's."""
        self._slot(name)
        shadow = self._shadows.get(name)
        n = shadow.scored if shadow else 0
        wrong = shadow.disagreements if shadow else 0
        return {
            "candidate": shadow.pub.version if shadow else None,
            "scored": n,
            "disagreements": wrong,
            "disagreement_rate": wrong / n if n else 0.0,
        }

    def process(self, name: str, event: Any) -> tuple[ModelScore, ModelScore | None]:
        """Score-then-learn on the live model and, if any, the shadow candidate."""
        live = self._slot(name).model.process(event)
        shadow = self._shadows.get(name)
        if shadow is None:
            return live, None
        score = shadow.model.process(event)
        shadow.scored += 1
        shadow.disagreements += int(score.alert != live.alert)
        return live, score

    def clone_live(self, name: str) -> SourceModel:
        """A deep copy of the live model (e.g. to snapshot it off the event loop)."""
        return copy.deepcopy(self._slot(name).model)
