"""Tested settings of a model factory, by name: what the figures of models/EVALUATION.md measure.

A worker starts each source's model with its factory's own defaults (``models.worker_models``),
which suit no data frequency in particular. The settings that ``riskloop models evaluate``
reports were each chosen on one kind of data (EVALUATION.md's protocol says which part); a
modeller who runs plant of that kind publishes one by name instead of copying its JSON:
``riskloop models publish equipment-anomaly --preset skab --version skab-1 --shadow``.
``bench/evaluations.py`` reads the same entries, so what is published is what was measured.

>>> sorted(PRESETS)
['nab', 'skab']
>>> preset("skab").factory, preset("skab").params["span_seconds"]
('equipment-anomaly', 5.0)
>>> preset("elevator")
Traceback (most recent call last):
...
models.errors.UnknownPreset: no preset 'elevator'; presets: nab, skab
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from models.errors import UnknownPreset

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class Preset:
    """One tested setting: the factory it builds and the params it publishes."""

    name: str
    factory: str
    params: Mapping[str, Any]
    chosen_on: str
    """What data it was chosen on, for ``riskloop models list``."""


SKAB = Preset(
    "skab",
    "equipment-anomaly",
    MappingProxyType(
        {
            "warmup": 400,
            "span_seconds": 5.0,
            "q": 0.99,
            "hold_seconds": 10.0,
            "release_drop": 1.0,
            "release_ceiling": 3.0,
            "rebaseline_seconds": 120.0,
        }
    ),
    "SKAB's tuning runs (a pump bench read every second)",
)
"""SKAB's settings, chosen on the tuning runs only (odd-numbered, models/EVALUATION.md): 400
readings learnt first (SKAB's training part), a 5-second EWMA (the bench samples at ~1 Hz), the
99th percentile of normal scores, incidents held 10 s, ended when the score falls a decade below
the fault's level (the bench rarely returns to its first state after a fault) — unless the score
is still over 10^3 times the threshold, a fault settling from its onset spike rather than ending
(2026-12-07) — and re-fitted over the next 120 s (models/incident.py)."""

NAB = Preset(
    "nab",
    "equipment-anomaly",
    MappingProxyType(
        {"warmup": 0, "warmup_seconds": 2 * 86400.0, "span_seconds": 3 * 3600.0, "q": 0.999}
    ),
    "in time, not tuned on the labelled NAB file (plant sensors read hourly or every 5 minutes)",
)
"""One setting for every NAB file, in time (not readings): 2 days of warm-up, a 3-hour EWMA.

Not tuned on the labelled file. The warm-up ends inside NAB's own probationary period on a
5-minute file of NAB's most common length (4,032 rows: 604 rows, 50 h), so every window NAB scores
can be found; it was 14 days until 2026-12-07, when nothing on the shared or synthetic files moved
(models/EVALUATION.md, NAB's fifth round). A 3-hour span smooths sensor noise without hiding a
day-long excursion.
"""

PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in (SKAB, NAB)})


def preset(name: str) -> Preset:
    """The preset called ``name``, or :class:`UnknownPreset` naming the ones there are."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPreset(f"no preset {name!r}; presets: {', '.join(sorted(PRESETS))}") from None


def resolve(
    factory: str | None, preset_name: str | None, params: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The factory and params a publication gets from ``--factory``, ``--preset`` and
    ``--params``: the preset's params with ``params`` laid over them (a tested setting with one
    thing changed stays one command); a factory other than the preset's is refused.

    >>> resolve(None, "nab", {"q": 0.99})[1]["q"], resolve("equipment-anomaly", None, {})
    (0.99, ('equipment-anomaly', {}))
    """
    if preset_name is None:
        if factory is None:
            raise UnknownPreset("neither a factory nor a preset named: name one of them")
        return factory, dict(params)
    found = preset(preset_name)
    if factory is not None and factory != found.factory:
        raise UnknownPreset(
            f"preset {found.name!r} is for factory {found.factory!r}, not {factory!r}"
        )
    return found.factory, {**found.params, **params}
