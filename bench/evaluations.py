"""The four evaluations behind ``riskloop models evaluate``: one function per dataset.

Each reads every file of the documented layout under ``data_dir`` (models/EVALUATION.md), so
unseen data in the same layout is evaluated by the same command. With ``train_dir`` the model
first learns that directory's files (scored, as a worker would, but not reported), then meets
``data_dir`` prequentially: how a model that has run for a year meets next month's data.

Each returns result rows (one per detector or variant, a flat dict of metric → value; the
model's own row first, then references as their own protocols define them) and the trace of
the model, for the plot. Models come from the registry by factory name and JSON params,
exactly as a publication would build them.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any

from bench import datasets
from models import presets
from models.errors import ModelError
from models.evaluation import (
    ThreeSigma,
    Trace,
    alerts_outside_windows,
    binary_metrics,
    detection_delays,
    episodes_outside_windows,
    macro_f1,
    prequential,
    top_half_share,
    windows,
)
from models.factories import create

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from pathlib import Path

    from models.base import SourceModel

Row = dict[str, Any]
SKAB_SKIP = 400
"""SKAB's protocol: the first 400 rows of each run are its training part (no alerts; scored, as
SKAB scores every row, and left out of the `*_after_400` reading)."""

NAB_DEFAULTS: dict[str, Any] = dict(presets.NAB.params)
"""NAB's settings (models/presets.py ``NAB``, what a modeller publishes as ``--preset nab``)."""

SKAB_DEFAULTS: dict[str, Any] = dict(presets.SKAB.params)
"""SKAB's settings (models/presets.py ``SKAB``, what a modeller publishes as ``--preset skab``)."""

ZH_REFERENCE = {"longest": 2, "subject_weight": 1.0, "word_weight": 0.0, "prior_weight": 0.0}
"""The issue's reference: a plain online ComplementNB on character 1–2-grams, no priors."""


def _none(path: Path | None, what: str) -> None:
    if path is not None and not path.is_dir():
        raise ModelError(f"{what} {path} is not a directory")


def _require(files: list[Path], data_dir: Path, layout: str) -> list[Path]:
    if not files:
        raise ModelError(f"no {layout} in {data_dir} (layout: models/EVALUATION.md)")
    return files


def _learnt(
    factory: str,
    params: Mapping[str, Any],
    train_dir: Path | None,
    data: tuple[Callable[[Path], list[Path]], Callable[[Path], Iterable[tuple[Any, Any]]]],
    replay: Mapping[str, Any],
) -> SourceModel:
    """A model built as a publication would build it, having learnt every file of
    ``train_dir`` (``data``: how to find the files, how to read one; ``replay``: the
    prequential loop's options): scored as a worker would, not reported."""
    _none(train_dir, "--train-dir")
    model = create(factory, params)
    files, read = data
    for path in files(train_dir) if train_dir else []:
        prequential(model, read(path), **replay)
    return model


def skab(
    data_dir: Path = datasets.DEFAULT_DATA_DIR,
    *,
    factory: str = "equipment-anomaly",
    params: Mapping[str, Any] | None = None,
    label_delay: int = 0,
    feedback: bool = False,
    files: int | None = None,
    train_dir: Path | None = None,
) -> tuple[list[Row], Trace]:
    """One model over every SKAB run in turn (each run a unit); 3-sigma per run beside it.

    Scored as SKAB's own code scores (waico/SKAB ``core/metrics.py`` ``chp_score(...,
    metric="binary")`` over each run's whole prediction series): every row of every run,
    the first 400 — each run's training part, where no detector here alerts — included. The
    ``*_after_400`` figures are the stricter reading, rows after the first 400 only (how this
    evaluation scored until 2026-12-07). The 3-sigma baseline is the SKAB protocol's: fitted
    on each run's own first 400 rows, scored like the model.
    """
    replay = {"label_delay": label_delay, "feedback": feedback}
    settings = {**SKAB_DEFAULTS, **(params or {})}
    model = _learnt(factory, settings, train_dir, (datasets.skab_files, datasets.skab), replay)
    paths = _require(datasets.skab_files(data_dir), data_dir, "equipment/skab/*.csv")[:files]
    trace, after = Trace(), Trace()
    base_alerts: list[bool] = []
    base_after: list[bool] = []
    delays: list[dict[str, float]] = []
    for path in paths:
        events = list(datasets.skab(path))
        run = prequential(model, events, label_delay=label_delay, feedback=feedback)
        trace.extend(run)
        after.extend(run, skip=SKAB_SKIP)
        baseline = ThreeSigma([e["metrics"] for e, _ in events[:SKAB_SKIP]])
        alerts = [baseline.alert(e["metrics"]) for e, _ in events]
        base_alerts.extend(alerts)
        base_after.extend(alerts[SKAB_SKIP:])
        delays.append(detection_delays(run.alerts, run.truth))
    name = f"{factory}{' +feedback' if feedback else ''}"
    ours = {"detector": name, "runs": float(len(paths))}
    ours |= binary_metrics(trace.alerts, trace.truth) | _pool(delays)
    ours |= _after_training(binary_metrics(after.alerts, after.truth))
    base = {"detector": "3-sigma per run (first 400 rows)", "runs": float(len(paths))}
    base |= binary_metrics(base_alerts, trace.truth)
    base |= _after_training(binary_metrics(base_after, after.truth))
    return [ours, base], trace


def _after_training(metrics: Row) -> Row:
    """The stricter reading beside SKAB's own: only rows after each run's first 400."""
    keys = ("f1", "false_alarm_rate", "missed_alarm_rate")
    return {f"{key}_after_400": metrics[key] for key in keys}


def _pool(per_run: list[dict[str, float]]) -> dict[str, float]:
    detected = [d for d in per_run if d["windows_detected"]]
    return {
        "windows": sum(d["windows"] for d in per_run),
        "windows_detected": sum(d["windows_detected"] for d in per_run),
        "mean_delay": sum(d["mean_delay"] for d in detected) / len(detected) if detected else 0.0,
    }


def nab(
    data_dir: Path = datasets.DEFAULT_DATA_DIR,
    *,
    factory: str = "equipment-anomaly",
    params: Mapping[str, Any] | None = None,
    label_delay: int = 0,
    feedback: bool = False,
    train_dir: Path | None = None,
) -> tuple[list[Row], Trace]:
    """Every NAB file with its windows, each a unit of one model: windows found, delay in hours.

    Scored as NAB's protocol scores: from the end of its probationary period
    (:func:`nab_probation`); a window that straddles it counts from its first scored row. One
    row per file (the model's settings are the same for all, in time), then the total.
    """
    replay = {"label_delay": label_delay, "feedback": feedback}
    settings = {**NAB_DEFAULTS, **(params or {})}
    model = _learnt(factory, settings, train_dir, (datasets.nab_files, datasets.nab), replay)
    paths = _require(datasets.nab_files(data_dir), data_dir, "equipment/nab/*.csv + .windows.json")
    rows: list[Row] = []
    trace = Trace()
    for path in paths:
        row, run = _nab_row(model, path, factory, replay)
        rows.append(row)
        trace.extend(run)
    if len(rows) > 1:
        rows.insert(0, _nab_total(factory, rows))
    return rows, trace


def nab_file(path: Path, *, factory: str = "equipment-anomaly", params: Mapping[str, Any]) -> Row:
    """One NAB file evaluated alone by a fresh model built with ``params`` over
    :data:`NAB_DEFAULTS`: its row as :func:`nab` gives it. What a search over settings
    measures (bench/model_search.py), so that no file's readings reach another's model."""
    model = create(factory, {**NAB_DEFAULTS, **params})
    row, _ = _nab_row(model, path, factory, {"label_delay": 0, "feedback": False})
    return row


def _nab_row(
    model: SourceModel, path: Path, factory: str, replay: Mapping[str, Any]
) -> tuple[Row, Trace]:
    """``path`` replayed through ``model`` (each file its own unit) and scored after NAB's
    probationary period: the file's result row and its trace."""
    events = list(datasets.nab(path))
    run = prequential(model, events, **replay)
    skip = nab_probation(len(events))
    alerts, truth = run.alerts[skip:], run.truth[skip:]
    times = [e["event_time"] for e, _ in events[skip:]]
    delays = detection_delays(alerts, truth)
    hours = _delay_hours(alerts, truth, times)
    row = {
        "detector": f"{factory} · {datasets.run_name(path, 'nab')}",
        "probation_rows": float(skip),
        **binary_metrics(alerts, truth),
        "windows": delays["windows"],
        "windows_detected": delays["windows_detected"],
        "mean_delay_h": sum(hours) / len(hours) if hours else float("nan"),
        "max_delay_h": max(hours) if hours else float("nan"),
        "alerts_outside_windows": alerts_outside_windows(alerts, truth),
        "false_alarm_episodes": episodes_outside_windows(alerts, truth, times),
    }
    return row, run


def nab_probation(rows: int) -> int:
    """NAB's probationary period in rows: min(⌊15% of the file⌋, 750) (numenta/NAB
    ``nab/sweeper.py``). NAB scores nothing there: no false positive counts, and a window is
    scored on its rows after it only, so this evaluation does the same.

    >>> nab_probation(7267), nab_probation(4032), nab_probation(100)
    (750, 604, 15)
    """
    return int(min(math.floor(0.15 * rows), 750))


def _delay_hours(alerts: list[bool], truth: list[Any], times: list[Any]) -> list[float]:
    """Hours from each window's first row to its first alert (found windows only)."""
    out = []
    for start, end in windows(truth):
        first = next((i for i in range(start, end) if alerts[i]), None)
        if first is not None:
            out.append((times[first] - times[start]).total_seconds() / 3600.0)
    return out


def _nab_total(factory: str, rows: list[Row]) -> Row:
    return {
        "detector": f"{factory} (all files)",
        "files": float(len(rows)),
        "windows": sum(r["windows"] for r in rows),
        "windows_detected": sum(r["windows_detected"] for r in rows),
        "false_alarm_episodes": sum(r["false_alarm_episodes"] for r in rows),
        "max_false_alarm_episodes_per_file": max(r["false_alarm_episodes"] for r in rows),
    }


def _chicago_stream(data_dir: Path) -> Iterator[tuple[str, dict[str, Any], int]]:
    """Inspections and 311 sanitation complaints of a directory, merged in time order."""
    inspections = (("inspections", e, y) for e, y in datasets.chicago(data_dir))
    complaints = (("complaints", e, 0) for e in datasets.sanitation(data_dir))
    yield from heapq.merge(complaints, inspections, key=lambda item: item[1]["event_time"])


def _chicago_replay(
    model: SourceModel, data_dir: Path, label_delay: int
) -> tuple[list[dict[str, Any]], Trace]:
    """Complaints go to ``note_complaint`` (as the worker's model runtime does), inspections
    through the prequential loop."""
    note = getattr(model, "note_complaint", None)
    pending: list[tuple[dict[str, Any], int]] = []
    trace = Trace()
    events = []

    def flush() -> None:
        if pending:
            trace.extend(prequential(model, pending, label_delay=label_delay))
            pending.clear()

    for source, event, truth in _chicago_stream(data_dir):
        if source == "complaints":
            flush()
            if note is not None:
                note(event.get("uscc"), event["event_time"], lat=event["lat"], lon=event["lon"])
        else:
            pending.append((event, truth))
            events.append(event)
    flush()
    return events, trace


def chicago(
    data_dir: Path = datasets.DEFAULT_DATA_DIR,
    *,
    factory: str = "inspection-risk",
    params: Mapping[str, Any] | None = None,
    label_delay: int = 0,
    train_dir: Path | None = None,
) -> tuple[list[Row], Trace]:
    """Canvass inspections (and 311 sanitation complaints) in date order; the pilot metric.

    The evaluated population is the inspections of a model table in ``inspections/`` (the
    pilot's: the shared train split) when there is one, else every inspection of ``data_dir``.
    A folder with a model table and no inspections file reads the table as the inspections
    (:func:`bench.datasets.chicago_inspection_files`).
    """
    _none(train_dir, "--train-dir")
    model = create(factory, params)
    if train_dir is not None:
        _chicago_replay(model, train_dir, label_delay)
    _require(
        datasets.chicago_inspection_files(data_dir),
        data_dir,
        "inspections/*.csv[.gz] with the Chicago food-inspection (or model-table) columns",
    )
    population = datasets.chicago_population(data_dir)
    events, trace = _chicago_replay(model, data_dir, label_delay)
    keep = [i for i, e in enumerate(trace.event_ids) if population is None or e in population]
    scores = [trace.scores[i] for i in keep]
    truth = [trace.truth[i] for i in keep]
    row = {
        "detector": factory,
        "events": float(len(events)),
        "evaluated": float(len(keep)),
        "top_half_share": top_half_share(scores, truth),
        "base_rate": sum(truth) / len(truth) if truth else 0.0,
        **{
            k: v
            for k, v in binary_metrics([trace.alerts[i] for i in keep], truth).items()
            if k != "events"
        },
    }
    return [row, {"detector": "random order", "top_half_share": 0.5}], trace


def zh_messages(
    data_dir: Path = datasets.DEFAULT_DATA_DIR,
    *,
    factory: str = "complaint-classifier",
    params: Mapping[str, Any] | None = None,
    label_delay: int = 0,
    train_dir: Path | None = None,
) -> tuple[list[Row], Trace]:
    """Category classifier, progressive macro-F1 and accuracy; the issue's reference beside it.

    With ``train_dir`` every model (ours and the reference) learns those messages' categories
    first, then scores ``data_dir``'s before learning each.
    """
    _none(train_dir, "--train-dir")
    messages = list(datasets.zh_messages(data_dir))
    if not messages:
        _require([], data_dir, "complaints/*.csv with the government-message columns")
    learnt = list(datasets.zh_messages(train_dir)) if train_dir else []
    rows: list[Row] = []
    trace = Trace()
    variants = [("", dict(params or {}))]
    if factory == "complaint-classifier" and not params:
        variants.append((" reference: ComplementNB, char 1–2-grams", ZH_REFERENCE))
    for suffix, variant in variants:
        model = create(factory, variant)
        for event, _ in learnt:
            model.learn_one(event)
        run = prequential(model, messages, label_delay=label_delay)
        pairs = list(zip(run.truth, run.predicted, strict=True))
        half = pairs[len(pairs) // 2 :]
        rows.append(
            {
                "detector": factory + suffix,
                "events": float(len(pairs)),
                "learnt_first": float(len(learnt)),
                "macro_f1": macro_f1(run.truth, run.predicted),
                "accuracy": sum(y == p for y, p in pairs) / len(pairs),
                "accuracy_2nd_half": sum(y == p for y, p in half) / len(half),
            }
        )
        if not trace.scores:
            trace = run
    return rows, trace


DATASETS = {"skab": skab, "nab": nab, "chicago": chicago, "zh-messages": zh_messages}
