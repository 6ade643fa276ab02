"""The four evaluations behind ``riskloop models evaluate``: one function per dataset.

Each returns result rows (one per detector or variant, a flat dict of metric → value) and the
trace of the registered model, for the plot. Models come from the registry by factory name and
JSON params, exactly as a publication would build them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from models import datasets
from models.evaluation import (
    ThreeSigma,
    Trace,
    alerts_outside_windows,
    binary_metrics,
    detection_delays,
    macro_f1,
    prequential,
    top_half_share,
)
from models.registry import create

Row = dict[str, Any]
SKAB_SKIP = 400
"""SKAB's protocol: the first 400 rows of each run are its training part, scored from row 400."""


def skab(
    data_dir: Path = datasets.DEFAULT_DATA_DIR,
    *,
    factory: str = "equipment-anomaly",
    params: Mapping[str, Any] | None = None,
    label_delay: int = 0,
    feedback: bool = False,
    files: int | None = None,
) -> tuple[list[Row], Trace]:
    """One model over all SKAB runs in turn (each run a unit); 3-sigma baseline beside it."""
    paths = datasets.skab_files(data_dir)[:files]
    model = create(factory, {"warmup": SKAB_SKIP, **(params or {})})
    baseline = ThreeSigma(datasets.skab_rows(data_dir / "equipment" / "skab" / "anomaly-free.csv"))
    trace, scored = Trace(), Trace()
    base_alerts: list[bool] = []
    delays: list[dict[str, float]] = []
    for path in paths:
        events = list(datasets.skab(path))
        run = prequential(model, events, label_delay=label_delay, feedback=feedback)
        trace.extend(run)
        scored.extend(run, skip=SKAB_SKIP)
        base_alerts.extend(baseline.alert(e["metrics"]) for e, _ in events[SKAB_SKIP:])
        delays.append(detection_delays(run.alerts, run.truth))
    truth = scored.truth
    name = f"{factory}{' +feedback' if feedback else ''}"
    ours = {"detector": name, **binary_metrics(scored.alerts, truth), **_pool(delays)}
    base = {"detector": "static 3-sigma (anomaly-free.csv)", **binary_metrics(base_alerts, truth)}
    return [ours, base], trace


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
) -> tuple[list[Row], Trace]:
    """NAB ambient temperature: windows detected and delay, alerts outside the windows."""
    defaults = {"warmup": 24 * 14, "span": 3, "q": 0.999}
    model = create(factory, {**defaults, **(params or {})})
    events = list(datasets.nab_ambient(data_dir))
    trace = prequential(model, events, label_delay=label_delay, feedback=feedback)
    row = {
        "detector": factory,
        **binary_metrics(trace.alerts, trace.truth),
        **detection_delays(trace.alerts, trace.truth),
        "alerts_outside_windows": alerts_outside_windows(trace.alerts, trace.truth),
    }
    return [row], trace


def chicago(
    data_dir: Path = datasets.DEFAULT_DATA_DIR,
    *,
    factory: str = "inspection-risk",
    params: Mapping[str, Any] | None = None,
    label_delay: int = 0,
    limit: int | None = None,
) -> tuple[list[Row], Trace]:
    """All canvass inspections in date order; the pilot metric on the train-split inspections."""
    model = create(factory, params)
    ids = datasets.chicago_train_ids(data_dir)
    events = list(datasets.chicago(data_dir))[:limit]
    trace = prequential(model, events, label_delay=label_delay)
    keep = [i for i, e in enumerate(trace.event_ids) if e in ids]
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
    return [row], trace


def zh_messages(
    data_dir: Path = datasets.DEFAULT_DATA_DIR,
    *,
    factory: str = "complaint-classifier",
    params: Mapping[str, Any] | None = None,
    label_delay: int = 0,
) -> tuple[list[Row], Trace]:
    """Category classifier, progressive macro-F1 and accuracy over the 297 messages."""
    rows: list[Row] = []
    trace = Trace()
    variants = (
        [("", params or {})]
        if params
        else [
            ("", {}),
            (" (multinomial NB)", {"classifier": "nb"}),
            (" (logistic OvR)", {"classifier": "logreg"}),
            (" (char bigrams)", {"tokens": "char2"}),
        ]
    )
    for suffix, variant in variants:
        model = create(factory, variant)
        run = prequential(model, list(datasets.zh_messages(data_dir)), label_delay=label_delay)
        pairs = list(zip(run.truth, run.predicted, strict=True))
        half = pairs[len(pairs) // 2 :]
        rows.append(
            {
                "detector": factory + suffix,
                "events": float(len(pairs)),
                "macro_f1": macro_f1(run.truth, run.predicted),
                "accuracy": sum(y == p for y, p in pairs) / len(pairs),
                "accuracy_2nd_half": sum(y == p for y, p in half) / len(half),
            }
        )
        if not trace.scores:
            trace = run
    return rows, trace


DATASETS = {"skab": skab, "nab": nab, "chicago": chicago, "zh-messages": zh_messages}
