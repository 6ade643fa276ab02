"""How far a processor has *read*, seen from outside, to set against what it has committed.

The worker says it on ``/metrics`` (``riskloop_events_in_total``, counted as a record is taken
from a source topic); a Faust baseline says it with its output (every event sends ``sends``
records, so output high watermarks / sends). Both are read by the harness between samples of the
committed offsets: read − committed is what a crash at that moment would make it redo.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

from bench.volume import admin, high_watermarks

if TYPE_CHECKING:
    from config.settings import Settings

Reader = Callable[[], float | None]
"""Events read so far, or None while the processor cannot say (not up yet)."""


def metric_sum(text: str, sample_name: str) -> float:
    """Sum of one sample over every label set in a /metrics exposition.

    >>> metric_sum('riskloop_events_in_total{source="trucks"} 3.0\\n'
    ...            'riskloop_events_in_total{source="complaints"} 2.0\\n', "riskloop_events_in_total")
    5.0
    """
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == sample_name
    )


def scrape(url: str) -> str | None:
    """The exposition at ``url``; None while the worker is not up."""
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return str(response.read().decode())
    except OSError:
        return None


def events_read(url: str) -> float | None:
    """Events a worker has read, from its /metrics at ``url``; None while it is not up.

    Only that counter is asked for (``?name[]=``, streams/web.py): the harness looks twice a
    second, and the whole exposition cost the measured worker ~1 % of its CPU (up to 4 % in
    the profiles of bench/RESULTS.md), which no real Prometheus (one scrape per 15 s) costs."""
    text = scrape(f"{url}?name[]=riskloop_events_in_total")
    return None if text is None else metric_sum(text, "riskloop_events_in_total")


def sink_trouble(url: str) -> dict[str, float]:
    """Retried flushes, held-back records and refused records of the worker's sinks (SQL,
    Redis): all zero when every service answered throughout, which the figures assume."""
    text = scrape(url) or ""
    return {
        "sink_retries": metric_sum(text, "riskloop_sink_retries_total"),
        "sink_backlog": metric_sum(text, "riskloop_sink_backlog"),
        "sink_rejected": metric_sum(text, "riskloop_sink_rejected_total"),
    }


def metrics_reader(url: str) -> Reader:
    """A progress reader for the worker: events read, from its /metrics at ``url``."""
    return lambda: events_read(url)


def output_reader(settings: Settings, topic: str, partitions: int, sends: int) -> Reader:
    """Events a baseline has handled: its output records / ``sends`` (a lower bound on read)."""
    client = admin(settings)

    def read() -> float | None:
        marks = high_watermarks(settings, {topic: partitions}, client)
        return sum(marks.values()) / max(sends, 1)

    return read
