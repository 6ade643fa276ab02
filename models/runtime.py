"""The models one worker runs: the default model per source, hot-loadable by name.

Models are per worker, not per partition: a River model learns from every event this worker
scores. The registry keeps the previous version of each (rollback) and an optional shadow
candidate that scores alongside the live one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from config.settings import Settings
from models.publication import ModelPublication, ModelRegistry
from models.registry import factories
from models.score import ModelScore

SYSTEM = "riskloop"


class WorkerModels:
    """Source → model name routing over a ``ModelRegistry``."""

    def __init__(self, registry: ModelRegistry | None = None) -> None:
        self.registry = registry or ModelRegistry()
        self.by_source: dict[str, list[str]] = {}

    def add(self, pub: ModelPublication) -> None:
        model = self.registry.activate(pub)
        names = self.by_source.setdefault(model.source, [])
        if pub.name not in names:
            names.append(pub.name)

    def process(self, source: str, record: Any) -> Iterator[ModelScore]:
        """Score-then-learn every model of ``source`` (live and shadow)."""
        if source == "complaints" and getattr(record, "uscc", None):
            for name in self.by_source.get("inspections", []):
                model = self.registry.get(name)
                if hasattr(model, "note_complaint"):
                    model.note_complaint(record.uscc, record.event_time)
        for name in self.by_source.get(source, []):
            live, shadow = self.registry.process(name, record)
            yield live
            if shadow is not None:
                yield shadow

    def learn_label(self, name: str, features: dict[str, float], confirmed: bool) -> None:
        """A disposition's label for exactly the features the model alerted on."""
        if name in self.registry.names():
            self.registry.get(name).learn_label(
                features, "confirmed" if confirmed else "false_alarm"
            )

    def versions(self) -> dict[str, str]:
        return {name: self.registry.publication(name).version for name in self.registry.names()}


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
            )
        )
    return models
