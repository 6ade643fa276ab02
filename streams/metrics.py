"""Every Prometheus metric RiskLoop exports, in one place, with one prefix (``riskloop_``).

A ``Metrics`` object owns its own ``CollectorRegistry``: the worker exposes its registry at
``/metrics``, and tests build a private one and read values back with ``get_sample_value`` —
metrics are asserted, not eyeballed. Label sets are fixed here so dashboards and alert rules
(config/grafana, config/prometheus) can be checked against them by a test.
"""

from __future__ import annotations

from collections.abc import Collection

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

PREFIX = "riskloop"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
_DURATION_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800)


class Metrics:
    """The worker's metrics. Construct one per process (or per test, with a fresh registry)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        p = PREFIX
        # ingest
        self.events_in = Counter(
            f"{p}_events_in", "Records read from a source topic", ["source"], registry=r
        )
        self.events_accepted = Counter(
            f"{p}_events_accepted", "Records that passed validation", ["source"], registry=r
        )
        self.events_deadlettered = Counter(
            f"{p}_events_deadlettered",
            "Records refused at ingest, sent to the dead-letter topic (a record accepted there and "
            "refused by a later stage is counted by that stage, e.g. dispositions_rejected)",
            ["source", "reason"],
            registry=r,
        )
        self.events_duplicate = Counter(
            f"{p}_events_duplicate", "Re-sent records counted once", ["source"], registry=r
        )
        self.redelivered = Counter(
            f"{p}_redelivered_skipped",
            "Redelivered events skipped because their partition had absorbed them already: "
            "their state was checkpointed, their outputs sent (streams/checkpoint.py)",
            ["topic"],
            registry=r,
        )
        self.checkpoint_records = Counter(
            f"{p}_checkpoint_records",
            "State records written to the changelog by checkpoints (one per changed key)",
            registry=r,
        )
        self.checkpoint_bytes = Counter(
            f"{p}_checkpoint_bytes", "Bytes of state written by checkpoints", registry=r
        )
        self.checkpoint_seconds = Histogram(
            f"{p}_checkpoint_seconds",
            "Time a checkpoint took: quiesce, flush outputs and sinks, write the changelog",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.checkpoint_failures = Counter(
            f"{p}_checkpoint_failures",
            "Checkpoints whose changelog write failed: offsets not committed, retried",
            registry=r,
        )
        self.restore_failures = Counter(
            f"{p}_restore_failures",
            "Failed attempts to read a partition's state back from its changelog (retried)",
            registry=r,
        )
        self.event_failures = Counter(
            f"{p}_event_failures",
            "Events whose handling raised: undone and dead-lettered with the exception's class",
            ["topic", "error"],
            registry=r,
        )
        self.storage_stalled = Gauge(
            f"{p}_storage_stalled",
            "1 while an agent waits for local storage (disk full): its partition is paused",
            ["agent"],
            registry=r,
        )
        self.latency = Histogram(
            f"{p}_processing_latency_seconds",
            "Seconds from event time (stage=event) or ingest (stage=ingest) to the warning",
            ["source", "stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        # rules and models
        self.rule_hits = Counter(
            f"{p}_rule_hits", "Rule hits", ["pack", "rule", "mode"], registry=r
        )
        self.rule_errors = Counter(
            f"{p}_rule_errors", "Events a rule could not evaluate", ["rule"], registry=r
        )
        self.rule_tripped = Counter(
            f"{p}_rule_tripped",
            "Rules the engine's circuit breaker disabled for running over their time budget",
            ["rule"],
            registry=r,
        )
        self.category_corrections = Counter(
            f"{p}_category_corrections",
            "Category corrections of complaints on dispositions, by what became of them "
            "(corrected: the classifier learnt it; repeated, not_scored, no_warning: nothing)",
            ["outcome"],
            registry=r,
        )
        self.rule_dispositions = Counter(
            f"{p}_rule_dispositions",
            "Dispositions of warnings raised by a rule",
            ["rule", "result"],
            registry=r,
        )
        self.model_scores = Histogram(
            f"{p}_model_score",
            "Model scores",
            ["model"],
            buckets=(0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
            registry=r,
        )
        self.model_alerts = Counter(
            f"{p}_model_alerts", "Events a model flagged", ["model", "mode"], registry=r
        )
        self.model_drift = Counter(
            f"{p}_model_drift", "Drift detections", ["model", "signal"], registry=r
        )
        self.geo_dropped = Counter(
            f"{p}_geo_dropped_fixes", "GPS fixes dropped", ["reason"], registry=r
        )
        self.geo_detections = Counter(
            f"{p}_geo_detections", "Truck detections", ["kind"], registry=r
        )
        # the loop
        self.warnings = Counter(
            f"{p}_warnings",
            "Warning changes published",
            ["level", "source", "state", "region"],
            registry=r,
        )
        self.tasks_created = Counter(
            f"{p}_tasks_created", "Verification tasks created", ["department", "level"], registry=r
        )
        self.tasks_open = Gauge(f"{p}_tasks_open", "Open tasks", ["department"], registry=r)
        self.tasks_overdue = Gauge(
            f"{p}_tasks_overdue",
            "Open tasks past the deadline they race (loop.supervision.overdue)",
            ["department"],
            registry=r,
        )
        self.task_transitions = Counter(
            f"{p}_task_transitions",
            "Task state transitions",
            ["department", "to_state"],
            registry=r,
        )
        self.dispositions_rejected = Counter(
            f"{p}_dispositions_rejected",
            "Dispositions rejected to deadletter",
            ["reason"],
            registry=r,
        )
        self.time_to_sign = Histogram(
            f"{p}_time_to_sign_seconds",
            "Seconds from dispatch to sign-for",
            ["department"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.time_to_dispose = Histogram(
            f"{p}_time_to_dispose_seconds",
            "Seconds from dispatch to disposal",
            ["department"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.supervision = Counter(
            f"{p}_supervision_events", "催办/督办/通报 raised", ["kind", "department"], registry=r
        )
        self.task_errors = Counter(
            f"{p}_task_errors",
            "Task commands or one task's supervision that failed and were skipped (the rest of "
            "the partition goes on); stage=open|supervise, error=exception class",
            ["stage", "error"],
            registry=r,
        )
        self.deadlines_recounted = Counter(
            f"{p}_deadlines_recounted",
            "Open tasks whose provisional deadlines were recounted when their year's calendar "
            "arrived",
            ["department"],
            registry=r,
        )
        self.calendar_days_left = Gauge(
            f"{p}_calendar_official_days_left",
            "Days from the worker's clock to the end of the official (notice or package) "
            "working-day calendar; 0 when this year is already provisional",
            registry=r,
        )
        # hot loading
        self.hotloads = Counter(
            f"{p}_hotloads", "Hot-load attempts", ["kind", "status"], registry=r
        )
        self.control_refused = Counter(
            f"{p}_control_refused",
            "Control records refused before reading because their signature did not verify "
            "or it was signed before the latest accepted record of its name "
            "(reason: unsigned, malformed, unknown_key, bad_signature, replayed)",
            ["topic", "reason"],
            registry=r,
        )
        self.active_version = Info(
            f"{p}_active",
            "Active versions of packs, models, fence sets",
            ["kind", "name"],
            registry=r,
        )
        # plumbing
        self.consumer_lag = Gauge(
            f"{p}_consumer_lag", "Messages behind the end", ["topic", "partition"], registry=r
        )
        # notifications (streams/notify.py): per receiver, as named in notify_config
        self.notify_sent = Counter(
            f"{p}_notify_sent", "Notifications delivered to a receiver", ["receiver"], registry=r
        )
        self.notify_failed = Counter(
            f"{p}_notify_failed",
            "Notifications a receiver did not take (each failed attempt; retried with backoff)",
            ["receiver"],
            registry=r,
        )
        self.notify_backlog = Gauge(
            f"{p}_notify_backlog",
            "Notifications queued for a receiver and not yet delivered",
            ["receiver"],
            registry=r,
        )
        self.sink_backlog = Gauge(
            f"{p}_sink_backlog", "Records a sink holds, not yet written", ["sink"], registry=r
        )
        self.sink_retries = Counter(
            f"{p}_sink_retries", "Failed sink flushes retried", ["sink"], registry=r
        )
        self.sink_rejected = Counter(
            f"{p}_sink_rejected",
            "Records the target refused for good, set aside (SQL: rejected_records) so the rest"
            " of their batch is written",
            ["sink", "kind"],
            registry=r,
        )
        self.store_rebuilt = Counter(
            f"{p}_store_rebuilt",
            "Local stores found corrupt at start, moved aside (<file>.corrupt-<time>) and "
            "started empty; store=outbox: the SQL/Redis sinks' journal (sinks/outbox.py)",
            ["store"],
            registry=r,
        )
        self.worker_ready = Gauge(
            f"{p}_worker_ready",
            "1 when /ready says ready: every agent running, control topics read, broker "
            "reachable, not rebalancing (streams/health.py)",
            registry=r,
        )
        self.agent_crashes = Counter(
            f"{p}_agent_crashes", "Agent actors that died of an exception", ["agent"], registry=r
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
