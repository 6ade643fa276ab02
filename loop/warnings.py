"""Warnings (预警): fuse rule hits and alerting model scores into one warning per fingerprint.

A rule that sets its own ``group_key`` (say plate + fence id) gets one warning per group
(``loop.ids.fingerprint``). State is per entity (:class:`EntityWarnings`, a Faust table keyed by ``hit.entity``), because
inhibition — a higher-level active warning on the same entity suppressing lower ones — needs
all of one entity's warnings at hand. Inside it, one :class:`WarningState` per fingerprint
``hash(source, entity, item_code)`` (shadow hits get their own fingerprints and never touch
active warnings).

Every function takes the state and returns a new state plus the :class:`~schemas.records.Alert`
records that changed, to publish on ``alerts`` (``alerts.shadow`` for ``alert.shadow``). An
alert is emitted exactly when its published form changes, so a replayed hit (same rule or model
and event id) returns no alert at all.

Level: starts at the hit's level and takes the highest level any hit of this epoch carried; it
rises one step each time ``escalate_after`` hits fall within ``window`` (persisting risk), at
most ``max_escalations`` steps and never above the rule's ``escalate_to`` (the loop's
``escalate_to``, orange, when the rule names none: a yellow "terminal offline" that repeats must
not reach the level of 电梯困人 unless the pack says so); those steps fall back when no hit came for ``quiet_after``
(:func:`tick`), and the warning ends on evidence (:func:`resolve`, from a task's disposition).
A warning that ended and comes back starts a new epoch, so it gets a new alert id — and a new
task, linked to the old one when it recurs soon (``loop.closed_loop.recurrence``).

Silenced warnings do not inhibit others: a silence means "we know", and it must not hide a
different risk on the same entity. A safety alarm (the rule's ``safety``: 困人, 超压, 食物中毒) is
covered only by a silence that names safety alarms and was approved by a second person.

Notices (Alertmanager's model): every change is recorded (SQL), but only some deserve a person's
attention, and each record says which (``notify``) and what changed since the warning's last
notice (``changes``). A new warning, a level change, a silence starting or ending and the end
of a warning are notified at once; suppression changing and a new reason joining at most once
per ``group_interval``; more occurrences alone at most once per ``repeat_interval``. What was
not notified is folded into the next notice's ``changes``, so ``riskloop alerts tail`` shows
about one line per warning and each ``updated`` line says what changed.

A warning raised from a backfill (``historical``) is recorded like any other and never tasked;
a live hit on it makes it live.

Detail (issue #17): a warning carries who and where — the latest enterprise name and address an
event of its entity gave (``loop.subject``; kept per entity, so an equipment warning shows the
name an inspection gave), the masked text of its latest complaint, the last
:data:`MAX_EVIDENCE_RECORDS` evidence events in brief (time, source, the values that fired) and
its last :data:`MAX_HISTORY` notified changes.
"""

from __future__ import annotations

from bisect import bisect_right, insort_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loop import ids
from loop.errors import UnknownWarning
from loop.silences import Silence, matching
from loop.subject import ScoredComplaint, Subject
from schemas.hits import RuleHit, TaskTemplate
from schemas.records import (
    Alert,
    AlertChange,
    AlertState,
    DispositionResult,
    EvidenceRecord,
    Level,
    Reason,
)
from schemas.scores import ModelScore

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loop.loop_config import LoopConfig

_BY_RANK = {level.rank: level for level in Level}
_RANK = {level: level.rank for level in Level}
"""``Level.rank`` as one lookup: the fold and settle steps ask it of every warning."""
_LIVE = {AlertState.new, AlertState.updated, AlertState.escalated, AlertState.deescalated}
_TASKED = _LIVE | {AlertState.suppressed}
MAX_EVIDENCE_RECORDS = 5
"""Evidence events a warning keeps in brief (the ids list keeps ``max_evidence``)."""
MAX_HISTORY = 20
"""Notified changes a warning keeps for its history."""

Status = Literal["active", "resolved", "false_alarm"]


MODEL_TITLES = {
    "inspections": "检查结果异常",
    "complaints": "投诉内容异常",
    "equipment": "设备运行数据异常",
    "trucks": "渣土车行驶异常",
    "truck_detections": "渣土车行驶异常",
}
"""What a model's own warning is called, by source: staff read "投诉内容异常（模型
complaint-classifier）", not "complaint-classifier: anomalous complaints"."""


class Notice(BaseModel):
    """What the last notified record of a warning said: the next one is compared with it."""

    model_config = ConfigDict(extra="forbid")

    level: Level
    state: AlertState
    occurrences: int
    reasons: list[str]
    silenced_by: str | None = None
    suppressed_by: str | None = None
    title: str


class WarningState(BaseModel):
    """One warning in one epoch (plus what the last epoch's closure left for recurrence)."""

    model_config = ConfigDict(extra="forbid")

    fingerprint: str
    epoch: int = 1
    status: Status = "active"
    change: AlertState = AlertState.new
    base_level: Level
    bumps: int = 0
    source: str
    entity: str
    item_code: str
    title: str
    region_code: str | None = None
    uscc: str | None = None
    shadow: bool = False
    occurrences: int = 0
    first_seen: datetime
    last_seen: datetime
    window_hits: list[datetime] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list)
    reasons: dict[str, Reason] = Field(default_factory=dict)
    features: dict[str, dict[str, float]] = Field(default_factory=dict)
    template: TaskTemplate | None = None
    silenced_by: str | None = None
    suppressed_by: str | None = None
    closed_at: datetime | None = None
    closed_task_id: str | None = None
    closed_department: str | None = None
    escalate_to: Level | None = None
    """The rule's ceiling for escalation by repetition (None: the loop's ``escalate_to``)."""
    safety: bool = False
    """A safety alarm: silenced only by a silence that names safety alarms, approved."""
    historical: bool = False
    """Every hit of this epoch came from a backfill: recorded, never tasked."""
    case_task_id: str | None = None
    """The task of the case this warning joined (:func:`join_cases`): it has none of its own."""
    case_event: str | None = None
    """The event whose case this warning's task is, or which it joined (:func:`join_cases`)."""
    chained: bool = False
    """Raised by a sequence rule (``RuleHit.chained``): joins its event's case, never leads it."""
    notice: Notice | None = None
    """What the last notified record said (None: nothing notified this epoch yet)."""
    notified_at: datetime | None = None
    tasked: bool = False
    """A task command went out for this epoch (:func:`claim_tasks`): the warning's later updates
    send none (the task agent would ignore them; 20,000 events made 10,502 commands for 809
    tasks before)."""
    entity_name: str | None = None
    entity_address: str | None = None
    complaint_text: str | None = None
    """The latest complaint behind this warning, masked (``loop.subject``)."""
    complaint: ScoredComplaint | None = None
    """The latest complaint behind it as the classifier scored it: what a category correction
    teaches (``loop.corrections``)."""
    corrections: list[str] = Field(default_factory=list)
    """Dispositions whose category correction was applied (each teaches once)."""
    evidence_records: list[EvidenceRecord] = Field(default_factory=list)
    history: list[AlertChange] = Field(default_factory=list)
    published: str | None = None
    """What the ``alerts`` topic last carried of this epoch (``loop.alert_topic.mark``)."""
    revision: int = 0
    """How many records of this warning were published, over all its epochs: the next one
    carries it raised by one (``Alert.revision``), so the stores can tell a newer copy from an
    older one written late (sinks/sql.py)."""
    fed_back: list[str] = Field(default_factory=list)
    """Tasks whose disposal was fed back (``loop.closed_loop.close_loop``); kept across epochs, so
    a task reopened and disposed again, or a feedback record sent twice, teaches nothing more."""

    def ceiling(self, config: LoopConfig) -> int:
        """The highest rank repetition may reach: the rule's, else the loop's; never below
        the level the hits themselves carried."""
        base = _RANK[self.base_level]
        cap = self.escalate_to or config.escalate_to
        return max(base, min(_RANK[cap], base + config.max_escalations))

    @property
    def level(self) -> Level:
        """The base level raised by one rank per escalation, capped at the highest level."""
        return _BY_RANK[min(4, _RANK[self.base_level] + self.bumps)]

    @property
    def alert_id(self) -> str:
        """The id of this epoch's alert: a warning that closes and recurs gets a new one."""
        return ids.alert_id(self.fingerprint, self.epoch)

    @property
    def active(self) -> bool:
        """Whether the warning is open (silenced and suppressed ones still are)."""
        return self.status == "active"

    def alert_state(self) -> AlertState:
        """The state consumers see: closed status first, then silence, suppression, last change."""
        if self.status != "active":
            return AlertState(self.status)
        if self.silenced_by:
            return AlertState.silenced
        if self.suppressed_by:
            return AlertState.suppressed
        return self.change

    def to_alert(self, changes: Sequence[str] = (), notify: bool = True) -> Alert:
        """The record published on ``alerts``."""
        return Alert(
            alert_id=self.alert_id,
            fingerprint=self.fingerprint,
            state=self.alert_state(),
            level=self.level,
            source=self.source,
            entity=self.entity,
            item_code=self.item_code,
            title=self.title,
            region_code=self.region_code,
            uscc=self.uscc,
            occurrences=self.occurrences,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            evidence=list(self.evidence),
            reasons=[self.reasons[k] for k in sorted(self.reasons)],
            suppressed_by=self.suppressed_by,
            correlation_id=self.evidence[-1] if self.evidence else self.alert_id,
            shadow=self.shadow,
            changes=list(changes),
            notify=notify,
            historical=self.historical,
            safety=self.safety,
            case_task_id=self.case_task_id,
            entity_name=self.entity_name,
            entity_address=self.entity_address,
            complaint_text=self.complaint_text,
            evidence_records=list(self.evidence_records),
            history=list(self.history),
            revision=self.revision,
        )

    def noticed(self) -> Notice:
        """This warning as a notice records it."""
        return Notice(
            level=self.level,
            state=self.alert_state(),
            occurrences=self.occurrences,
            reasons=sorted(self.reasons),
            silenced_by=self.silenced_by,
            suppressed_by=self.suppressed_by,
            title=self.title,
        )


class EntityWarnings(BaseModel):
    """All warnings of one entity, keyed by fingerprint: the value of the Faust table."""

    model_config = ConfigDict(extra="forbid")

    entity: str
    warnings: dict[str, WarningState] = Field(default_factory=dict)
    entity_name: str | None = None
    """The latest name any event of this entity gave: a warning from a source that names
    nobody (equipment, trucks) shows it."""
    entity_address: str | None = None


@dataclass(slots=True)
class _Observation:
    """A rule hit or alerting model score, reduced to what a warning needs.

    A plain dataclass, not a pydantic model: every value comes from a validated ``RuleHit``
    or ``ModelScore``, and it never leaves the fold. Validating it again cost ~9 µs a hit
    against ~2 µs (timeit, 23 fields; a frozen dataclass, setting each field through
    ``object.__setattr__``, was no faster than pydantic). Nothing changes one once made."""

    source: str
    entity: str
    item_code: str
    title: str
    level: Level
    uscc: str | None
    region_code: str | None
    event_id: str
    event_time: datetime
    reason: Reason
    shadow: bool
    group: str = ""
    template: TaskTemplate | None = None
    escalate_to: Level | None = None
    safety: bool = False
    historical: bool = False
    features: dict[str, float] | None = None
    based_on: list[Reason] = field(default_factory=list)  # e.g. the fence set of a detection
    entity_name: str | None = None
    entity_address: str | None = None
    complaint_text: str | None = None
    complaint: ScoredComplaint | None = None
    chained: bool = False

    @property
    def reason_key(self) -> str:
        return f"{self.reason.kind}:{self.reason.id}"


def should_task(alert: Alert, config: LoopConfig) -> bool:
    """Whether this alert calls for a verification task (if ``task_id(alert_id)`` has none yet).

    Shadow, silenced, historical (backfill) and ended warnings never make one, nor one below
    ``task_min_level`` (a blue warning gets its task when it escalates). A suppressed warning does: inhibition tells staff
    which of an enterprise's warnings leads; it does not decide which risks get verified. It
    must not, either: an enterprise's inspection and complaint warnings come from two topics
    whose relative order Kafka does not fix, and gating tasks on inhibition gave a lower warning
    a task when it was folded before the higher one and none when folded after it — a replay's
    tasks depended on the interleaving (bench/RELIABILITY.md). Task ids derive from alert ids,
    so a warning that is suppressed and later comes back still has exactly one task.
    """
    return (
        not alert.shadow
        and not alert.historical
        and alert.state in _TASKED
        and _RANK[alert.level] >= _RANK[config.task_min_level]
    )


def claim_tasks(
    state: EntityWarnings, alerts: Sequence[Alert], config: LoopConfig
) -> tuple[EntityWarnings, list[Alert]]:
    """The alerts that call for a task command now — once per warning epoch (the first alert
    for which :func:`should_task` holds) — and the state that remembers it."""
    due: list[Alert] = []
    new = state
    for alert in alerts:
        w = new.warnings.get(alert.fingerprint)
        if w is None or w.tasked or not should_task(alert, config):
            continue
        if new is state:
            new = _shallow(state)
        new.warnings[alert.fingerprint] = w.model_copy(update={"tasked": True})
        due.append(alert)
    return new, due


def join_cases(
    state: EntityWarnings, alerts: Sequence[Alert], config: LoopConfig
) -> tuple[EntityWarnings, list[Alert], list[Alert]]:
    """One incident, one case, one task: the warnings of one entity that call for a task on
    the same event (one complaint fired both 疑似食物中毒 and 投诉激增) share one task.

    A case is keyed by the event a warning is due on (``correlation_id``: the event that
    raised or escalated it), not by which warnings happen to be due in one call: a sequence
    rule (投诉后检查不合格, ``chained``) is named after its chain's last event by event time, but
    fires with whichever of its events arrives second, so in one reading order it is due with
    that inspection's own warnings and in the other one call later (tests/unit/loop/
    test_cases.py). So the case's lead, whose task it is, is the event's own highest warning
    (then the smaller fingerprint; a chained warning only when the event raised nothing else
    that is due), and a warning due on an event whose case is open joins that case's task.
    Both orders give the same tasks and links. A warning with several records due in one call
    (a late complaint completes every failure waiting for it, one hit each, the last one's
    event being the newest evidence) is due on its first record's event: where it was due
    when the events came in time order.

    Returns the state, the alerts (joined ones carrying ``case_task_id``) and the joined alerts
    that outrank their case's lead: the task agent raises the case task to their level and
    deadlines (``loop.cases.raise_level``) rather than open a second task. Warnings
    raised by different events stay separate cases. Call it before :func:`claim_tasks`, which
    skips the joined ones.
    """
    due: dict[str, dict[str, Alert]] = {}  # event → fingerprint → its latest record
    due_on: dict[str, str] = {}  # fingerprint → the event of its first record that is due
    for alert in alerts:
        w = state.warnings.get(alert.fingerprint)
        if w is not None and not w.tasked and should_task(alert, config):
            event = due_on.setdefault(alert.fingerprint, alert.correlation_id)
            due.setdefault(event, {})[alert.fingerprint] = alert
    if not due:
        return state, list(alerts), []
    new = _shallow(state)
    links: dict[str, str] = {}
    upgrades: list[Alert] = []
    for event, group in due.items():
        lead = _case_lead(new, event)
        if lead is None:
            first = min(group.values(), key=lambda a: _lead_order(new.warnings[a.fingerprint]))
            lead = new.warnings[first.fingerprint].model_copy(update={"case_event": event})
            new.warnings[first.fingerprint] = lead
        task = ids.task_id(lead.alert_id)
        for fp, alert in group.items():
            if fp == lead.fingerprint:
                continue
            links[fp] = task
            new.warnings[fp] = new.warnings[fp].model_copy(
                update={"tasked": True, "case_task_id": task, "case_event": event}
            )
            if _RANK[alert.level] > _RANK[lead.level]:
                upgrades.append(alert.model_copy(update={"case_task_id": task}))
    joined = [
        a.model_copy(update={"case_task_id": links[a.fingerprint]}) if a.fingerprint in links else a
        for a in alerts
    ]
    return new, joined, upgrades


def _lead_order(w: WarningState) -> tuple[bool, int, str]:
    """Who leads a new case: the event's own warnings before a chain's, highest level first."""
    return (w.chained, -_RANK[w.level], w.fingerprint)


def _case_lead(state: EntityWarnings, event: str) -> WarningState | None:
    """The live warning whose task is already ``event``'s case, if one is."""
    for w in state.warnings.values():
        if w.active and w.tasked and w.case_event == event and w.case_task_id is None:
            return w
    return None


def fold(
    state: EntityWarnings | None,
    item: RuleHit | ModelScore,
    now: datetime,
    config: LoopConfig,
    silences: Sequence[Silence] = (),
    *,
    historical: bool = False,
    subject: Subject | None = None,
) -> tuple[EntityWarnings, list[Alert]]:
    """Fold one rule hit or model score into its entity's warnings; returns the changed alerts.

    One entry for both, because the decider folds an event's hits and scores alike. A model
    score counts only when it alerts and its model is warmed up; one without an item code joins
    the highest active warning of the same source and entity (the model corroborates it), with
    none it stands alone under ``model:<name>``.
    ``historical``: the event came from a backfill (``riskloop replay --backfill``).
    ``subject``: who, where and what the event says (``loop.subject.subject_of``)."""
    if not isinstance(item, ModelScore):
        return _apply(state, _hit_observation(item, historical, subject), now, config, silences)
    base = state if state is not None else EntityWarnings(entity=item.entity)
    if not (item.alert and item.warmed_up):
        return base, []
    obs = _score_observation(base, item, historical, subject)
    return _apply(base, obs, now, config, silences)


def _hit_observation(hit: RuleHit, historical: bool, subject: Subject | None) -> _Observation:
    reason = Reason(
        kind="rule",
        id=hit.rule_id,
        version=hit.pack_version,
        content_hash=hit.pack_hash,
        pack=hit.pack,
        score=hit.score,
        values={k: str(v) for k, v in sorted(hit.values.items())},
    )
    return _Observation(
        source=hit.source,
        entity=hit.entity,
        item_code=hit.item_code,
        title=hit.title,
        level=hit.level,
        uscc=hit.uscc,
        region_code=hit.region_code,
        event_id=hit.event_id,
        event_time=hit.event_time,
        reason=reason,
        shadow=hit.mode == "shadow",
        group=hit.group_key,
        template=hit.task,
        escalate_to=hit.escalate_to,
        safety=hit.safety,
        historical=historical,
        based_on=list(hit.based_on),
        chained=hit.chained,
        **_about(subject),
    )


def _score_observation(
    base: EntityWarnings, score: ModelScore, historical: bool, subject: Subject | None
) -> _Observation:
    shadow = score.mode == "shadow"
    item_code = (
        score.item_code or _corroborated(base, score.source, shadow) or f"model:{score.model}"
    )
    names = sorted(score.features)  # a model has ~120 features: repr them in one C loop
    values = dict(zip(names, map(repr, map(score.features.__getitem__, names)), strict=True))
    values["threshold"] = repr(score.threshold)
    if score.label is not None:
        values["label"] = score.label
    return _Observation(
        source=score.source,
        entity=score.entity,
        item_code=item_code,
        title=f"{MODEL_TITLES.get(score.source, score.source + '数据异常')}（模型 {score.model}）",
        level=score.level,
        uscc=score.uscc,
        region_code=score.region_code,
        event_id=score.event_id,
        event_time=score.event_time,
        reason=Reason(
            kind="model",
            id=score.model,
            version=score.version,
            content_hash=score.content_hash,
            score=score.score,
            values=values,
        ),
        shadow=shadow,
        historical=historical,
        features=dict(score.features),
        **_about(subject),
    )


def tick(
    state: EntityWarnings, now: datetime, config: LoopConfig, silences: Sequence[Silence] = ()
) -> tuple[EntityWarnings, list[Alert]]:
    """Periodic re-evaluation: quiet warnings fall back, silences start or expire, inhibition.

    Call it from a timer (and when a silence is created or removed); it is idempotent.
    """
    new = _shallow(state)
    for fp, w in state.warnings.items():
        if w.active and w.bumps and now - w.last_seen >= config.quiet_after:
            new.warnings[fp] = w.model_copy(
                update={"bumps": 0, "window_hits": [], "change": AlertState.deescalated}
            )
    _settle(new, now, silences)
    return new, _changed(state, new, None, now, config)


def resolve(
    state: EntityWarnings,
    alert_id: str,
    result: DispositionResult,
    now: datetime,
    config: LoopConfig,
    *,
    task_id: str | None = None,
    department: str | None = None,
    silences: Sequence[Silence] = (),
) -> tuple[EntityWarnings, list[Alert]]:
    """End a warning on evidence: ``false_alarm`` for 不属实, ``resolved`` for the rest.

    ``task_id``/``department`` of the closing task are kept so that a recurrence can link to it.
    Lower warnings it suppressed come back as ``updated`` (their tasks already exist).
    Resolving an epoch that already ended, or was followed by a newer one, changes nothing.
    """
    fingerprint = alert_id.rpartition(".")[0]
    if fingerprint not in state.warnings:
        raise UnknownWarning(f"entity {state.entity} has no warning {alert_id}")
    new = state.model_copy(deep=True)
    w = new.warnings[fingerprint]
    if w.active and w.alert_id == alert_id:
        w.status = "false_alarm" if result is DispositionResult.false_alarm else "resolved"
        w.bumps, w.window_hits = 0, []
        w.silenced_by = w.suppressed_by = None
        w.closed_at, w.closed_task_id, w.closed_department = now, task_id, department
    _settle(new, now, silences)
    return new, _changed(state, new, fingerprint, now, config)


# ---------------------------------------------------------------- internals


def _about(subject: Subject | None) -> dict[str, Any]:
    if subject is None:
        return {}
    return {
        "entity_name": subject.name,
        "entity_address": subject.address,
        "complaint_text": subject.text,
        "complaint": subject.complaint,
    }


def _corroborated(state: EntityWarnings, source: str, shadow: bool) -> str | None:
    live = [
        w
        for w in state.warnings.values()
        if w.active
        and w.source == source
        and w.shadow == shadow
        and not w.item_code.startswith("model:")
    ]
    if not live:
        return None
    return min(live, key=lambda w: (-_RANK[w.level], w.first_seen, w.fingerprint)).item_code


def _apply(
    state: EntityWarnings | None,
    obs: _Observation,
    now: datetime,
    config: LoopConfig,
    silences: Sequence[Silence],
) -> tuple[EntityWarnings, list[Alert]]:
    base = state if state is not None else EntityWarnings(entity=obs.entity)
    if base.entity != obs.entity:
        raise ValueError(f"hit for entity {obs.entity} applied to the state of {base.entity}")
    fp = ids.fingerprint(obs.source, obs.entity, obs.item_code, group=obs.group, shadow=obs.shadow)
    seen_key = f"{obs.reason_key}:{obs.event_id}"
    old = base.warnings.get(fp)
    if old is not None and seen_key in old.seen:
        return base, []
    new = _shallow(base)
    new.entity_name = obs.entity_name or base.entity_name
    new.entity_address = obs.entity_address or base.entity_address
    w = old
    if w is not None:  # the one warning _fold mutates in place: a copy, with its own containers
        w = w.model_copy()
        w.reasons, w.features = dict(w.reasons), dict(w.features)
        new.warnings[fp] = w
    if w is None or not w.active:
        w = _open(fp, obs, previous=w)
        new.warnings[fp] = w
        fresh = True
    else:
        fresh = False
    previous_level = w.level
    _fold(w, obs, seen_key, config)
    w.entity_name, w.entity_address = new.entity_name, new.entity_address
    if not fresh:
        w.change = (
            AlertState.escalated if _RANK[w.level] > _RANK[previous_level] else AlertState.updated
        )
    _settle(new, now, silences)
    return new, _changed(base, new, fp, now, config, at=obs.event_time)


def _open(fp: str, obs: _Observation, previous: WarningState | None) -> WarningState:
    """A new warning, or the next epoch of one that ended (keeping its closure for recurrence)."""
    w = WarningState(
        fingerprint=fp,
        epoch=previous.epoch + 1 if previous is not None else 1,
        base_level=obs.level,
        source=obs.source,
        entity=obs.entity,
        item_code=obs.item_code,
        title=obs.title,
        region_code=obs.region_code,
        uscc=obs.uscc,
        shadow=obs.shadow,
        historical=obs.historical,
        chained=obs.chained,
        first_seen=obs.event_time,
        last_seen=obs.event_time,
    )
    if previous is not None:
        w.seen = list(previous.seen)  # a replay of the ended epoch's hits must not reopen it
        w.closed_at = previous.closed_at
        w.closed_task_id = previous.closed_task_id
        w.closed_department = previous.closed_department
        w.fed_back = list(previous.fed_back)
        w.corrections = list(previous.corrections)
        w.revision = previous.revision
    return w


def _fold(w: WarningState, obs: _Observation, seen_key: str, config: LoopConfig) -> None:
    w.occurrences += 1
    w.first_seen = min(w.first_seen, obs.event_time)
    w.last_seen = max(w.last_seen, obs.event_time)
    w.region_code = w.region_code or obs.region_code
    w.uscc = w.uscc or obs.uscc
    if obs.event_id not in w.evidence:
        w.evidence = (w.evidence + [obs.event_id])[-config.max_evidence :]
    w.seen = (w.seen + [seen_key])[-config.max_seen :]
    brief = EvidenceRecord(
        event_id=obs.event_id,
        event_time=obs.event_time,
        source=obs.source,
        reason=obs.reason_key,
        values=dict(obs.reason.values),
    )
    w.evidence_records = [*w.evidence_records, brief][-MAX_EVIDENCE_RECORDS:]
    w.complaint_text = obs.complaint_text or w.complaint_text
    w.complaint = obs.complaint or w.complaint
    w.reasons[obs.reason_key] = obs.reason
    for r in obs.based_on:
        w.reasons[f"{r.kind}:{r.id}"] = r
    if obs.features is not None:
        w.features[obs.reason.id] = obs.features
    if obs.template is not None and (w.template is None or _RANK[obs.level] >= _RANK[w.base_level]):
        w.template = obs.template
        w.title = obs.title
    if _RANK[obs.level] > _RANK[w.base_level]:
        w.base_level = obs.level
    if obs.escalate_to is not None and (
        w.escalate_to is None or _RANK[obs.escalate_to] > _RANK[w.escalate_to]
    ):
        w.escalate_to = obs.escalate_to
    ceiling = w.ceiling(config)  # the base level and the rule's ceiling are final from here
    w.bumps = min(w.bumps, ceiling - _RANK[w.base_level])  # a higher hit: cap again
    w.safety = w.safety or obs.safety
    w.historical = w.historical and obs.historical
    w.window_hits = _within(w.window_hits, obs.event_time, obs.event_time - config.window)
    if (
        config.escalate_after
        and len(w.window_hits) >= config.escalate_after
        and _RANK[w.base_level] + w.bumps < ceiling
    ):
        w.bumps += 1
        w.window_hits = []


def _within(hits: list[datetime], at: datetime, horizon: datetime) -> list[datetime]:
    """``hits`` (sorted, as this function leaves them) and ``at``, sorted, without those at or
    before ``horizon``: what ``sorted(t for t in [*hits, at] if t > horizon)`` gives, by
    bisection (a repeating warning keeps tens of hits in its window, and filtering and
    sorting them on every fold was ~8 % of it).

    >>> t = [datetime(2026, 6, 1, h) for h in (1, 2, 4)]
    >>> [h.hour for h in _within(t, datetime(2026, 6, 1, 3), datetime(2026, 6, 1, 1))]
    [2, 3, 4]
    """
    kept = hits[bisect_right(hits, horizon) :]
    if at > horizon:
        insort_right(kept, at)
    return kept


def _settle(state: EntityWarnings, now: datetime, silences: Sequence[Silence]) -> None:
    """Apply silences, then inhibition, to every live warning of the entity.

    Copy on write: ``state.warnings`` is the caller's own dict, but its warnings may be shared
    with the state it was made from (:func:`_shallow`), so a warning whose silence or
    suppression moves is replaced by a copy; the rest stay shared (copying every warning of
    an entity on every hit was most of a fold's cost)."""
    warnings = state.warnings
    silenced: dict[str, str | None] = {}
    for fp, w in warnings.items():
        if not w.active:
            silenced[fp] = w.silenced_by
            continue
        silence = (
            matching(
                silences,
                now,
                source=w.source,
                entity=w.entity,
                item_code=w.item_code,
                region_code=w.region_code,
                safety=w.safety,
            )
            if silences
            else None
        )
        silenced[fp] = silence.silence_id if silence else None
    levels = {fp: _RANK[w.level] for fp, w in warnings.items()}
    candidates = {
        fp for fp, w in warnings.items() if w.active and not w.shadow and not silenced[fp]
    }
    top = min(
        candidates,
        key=lambda fp: (-levels[fp], warnings[fp].first_seen, fp),
        default=None,
    )
    top_id = warnings[top].alert_id if top is not None else None
    for fp, w in list(warnings.items()):
        inhibited = top is not None and fp in candidates and levels[fp] < levels[top]
        suppressed = top_id if inhibited else None
        if w.silenced_by != silenced[fp] or w.suppressed_by != suppressed:
            warnings[fp] = w.model_copy(
                update={"silenced_by": silenced[fp], "suppressed_by": suppressed}
            )


def _shallow(state: EntityWarnings) -> EntityWarnings:
    """A new state with its own ``warnings`` dict and the same warnings in it.

    The warnings are shared with ``state``, which must stay as it was (an event undone keeps
    its old value): whoever changes one puts a copy in the new dict first (the warning a hit
    folds into, the ones :func:`_settle` or :func:`tick` move, those :func:`_changed`
    notifies). Copying every warning of the entity instead cost ~9 copies per hit with the
    bench's entities (issue #16)."""
    return state.model_copy(update={"warnings": dict(state.warnings)})


def _signature(w: WarningState) -> tuple[object, ...]:
    """Everything a published alert is derived from: equal signatures, equal alerts.

    Evidence, reasons and features only change together with ``occurrences`` (a fold), so
    they need not be compared themselves.
    """
    return (
        w.epoch,
        w.status,
        w.change,
        w.occurrences,
        w.bumps,
        w.base_level,
        w.silenced_by,
        w.suppressed_by,
        w.title,
        w.region_code,
        w.uscc,
        w.first_seen,
        w.last_seen,
    )


def _changed(
    before: EntityWarnings,
    after: EntityWarnings,
    first: str | None,
    now: datetime,
    config: LoopConfig,
    *,
    at: datetime | None = None,
) -> list[Alert]:
    """The alerts of the warnings whose published form changed, each with its notice verdict
    (the warning in ``after`` remembers what a notified record said).

    A notified change joins the warning's history at ``at``: the time of the event that made
    it (a hit), so an event redone after a restart publishes the same record; ``now`` for what
    time or a disposition made (de-escalation, a silence starting or ending, the end).

    ``before`` is the state ``after`` was made from, left as it was: a warning ``after``
    still shares with it did not change (copy on write), so only the others are compared,
    and only those get a notice written into them."""
    order = sorted(after.warnings, key=lambda fp: (fp != first, fp))
    out = []
    for fp in order:
        w = after.warnings[fp]
        old = before.warnings.get(fp)
        if old is w or (old is not None and _signature(old) == _signature(w)):
            continue
        changes, notify = notice(w, now, config)
        if notify:
            w.notice, w.notified_at = w.noticed(), now
            when = at or now
            change = AlertChange(at=when, state=w.alert_state(), level=w.level, changes=changes)
            w.history = [*w.history, change][-MAX_HISTORY:]
        w.revision += 1  # a new record of the warning (``Alert.revision``)
        out.append(w.to_alert(changes, notify))
    return out


def notice(w: WarningState, now: datetime, config: LoopConfig) -> tuple[list[str], bool]:
    """What changed since ``w``'s last notice, in words, and whether to notify it now.

    >>> from loop.loop_config import LoopConfig
    >>> from datetime import timedelta
    >>> t0 = datetime(2026, 6, 1)
    >>> w = WarningState(fingerprint="f", base_level=Level.yellow, source="equipment",
    ...                  entity="E", item_code="I", title="离线", first_seen=t0, last_seen=t0,
    ...                  occurrences=1, change=AlertState.new)
    >>> notice(w, t0, LoopConfig())
    ([], True)
    >>> w.notice, w.notified_at = w.noticed(), t0
    >>> w.occurrences, w.change = 5, AlertState.updated
    >>> notice(w, t0 + timedelta(minutes=10), LoopConfig())
    (['occurrences 1→5'], False)
    >>> notice(w, t0 + timedelta(hours=5), LoopConfig())
    (['occurrences 1→5'], True)
    """
    state = w.alert_state()
    last = w.notice
    if last is None:  # the epoch's first record: news unless a silence already covers it
        return [], state is not AlertState.silenced
    changes: list[str] = []
    urgent = False
    if state != last.state and state in {AlertState.resolved, AlertState.false_alarm}:
        changes.append(f"ended: {state.value}")
        urgent = True
    if w.level != last.level:
        why = (
            f"{config.escalate_after} hits within {_span(config.window)}"
            if w.bumps and w.level.rank > last.level.rank
            else "a higher-level hit"
            if w.level.rank > last.level.rank
            else "quiet"
        )
        changes.append(f"level {last.level.value}→{w.level.value} ({why})")
        urgent = True
    if w.silenced_by != last.silenced_by:
        changes.append(
            f"silenced by {w.silenced_by}" if w.silenced_by else f"silence {last.silenced_by} ended"
        )
        urgent = True
    material = urgent
    if w.suppressed_by != last.suppressed_by:
        changes.append(
            f"suppressed by {w.suppressed_by}" if w.suppressed_by else "no longer suppressed"
        )
        material = True
    joined = sorted(set(w.reasons) - set(last.reasons))
    if joined:
        changes.append("reasons +" + ", +".join(joined))
        material = True
    if w.title != last.title:
        changes.append(f"title {last.title!r}→{w.title!r}")
        material = True
    if w.occurrences != last.occurrences:
        changes.append(f"occurrences {last.occurrences}→{w.occurrences}")
    since = now - w.notified_at if w.notified_at is not None else None
    due = since is None or (
        since >= config.group_interval if material else since >= config.repeat_interval
    )
    return changes, bool(changes) and (urgent or due)


def _span(td: timedelta) -> str:
    """A duration as people write it: ``24h``, ``90m``."""
    minutes = int(td.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
