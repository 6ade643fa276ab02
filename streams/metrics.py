"""Every Prometheus metric RiskLoop exports, in one place, with one prefix (``riskloop_``).

A ``Metrics`` object owns its own ``CollectorRegistry``: the worker exposes its registry at
``/metrics``, and tests build a private one and read values back with ``get_sample_value`` —
metrics are asserted, not eyeballed. Label sets are fixed here so dashboards and alert rules
(config/grafana, config/prometheus) can be checked against them by a test.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Self

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

PREFIX = "riskloop"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
_DURATION_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800)


class _Children:
    """``labels(...)`` that looks each labelled child up once per label tuple.

    Why: client_python's ``labels`` checks the names, turns every value into a string and
    takes a lock on every call (~3.5 µs against ~0.7 µs for the child's ``inc``), and the
    worker asks it ~4.5 times an event (27k calls for 6,000 bench events, issue #16). The
    children are the same objects either way; a removed or cleared child is forgotten here
    too, so the next ``labels`` makes it anew as client_python would.

    >>> m = Metrics()
    >>> m.events_in.labels("trucks") is m.events_in.labels("trucks")
    True
    >>> m.events_in.labels(source="trucks") is m.events_in.labels("trucks")
    True
    """

    def labels(self, *labelvalues: Any, **labelkwargs: Any) -> Self:
        """The child for these label values, from the cache after the first call."""
        key = (labelvalues, tuple(labelkwargs.items())) if labelkwargs else labelvalues
        cache: dict[Any, Self] = self.__dict__.setdefault("_children", {})
        try:
            return cache[key]
        except KeyError:
            child: Self = super().labels(*labelvalues, **labelkwargs)  # type: ignore[misc]
            cache[key] = child
            return child
        except TypeError:  # an unhashable value: client_python says what is wrong with it
            return super().labels(*labelvalues, **labelkwargs)  # type: ignore[misc, no-any-return]

    def remove(self, *labelvalues: Any) -> None:
        """Remove the child (client_python's ``remove``) and forget every cached one."""
        self.__dict__.pop("_children", None)
        super().remove(*labelvalues)  # type: ignore[misc]

    def remove_by_labels(self, labels: dict[str, str]) -> None:
        """Remove the matching children and forget every cached one."""
        self.__dict__.pop("_children", None)
        super().remove_by_labels(labels)  # type: ignore[misc]

    def clear(self) -> None:
        """Remove every child and forget them here too."""
        self.__dict__.pop("_children", None)
        super().clear()  # type: ignore[misc]


class _Counter(_Children, Counter):
    """A counter whose labelled children are looked up once (:class:`_Children`)."""


class _Gauge(_Children, Gauge):
    """A gauge whose labelled children are looked up once (:class:`_Children`)."""


class _Histogram(_Children, Histogram):
    """A histogram whose labelled children are looked up once (:class:`_Children`)."""


class _Info(_Children, Info):
    """An info metric whose labelled children are looked up once (:class:`_Children`)."""


class Metrics:
    """The worker's metrics. Construct one per process (or per test, with a fresh registry)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        # Every metric is named ``riskloop_<name>`` and lives in this object's own registry.
        # (typed as client_python's own classes: the caching is this module's business)
        counter: Callable[..., Counter] = partial(_Counter, namespace=PREFIX, registry=r)
        gauge: Callable[..., Gauge] = partial(_Gauge, namespace=PREFIX, registry=r)
        histogram: Callable[..., Histogram] = partial(_Histogram, namespace=PREFIX, registry=r)
        info: Callable[..., Info] = partial(_Info, namespace=PREFIX, registry=r)
        # ingest
        self.events_in = counter("events_in", "Records read from a source topic", ["source"])
        self.events_accepted = counter(
            "events_accepted", "Records that passed validation", ["source"]
        )
        self.events_deadlettered = counter(
            "events_deadlettered",
            "Records refused at ingest, sent to the dead-letter topic (a record accepted there and "
            "refused by a later stage is counted by that stage, e.g. dispositions_rejected)",
            ["source", "reason"],
        )
        self.events_duplicate = counter(
            "events_duplicate", "Re-sent records counted once", ["source"]
        )
        self.redelivered = counter(
            "redelivered_skipped",
            "Redelivered events skipped because their partition had absorbed them already: "
            "their state was checkpointed, their outputs sent (streams/checkpoint.py)",
            ["topic"],
        )
        self.checkpoint_records = counter(
            "checkpoint_records",
            "State records written to the changelog by checkpoints (one per changed key)",
        )
        self.checkpoint_bytes = counter("checkpoint_bytes", "Bytes of state written by checkpoints")
        self.checkpoint_seconds = histogram(
            "checkpoint_seconds",
            "Time a checkpoint took: quiesce, flush outputs and sinks, write the changelog",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.checkpoint_failures = counter(
            "checkpoint_failures",
            "Checkpoints whose changelog write failed: offsets not committed, retried",
        )
        self.outputs_refused = counter(
            "outputs_refused",
            "Records the broker refused for good (too large, not authorised): checkpoints stop "
            "until the worker restarts and redoes its events (streams/producer.py)",
            ["topic"],
        )
        self.restore_failures = counter(
            "restore_failures",
            "Failed attempts to read a partition's state back from its changelog (retried)",
        )
        self.event_failures = counter(
            "event_failures",
            "Events whose handling raised: undone and dead-lettered with the exception's class",
            ["topic", "error"],
        )
        self.storage_stalled = gauge(
            "storage_stalled",
            "1 while an agent, or the checkpoint (agent=checkpoint: all intake), waits for local "
            "storage (disk full): paused",
            ["agent"],
        )
        self.latency = histogram(
            "processing_latency_seconds",
            "Seconds from event time (stage=event) or ingest (stage=ingest) to the warning",
            ["source", "stage"],
            buckets=_LATENCY_BUCKETS,
        )
        # rules and models
        self.rule_hits = counter("rule_hits", "Rule hits", ["pack", "rule", "mode"])
        self.rule_errors = counter("rule_errors", "Events a rule could not evaluate", ["rule"])
        self.rule_tripped = counter(
            "rule_tripped",
            "Rules the engine's circuit breaker disabled for running over their time budget",
            ["rule"],
        )
        self.category_corrections = counter(
            "category_corrections",
            "Category corrections of complaints on dispositions, by what became of them "
            "(corrected: the classifier learnt it; repeated, not_scored, no_warning: nothing)",
            ["outcome"],
        )
        self.rule_dispositions = counter(
            "rule_dispositions",
            "Dispositions of warnings raised by a rule",
            ["rule", "result"],
        )
        self.model_dispositions = counter(
            "model_dispositions",
            "Labelled dispositions of warnings a model version's score raised or joined",
            ["model", "version", "result"],
        )
        self.model_scores = histogram(
            "model_score",
            "Model scores",
            ["model"],
            buckets=(0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
        )
        self.model_alerts = counter("model_alerts", "Events a model flagged", ["model", "mode"])
        self.model_drift = counter("model_drift", "Drift detections", ["model", "signal"])
        self.geo_dropped = counter("geo_dropped_fixes", "GPS fixes dropped", ["reason"])
        self.geo_detections = counter("geo_detections", "Truck detections", ["kind"])
        # the loop
        self.warnings = counter(
            "warnings",
            "Warning changes published",
            ["level", "source", "state", "region"],
        )
        self.tasks_created = counter(
            "tasks_created", "Verification tasks created", ["department", "level"]
        )
        self.tasks_open = gauge("tasks_open", "Open tasks", ["department"])
        self.tasks_overdue = gauge(
            "tasks_overdue",
            "Open tasks past the deadline they race (loop.supervision.overdue)",
            ["department"],
        )
        self.task_transitions = counter(
            "task_transitions",
            "Task state transitions",
            ["department", "to_state"],
        )
        self.dispositions_rejected = counter(
            "dispositions_rejected",
            "Dispositions rejected to deadletter",
            ["reason"],
        )
        self.time_to_sign = histogram(
            "time_to_sign_seconds",
            "Seconds from dispatch to sign-for",
            ["department"],
            buckets=_DURATION_BUCKETS,
        )
        self.time_to_dispose = histogram(
            "time_to_dispose_seconds",
            "Seconds from dispatch to disposal",
            ["department"],
            buckets=_DURATION_BUCKETS,
        )
        self.supervision = counter(
            "supervision_events", "催办/督办/通报 raised", ["kind", "department"]
        )
        self.task_errors = counter(
            "task_errors",
            "Task commands or one task's supervision that failed and were skipped (the rest of "
            "the partition goes on); stage=open|supervise, error=exception class",
            ["stage", "error"],
        )
        self.deadlines_recounted = counter(
            "deadlines_recounted",
            "Open tasks whose provisional deadlines were recounted when their year's calendar "
            "arrived",
            ["department"],
        )
        self.calendar_days_left = gauge(
            "calendar_official_days_left",
            "Days from the worker's clock to the end of the official (notice or package) "
            "working-day calendar; 0 when this year is already provisional",
        )
        # hot loading
        self.hotloads = counter("hotloads", "Hot-load attempts", ["kind", "status"])
        self.control_refused = counter(
            "control_refused",
            "Control records refused before reading because their signature did not verify "
            "or it was signed before the latest accepted record of its name "
            "(reason: unsigned, malformed, unknown_key, bad_signature, replayed)",
            ["topic", "reason"],
        )
        self.active_version = info(
            "active",
            "Active versions of packs, models, fence sets",
            ["kind", "name"],
        )
        # plumbing
        self.consumer_lag = gauge("consumer_lag", "Messages behind the end", ["topic", "partition"])
        # notifications (streams/notify.py): per receiver, as named in notify_config
        self.notify_sent = counter(
            "notify_sent", "Notifications delivered to a receiver", ["receiver"]
        )
        self.notify_failed = counter(
            "notify_failed",
            "Notifications a receiver did not take (each failed attempt; retried with backoff)",
            ["receiver"],
        )
        self.notify_backlog = gauge(
            "notify_backlog",
            "Notifications queued for a receiver and not yet delivered",
            ["receiver"],
        )
        self.sink_backlog = gauge("sink_backlog", "Records a sink holds, not yet written", ["sink"])
        self.sink_retries = counter("sink_retries", "Failed sink flushes retried", ["sink"])
        self.sink_rejected = counter(
            "sink_rejected",
            "Records the target refused for good, set aside (SQL: rejected_records) so the rest"
            " of their batch is written",
            ["sink", "kind"],
        )
        self.store_rebuilt = counter(
            "store_rebuilt",
            "Local stores found corrupt at start, moved aside (<file>.corrupt-<time>) and "
            "started empty; store=outbox: the SQL/Redis sinks' journal (sinks/outbox.py)",
            ["store"],
        )
        self.worker_ready = gauge(
            "worker_ready",
            "1 when /ready says ready: every agent running, control topics read, broker "
            "reachable, not rebalancing (streams/health.py)",
        )
        self.agent_crashes = counter(
            "agent_crashes", "Agent actors that died of an exception", ["agent"]
        )

    def exposition(self, names: Collection[str] = ()) -> bytes:
        """The text format Prometheus scrapes; with ``names`` (sample names, as client_python's
        own ``?name[]=`` filter takes them) only those series.

        Why the filter: a whole exposition (~30 KB, every histogram bucket) costs the worker
        milliseconds of CPU, and a probe that wants one counter twice a second (the bench's
        events-read probe) paid that for every look.

        >>> m = Metrics()
        >>> m.events_in.labels("trucks").inc(3)
        >>> m.exposition(["riskloop_events_in_total"]).decode().splitlines()[-1]
        'riskloop_events_in_total{source="trucks"} 3.0'
        """
        if names:
            return generate_latest(self.registry.restricted_registry(list(names)))
        return generate_latest(self.registry)
