"""One set of models: the default model per source, hot-loadable by name.

A worker holds one set per input partition (streams/model_state.py): each learns only from its
partition's events and is written in that partition's checkpoint, so what it learnt is
deterministic for a given input and survives a crash exactly. The registry keeps the previous
version of each (rollback) and an optional shadow candidate that scores alongside the live one.

Snapshots (:mod:`models.snapshot`) carry what a model learnt across restarts: ``snapshot`` turns
every live model into bytes tied to the input offsets, ``restore`` puts one back. A snapshot the
running code cannot continue is refused and logged, and that model starts fresh: losing warm-up
is recoverable, a worker that will not start is not.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from models import snapshot as snapshots
from models.errors import ModelError, PublicationRejected
from models.factories import factories
from models.inspections import counts_nearby
from models.publication import ModelPublication, ModelRegistry

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from config.settings import Settings
    from models.drift import DriftEvent
    from models.snapshot import SnapshotHeader
    from schemas.scores import ModelScore

SYSTEM = "riskloop"
SHIPPED_AT = datetime(2000, 1, 1, tzinfo=UTC)
"""``published_at`` of the shipped defaults: older than anything published on the topic."""

log = logging.getLogger(__name__)


class WorkerModels:
    """Source → model name routing over a ``ModelRegistry``."""

    def __init__(
        self, registry: ModelRegistry | None = None, *, nearby_apart: bool = False
    ) -> None:
        self.registry = registry or ModelRegistry()
        self.nearby_apart = nearby_apart
        """True in a worker: a complaint's place reaches the inspection models through
        :meth:`note_nearby` (every partition's copy, streams/nearby.py), so :meth:`process`
        counts only its USCC; False where one copy sees every complaint (tests, backtests)."""
        self.by_source: dict[str, list[str]] = {}
        self.changes = 0
        """Bumped by everything that changes a model's state, so an idle worker skips snapshots."""
        self.touched: dict[str, int] = {}
        """The same, per model: a checkpoint writes only the models that changed since the
        last (a partition's complaint classifier stays put while it sees no complaint)."""

    def _touch(self, name: str) -> None:
        self.changes += 1
        self.touched[name] = self.touched.get(name, 0) + 1

    def prepare(self) -> None:
        """Every live model's :meth:`SourceModel.prepare`: what a worker loads before its first
        event rather than on it."""
        for name in self.registry.names():
            self.registry.get(name).prepare()

    def add(self, pub: ModelPublication) -> None:
        """Make ``pub`` live, or refuse it (:class:`PublicationRejected`) and keep the live one.

        Publications are ordered by ``published_at``, because versions are free-form names:

        * the live version again is a no-op (a restart replays the control topic);
        * one published before the live one is refused: it is history a restart replays over
          a restored snapshot, and re-building it would throw the restored state away;
        * a version that was live before is refused unless ``rollback_of`` is set (what
          ``riskloop models rollback`` publishes): going back must be deliberate;
        * a rollback to the previous version swaps it back *with what it had learnt*.
        """
        if pub.shadow:
            if pub.name not in self.registry.names():
                raise PublicationRejected(
                    f"model {pub.name} has no live version to shadow; publish it live first"
                )
            self.registry.start_shadow(pub)  # scores alongside; its verdicts are only counted
            self._touch(pub.name)
            return
        if pub.name not in self.registry.names():
            self._activate(pub)
            return
        live = self.registry.publication(pub.name)
        if live.version == pub.version:
            return
        if pub.published_at <= live.published_at:
            raise PublicationRejected(
                f"model {pub.name} v{pub.version} was published before the live v{live.version}"
                " (a replayed older record); not activated"
            )
        if pub.rollback_of is None and pub.version in self.registry.history(pub.name):
            raise PublicationRejected(
                f"model {pub.name} v{pub.version} is older than the live v{live.version}; "
                f"use `riskloop models rollback {pub.name}` or a new version"
            )
        previous = self.registry.previous(pub.name)
        if pub.rollback_of is not None and previous is not None and previous.version == pub.version:
            self.registry.rollback(pub.name, pub)
            self._touch(pub.name)
            return
        self._activate(pub)

    def _activate(self, pub: ModelPublication) -> None:
        model = self.registry.activate(pub)
        self._touch(pub.name)
        names = self.by_source.setdefault(model.source, [])
        if pub.name not in names:
            names.append(pub.name)

    def process(self, source: str, record: Any, *, learn: bool = True) -> Iterator[ModelScore]:
        """Score-then-learn every model of ``source`` (live and shadow); with ``learn=False``
        score the live ones only (an event handled again after a pause, learnt the first time)."""
        if not learn:
            for name in self.by_source.get(source, []):
                yield self.registry.get(name).score_one(record)
            return
        if source == "complaints":
            located = not self.nearby_apart and counts_nearby(record.category)
            self._note(
                record.uscc,
                record.event_time,
                lat=record.lat if located else None,
                lon=record.lon if located else None,
            )
        for name in self.by_source.get(source, []):
            live, shadow = self.registry.process(name, record)
            self._touch(name)
            yield live
            if shadow is not None:
                yield shadow

    def note_nearby(self, at: datetime, lat: float, lon: float) -> None:
        """A located complaint near whatever premises are around it (its copy for this
        partition, streams/nearby.py): counted by every inspection model's cells."""
        self._note(None, at, lat=lat, lon=lon)

    def _note(
        self, uscc: str | None, at: datetime, *, lat: float | None, lon: float | None
    ) -> None:
        if not uscc and (lat is None or lon is None):
            return  # nothing to count: no USCC, no place
        for name in self.by_source.get("inspections", []):
            model = self.registry.get(name)
            if hasattr(model, "note_complaint"):
                model.note_complaint(uscc, at, lat=lat, lon=lon)
                self._touch(name)  # the inspection model's state changed: snapshot it

    def learn_label(self, name: str, features: dict[str, float], confirmed: bool) -> None:
        """A disposition's label for exactly the features the model alerted on."""
        if name in self.registry.names():
            self.registry.get(name).learn_label(features, confirmed)
            self._touch(name)

    def learn_example(self, name: str, record: Any) -> bool:
        """A labelled record for model ``name`` (a complaint with its corrected category):
        ``learn_one`` on the live model; False when no model of that name is live."""
        if name not in self.registry.names():
            return False
        self.registry.get(name).learn_one(record)
        self._touch(name)
        return True

    def observe_disposition(self, name: str, confirmed: bool) -> DriftEvent | None:
        """The same label through the live model's drift watch (a falling confirmed rate
        demotes it to shadow); the event, if one fired, also waits in :meth:`pop_drift_events`."""
        if name not in self.registry.names():
            return None
        event = self.registry.get(name).observe_disposition(confirmed)
        if event is not None:
            self._touch(name)  # a demotion is model state: the next snapshot keeps it
        return event

    def pop_drift_events(self) -> list[DriftEvent]:
        """Drift events of every live model since the last call (scores and dispositions)."""
        return [
            e for name in self.registry.names() for e in self.registry.get(name).pop_drift_events()
        ]

    def shadow_stats(self, name: str) -> dict[str, Any]:
        """Scored events and disagreements of the shadow candidate of ``name``."""
        return dict(self.registry.shadow_stats(name))

    def versions(self) -> dict[str, str]:
        """Live version of every model: what status shows and a publication is checked against."""
        return {name: self.registry.publication(name).version for name in self.registry.names()}

    def snapshot(
        self, offsets: Mapping[str, int], *, key: bytes, names: Iterable[str] | None = None
    ) -> dict[str, bytes]:
        """Every live model (or those of ``names``) as snapshot bytes, each tied to ``offsets``
        (next offset to read).

        Call it between two events (on the event loop): all models are then consistent with
        ``offsets``. Shadow candidates are not kept; they restart their trial after a restart.
        """
        live = self.registry.names()
        return {
            name: snapshots.take(self.registry.get(name), offsets, key=key)
            for name in (live if names is None else [n for n in names if n in live])
        }

    def restore(self, name: str, blob: bytes, *, key: bytes) -> SnapshotHeader | None:
        """Put model ``name`` back from a snapshot; its header, or None when it was refused.

        A snapshot of another factory or state version, one whose signature does not verify
        under ``key`` (never unpickled), or corrupt bytes, is logged and ignored:
        the fresh model stays. A snapshot of another published version than the live one
        (published while this worker was down, or before the control topic replays) brings
        that version back with it, so the control plane skips re-building it from scratch.
        The restored publication is stamped with the snapshot's ``taken_at``: records the
        control topic replays from before it are refused by :meth:`add` (they are in the
        snapshot already), later ones apply.
        """
        if name not in self.registry.names():
            log.warning("model snapshot of %s ignored: no live model of that name", name)
            return None
        pub = self.registry.publication(name)
        try:
            model, header = snapshots.restore(blob, expect_factory=pub.factory, key=key)
        except ModelError as exc:
            log.warning("model snapshot of %s refused, starting fresh: %s", name, exc)
            return None
        if header.version != pub.version:
            pub = ModelPublication(
                name=name,
                factory=pub.factory,
                params=model.params,
                version=header.version,
                published_by=SYSTEM,
                published_at=header.taken_at,
            )
        else:  # what the control topic published before the snapshot is already in it
            pub = pub.model_copy(update={"published_at": max(pub.published_at, header.taken_at)})
        model.name = name
        self.registry.activate(pub, model=model)
        self._touch(name)
        return header


def build_models(settings: Settings) -> WorkerModels:
    """One model per source from its default factory (the first registered for that source)."""
    models = WorkerModels()
    seen: set[str] = set()
    for factory in factories():
        if factory.source in seen:
            continue
        seen.add(factory.source)
        models.add(
            ModelPublication(
                name=factory.name,
                factory=factory.name,
                version=factory.default_version(),
                published_by=SYSTEM,
                published_at=SHIPPED_AT,
            )
        )
    return models
