"""Progressive (prequential) evaluation of the models on labelled streams.

Every event is scored first and learnt after, exactly as in production; labels reach the model
only the way they would in the loop: a labelled source's own label via ``learn_one`` (after
``label_delay`` events), or a disposition of an alert via ``learn_label`` (``feedback=True``,
also after ``label_delay``). Metrics are computed on the recorded verdicts, never refitted.

Metric definitions (point-wise, as the SKAB leaderboard): precision, recall, F1; false-alarm
rate = FP / normal events; missed-alarm rate = FN / anomalous events; alerts per 1,000 events;
detection delay = events from the start of each labelled window to its first alert.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schemas.labels import CONFIRMED, FALSE_ALARM

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from models.base import SourceModel


@dataclass
class Trace:
    """What a prequential run recorded, one entry per event."""

    scores: list[float] = field(default_factory=list)
    thresholds: list[float] = field(default_factory=list)
    alerts: list[bool] = field(default_factory=list)
    truth: list[Any] = field(default_factory=list)
    predicted: list[str | None] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)

    def extend(self, other: Trace, skip: int = 0) -> None:
        """Append ``other``'s entries after its first ``skip`` (a warm-up not to be scored)."""
        for name in ("scores", "thresholds", "alerts", "truth", "predicted", "event_ids"):
            getattr(self, name).extend(getattr(other, name)[skip:])


def prequential(
    model: SourceModel,
    stream: Iterable[tuple[Any, Any]],
    *,
    label_delay: int = 0,
    feedback: bool = False,
) -> Trace:
    """Score then learn over ``(event, truth)`` pairs; see the module docstring for labels."""
    trace = Trace()
    pending: deque[tuple[int, Any, Any]] = deque()  # (due index, event or features, truth)
    for i, (event, truth) in enumerate(stream):
        while pending and pending[0][0] <= i:
            _, item, label = pending.popleft()
            _deliver(model, item, label)
        verdict = model.score_one(event)
        if model.supervised:
            pending.append((i + label_delay, event, None))
        else:
            model.learn_one(event)
            if feedback and verdict.alert:
                label = CONFIRMED if truth else FALSE_ALARM
                pending.append((i + label_delay, dict(verdict.features), label))
        trace.scores.append(verdict.score)
        trace.thresholds.append(verdict.threshold)
        trace.alerts.append(verdict.alert)
        trace.truth.append(truth)
        trace.predicted.append(verdict.label)
        trace.event_ids.append(verdict.event_id)
    for _, item, label in pending:
        _deliver(model, item, label)
    return trace


def _deliver(model: SourceModel, item: Any, label: str | None) -> None:
    if label is None:
        model.learn_one(item)
    else:
        model.learn_label(item, label)
        model.observe_disposition(label)


# ---------------------------------------------------------------------- metrics


def binary_metrics(alerts: Sequence[bool], truth: Sequence[Any]) -> dict[str, float]:
    """Point-wise precision, recall, F1, false- and missed-alarm rates, alerts per 1,000."""
    tp = sum(1 for a, y in zip(alerts, truth, strict=True) if a and y)
    fp = sum(1 for a, y in zip(alerts, truth, strict=True) if a and not y)
    fn = sum(1 for a, y in zip(alerts, truth, strict=True) if not a and y)
    tn = len(alerts) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "events": float(len(alerts)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_alarm_rate": fp / (fp + tn) if fp + tn else 0.0,
        "missed_alarm_rate": fn / (fn + tp) if fn + tp else 0.0,
        "alerts_per_1000": 1000.0 * (tp + fp) / len(alerts) if alerts else 0.0,
    }


def windows(truth: Sequence[Any]) -> list[tuple[int, int]]:
    """Contiguous runs of positive truth as (start, end) indices, end exclusive.

    >>> windows([0, 1, 1, 0, 1])
    [(1, 3), (4, 5)]
    """
    out, start = [], None
    for i, y in enumerate(truth):
        if y and start is None:
            start = i
        elif not y and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(truth)))
    return out


def detection_delays(alerts: Sequence[bool], truth: Sequence[Any]) -> dict[str, float]:
    """Windows detected, and the mean/median events from a window's start to its first alert."""
    delays = []
    spans = windows(truth)
    for start, end in spans:
        first = next((i for i in range(start, end) if alerts[i]), None)
        if first is not None:
            delays.append(first - start)
    delays.sort()
    return {
        "windows": float(len(spans)),
        "windows_detected": float(len(delays)),
        "mean_delay": sum(delays) / len(delays) if delays else math.nan,
        "median_delay": float(delays[len(delays) // 2]) if delays else math.nan,
    }


def alerts_outside_windows(alerts: Sequence[bool], truth: Sequence[Any]) -> int:
    """Alerts raised where no anomaly window is (NAB's false positives, counted per event)."""
    return sum(1 for a, y in zip(alerts, truth, strict=True) if a and not y)


def episodes_outside_windows(
    alerts: Sequence[bool], truth: Sequence[Any], times: Sequence[Any], gap_hours: float = 24.0
) -> int:
    """False-alarm episodes: alerts outside the windows, merged while < ``gap_hours`` apart.

    What an operator sees: a burst of alerts over one night is one false alarm, not fifty.
    Counted in time, so hourly and 5-minute data are comparable.

    >>> from datetime import datetime, timedelta
    >>> t = [datetime(2024, 1, 1) + timedelta(hours=h) for h in range(60)]
    >>> a = [h in (1, 2, 3, 40) for h in range(60)]
    >>> episodes_outside_windows(a, [0] * 60, t)
    2
    """
    count, last = 0, None
    for a, y, t in zip(alerts, truth, times, strict=True):
        if a and not y:
            if last is None or (t - last).total_seconds() >= gap_hours * 3600:
                count += 1
            last = t
    return count


def macro_f1(truth: Sequence[Any], predicted: Sequence[Any]) -> float:
    """Unweighted mean of per-class F1 over the classes in ``truth``.

    >>> round(macro_f1(["a", "a", "b"], ["a", "b", "b"]), 3)
    0.667
    """
    scores = []
    for c in sorted(set(truth)):
        tp = sum(1 for y, p in zip(truth, predicted, strict=True) if y == c and p == c)
        fp = sum(1 for y, p in zip(truth, predicted, strict=True) if y != c and p == c)
        fn = sum(1 for y, p in zip(truth, predicted, strict=True) if y == c and p != c)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def top_half_share(scores: Sequence[float], truth: Sequence[Any]) -> float:
    """Chicago's pilot metric: share of all positives among the top-scored half (ties by order)."""
    ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
    positives = sum(1 for y in truth if y)
    top = ranked[: len(ranked) // 2]
    return sum(1 for i in top if truth[i]) / positives if positives else 0.0


class ThreeSigma:
    """Static baseline: alert when any channel is beyond mean ± 3σ of a normal reference run."""

    def __init__(self, reference: Sequence[dict[str, float]], k: float = 3.0) -> None:
        keys = reference[0].keys()
        n = len(reference)
        self.mean = {c: sum(r[c] for r in reference) / n for c in keys}
        self.std = {
            c: math.sqrt(sum((r[c] - self.mean[c]) ** 2 for r in reference) / n) or 1e-12
            for c in keys
        }
        self.k = k

    def alert(self, metrics: dict[str, float]) -> bool:
        """Whether any known channel is more than ``k`` reference deviations from its mean."""
        return any(
            abs(v - self.mean[c]) > self.k * self.std[c]
            for c, v in metrics.items()
            if c in self.mean
        )
