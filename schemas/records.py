"""The data standard (统一数据标准): one pydantic model per record that crosses a topic.

Each model mirrors an Avro schema in ``schemas/avro/<name>.avsc`` field for field; a test
(``tests/unit/schemas/test_avro_agreement.py``) proves the pairs agree, so they cannot drift.
Every source event carries ``event_id`` (unique per source, used for dedup and deterministic
ids downstream) and ``event_time`` (UTC, when it happened, not when we saw it).

Models are frozen: a record is a fact. Normalisation (time zones, CRS, text width, masking)
happens in ``schemas.validation`` before a model is built.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """Base of every record: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceRecord(Record):
    """Base of every ingest source's event: what dedup, event-time clocks, profiles and ids
    read from any source without knowing which (``schemas/sources.py`` lists the sources).

    ``event_id`` is unique per source; ``event_time`` is when it happened, not when we saw it.
    """

    event_id: str
    event_time: datetime


class Level(StrEnum):
    """Warning level, red highest (I 特别严重) to blue lowest (IV 一般)."""

    red = "red"
    orange = "orange"
    yellow = "yellow"
    blue = "blue"

    @property
    def rank(self) -> int:
        """4 for red … 1 for blue, so levels compare numerically."""
        return {"red": 4, "orange": 3, "yellow": 2, "blue": 1}[self.value]


class Crs(StrEnum):
    """Coordinate reference system a source declares; everything is compared in WGS-84."""

    wgs84 = "WGS84"
    gcj02 = "GCJ02"


# ---------------------------------------------------------------- the four sources


class InspectionOutcome(StrEnum):
    """Result of an inspection: 合格, 不合格 or 责令整改."""

    passed = "pass"  # 合格
    failed = "fail"  # 不合格
    rectify = "rectify"  # 责令整改


class Severity(StrEnum):
    """Violation group, as inspection checklists grade them."""

    critical = "critical"
    serious = "serious"
    minor = "minor"


class Violation(Record):
    """One violation found at an inspection."""

    code: str
    severity: Severity
    description: str = ""


class InspectionResult(SourceRecord):
    """Outcome of an on-site inspection (执法检查结果), keyed by the entity's USCC."""

    uscc: str
    entity_name: str
    region_code: str
    item_code: str = ""
    department: str = ""
    inspector_id: str | None = None
    outcome: InspectionOutcome
    violations: list[Violation] = Field(default_factory=list)
    critical_count: int = 0
    serious_count: int = 0
    minor_count: int = 0
    score: float | None = None
    risk_tier: int | None = None
    facility_type: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    crs: Crs = Crs.wgs84


class Channel(StrEnum):
    """Where a complaint came in. Values are not Avro names, so Avro carries them as strings."""

    hotline_12345 = "12345"
    hotline_12315 = "12315"
    web = "web"
    app = "app"


class Complaint(SourceRecord):
    """A complaint or report (投诉举报); personal data is masked before this model is built."""

    channel: Channel
    text: str
    subject: str | None = None
    category: str | None = None
    urgency: str | None = None
    uscc: str | None = None
    entity_name: str | None = None
    address: str | None = None
    region_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    crs: Crs = Crs.wgs84
    complainant_name: str | None = None
    """The complainant's name, surname only (``张**``): masked at ingest."""
    complainant_phone: str | None = None
    complainant_id: str | None = None


class EquipmentType(StrEnum):
    """Kind of special equipment (特种设备)."""

    elevator = "elevator"
    boiler = "boiler"
    pressure_vessel = "pressure_vessel"
    crane = "crane"
    ropeway = "ropeway"


class EquipmentReading(SourceRecord):
    """A special-equipment sensor reading (特种设备), keyed by the registration code."""

    equipment_code: str
    equipment_type: EquipmentType
    uscc: str
    region_code: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    units: dict[str, str] = Field(default_factory=dict)
    rated: dict[str, float] = Field(default_factory=dict)
    door_faults: int = 0
    trapped: bool = False


class TruckFix(SourceRecord):
    """A GPS fix of a muck truck (渣土车), keyed by plate; lat/lon already in WGS-84."""

    plate: str
    lat: float
    lon: float
    crs: Crs = Crs.wgs84
    company_uscc: str | None = None
    permit_id: str | None = None
    speed_kmh: float | None = None
    heading: float | None = None
    loaded: bool | None = None
    region_code: str | None = None


# ---------------------------------------------------------------- the loop


class DispositionAction(StrEnum):
    """What a department does with a task."""

    sign = "sign"  # 签收
    return_ = "return"  # 退单
    start = "start"  # 开始办理
    dispose = "dispose"  # 办结反馈
    close = "close"  # 风险中心结案
    reopen = "reopen"  # 重新打开
    assign = "assign"  # 仲裁指派 (risk centre, a task in arbitration → ``assign_to``)
    extend = "extend"  # 申请延期 (department: a later dispose deadline, ``extend_to``)
    grant_extension = "grant_extension"  # 批准延期 (risk centre)
    refuse_extension = "refuse_extension"  # 驳回延期 (risk centre)


class DispositionResult(StrEnum):
    """Outcome of a verification; confirmed and false_alarm are labels the models learn from."""

    confirmed = "confirmed"  # 属实已处置
    rectification = "rectification"  # 责令整改
    false_alarm = "false_alarm"  # 不属实
    not_found = "not_found"  # 查无此事


class Disposition(SourceRecord):
    """What a department (or the risk centre) sends back about a task, keyed by task id."""

    task_id: str
    department: str
    action: DispositionAction
    actor: str
    result: DispositionResult | None = None
    reason: str | None = None
    evidence: list[str] = Field(default_factory=list)
    assign_to: str | None = None
    extend_to: datetime | None = None
    """With ``extend``: the dispose deadline asked for (the end of a working day, CST)."""
    category: str | None = None
    """With ``dispose``: the complaint's category as the department found it, a first-level
    category of the taxonomy (``schemas.categories``); the complaint classifier learns it."""


class AlertState(StrEnum):
    """The change an alert record announces."""

    new = "new"
    updated = "updated"
    escalated = "escalated"
    deescalated = "deescalated"
    suppressed = "suppressed"
    silenced = "silenced"
    resolved = "resolved"
    false_alarm = "false_alarm"


class Reason(Record):
    """Why a warning fired: one rule hit or model score, with its provenance."""

    kind: str  # "rule" | "model" | "fence" (the fence set a geo detection came from)
    id: str  # rule id or model name
    version: str  # pack version or model version
    content_hash: str = ""
    pack: str | None = None
    score: float = 0.0
    values: dict[str, str] = Field(default_factory=dict)


class EvidenceRecord(Record):
    """What one evidence event of a warning said: when, from where, the values that fired.

    A warning keeps the last few (``loop.warnings.MAX_EVIDENCE_RECORDS``), not whole events."""

    event_id: str
    event_time: datetime
    source: str
    reason: str = ""  # "rule:<id>" or "model:<name>"
    values: dict[str, str] = Field(default_factory=dict)


class AlertChange(Record):
    """One notified change of a warning (new → escalated → resolved …), for its history."""

    at: datetime
    state: AlertState
    level: Level
    changes: list[str] = Field(default_factory=list)


class Alert(Record):
    """A warning (预警), one per fingerprint, keyed by fingerprint: every change in SQL, the
    notified ones and moves of state or level on ``alerts`` in brief (``loop.alert_topic``)."""

    alert_id: str
    fingerprint: str
    state: AlertState
    level: Level
    source: str
    entity: str
    item_code: str
    title: str
    region_code: str | None = None
    uscc: str | None = None
    occurrences: int = 1
    first_seen: datetime
    last_seen: datetime
    evidence: list[str] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)
    suppressed_by: str | None = None
    correlation_id: str = ""
    shadow: bool = False
    changes: list[str] = Field(default_factory=list)
    """What changed since the last notified record of this warning, in words (``loop.warnings``)."""
    notify: bool = True
    """Worth a person's attention (Alertmanager's group/repeat intervals); views show only these."""
    historical: bool = False
    """From a backfill: recorded and profiled, never tasked."""
    safety: bool = False
    """A safety alarm (困人, 超压, 食物中毒): silenced only by a silence that says so, approved."""
    case_task_id: str | None = None
    """The task of the case this warning joined (same entity, same event): it has no own task."""
    entity_name: str | None = None
    """Who: the latest enterprise name an event of this entity carried (inspection, complaint)."""
    entity_address: str | None = None
    """Where: the latest address an event of this entity carried."""
    complaint_text: str | None = None
    """What the latest complaint behind this warning said (subject and text), PII masked."""
    evidence_records: list[EvidenceRecord] = Field(default_factory=list)
    """The last few evidence events in brief (time, source, the values that fired)."""
    history: list[AlertChange] = Field(default_factory=list)
    """The warning's notified changes, oldest first, the last 20."""
    revision: int = 0
    """Raised by one with every record of the warning (``loop.warnings``): the SQL store and the
    Redis views keep the highest they were sent, so a copy that an earlier owner of the
    warning's partition still held in its outbox cannot overwrite a newer one (sinks/sql.py,
    sinks/redis_views.py)."""


class TaskState(StrEnum):
    """States of the task state machine."""

    created = "created"
    dispatched = "dispatched"
    signed = "signed"
    returned = "returned"
    arbitration = "arbitration"
    in_progress = "in_progress"
    disposed = "disposed"
    closed = "closed"
    reopened = "reopened"


class DeadlineBasis(StrEnum):
    """What a task's deadlines rest on, strongest first: ``clock`` durations need no
    calendar; ``official`` a notice file the risk centre loaded; ``package`` the
    chinese_calendar package; ``provisional`` weekends and statutory holidays only."""

    clock = "clock"
    official = "official"
    package = "package"
    provisional = "provisional"


class Task(Record):
    """A verification task (核查任务), published on ``tasks.<department>``."""

    task_id: str
    alert_id: str
    fingerprint: str
    department: str
    state: TaskState
    level: Level
    title: str
    entity: str
    item_code: str
    uscc: str | None = None
    region_code: str | None = None
    checklist: list[str] = Field(default_factory=list)
    required_evidence: list[str] = Field(default_factory=list)
    created_at: datetime
    sign_deadline: datetime
    dispose_deadline: datetime
    deadline_basis: DeadlineBasis = DeadlineBasis.package
    returns: int = 0
    previous_task_id: str | None = None
    correlation_id: str = ""
    entity_name: str | None = None
    """Who: the enterprise's name as the warning's events gave it."""
    entity_address: str | None = None
    """Where: its address as the warning's events gave it."""
    complaint_text: str | None = None
    """What was reported (a task from complaints), personal data masked."""
    evidence: list[str] = Field(default_factory=list)
    """The evidence of its disposal: references, ``sha256:<hex>/<file name>`` for a stored file."""
    extension_to: datetime | None = None
    """A pending extension request (延期申请): the dispose deadline the department asks for."""
    extension_reason: str | None = None
    """Why the department asks for it; the risk centre grants or refuses it."""
    extensions: int = 0
    """Extensions granted so far."""
    revision: int = 0
    """Raised by one with every event of the task (loop/state_machine.py, loop/cases.py): the
    SQL store keeps the highest it was sent, so a copy that an earlier owner of the task's
    partition still held in its outbox cannot overwrite a newer one (sinks/sql.py)."""
    source: str | None = None
    """The source of the warning that opened it (``inspections``, ``complaints``, …), so that a
    notification route's ``source`` matches the task's 催办/督办 as it matches its warnings;
    None on a task written before Task v6 (2026-12-07)."""


class TaskEvent(Record):
    """One task state transition (全程留痕): who, when, from, to, why."""

    event_id: str
    task_id: str
    at: datetime
    actor: str
    from_state: TaskState | None = None
    to_state: TaskState
    reason: str | None = None
    department: str
    correlation_id: str = ""


class SupervisionKind(StrEnum):
    """Steps of the overdue ladder."""

    reminder = "reminder"  # 催办
    supervision = "supervision"  # 督办
    notice = "notice"  # 通报


class SupervisionEvent(Record):
    """An overdue-ladder step for a task (催办/督办/通报)."""

    event_id: str
    task_id: str
    kind: SupervisionKind
    at: datetime
    department: str
    deadline: datetime
    level: Level
    correlation_id: str = ""


class VerdictOutcome(StrEnum):
    """What the worker did with one disposition."""

    applied = "applied"  # the task moved
    duplicate = "duplicate"  # this event id was applied before (a retry): nothing changed
    refused = "refused"  # not allowed: ``reason`` says why, nothing changed


class DispositionVerdict(Record):
    """The worker's answer to one disposition, on ``tasks.verdicts`` keyed by task id.

    The task's state lives only in the worker that holds its partition, so only that worker can
    say whether a disposition applies; the API and the CLI wait for this record instead of
    answering "sent" for a disposition the worker then dead-letters.
    """

    event_id: str
    task_id: str
    action: DispositionAction
    outcome: VerdictOutcome
    reason: str | None = None  # a stable code (loop/errors.py) when refused
    message: str = ""
    state: TaskState | None = None  # the task's state after (None: no such task)
    department: str | None = None  # who holds the task after
    at: datetime


class RulePackPublication(Record):
    """A rule pack version on ``control.rulepacks`` (compacted; one key per version, see
    ``streams.control_keys``)."""

    name: str
    version: str
    content_hash: str
    yaml: str
    published_by: str
    published_at: datetime
    rollback_of: str | None = None


class DeadLetter(Record):
    """A rejected record: why, where it came from, and its original bytes, nothing lost.

    The bytes travel as base64 in JSON: a rejected payload is often not valid UTF-8. They are
    sealed under the operators' key when the worker has one (``encryption``), since they hold
    whatever the sender put in them, phone and ID numbers included.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64"
    )

    reason: str
    field: str = ""
    message: str
    source: str
    topic: str
    partition: int = -1
    offset: int = -1
    key: bytes | None = None
    payload: bytes
    rejected_at: datetime
    worker: str = ""
    encryption: str = ""
    """Empty: ``key`` and ``payload`` are plain (records from before sealing, or a worker with
    no key); ``aes256gcm:<key id>``: both are sealed (:mod:`schemas.sealing`)."""
    preview: str = ""
    """The payload's head with personal data masked: what triage reads without the key."""


class RekeyedEvent(Record):
    """Internal (``riskloop.rekeyed``, keyed by ``entity``): an event some of whose rules keep
    their windows and warnings under an entity that is not its topic's key — a complaint's
    address, a muck truck's company. It travels to the entity's partition, as Kafka Streams
    repartitions before an aggregation, so one address's complaints under three keys meet in
    one window (streams/rekey.py)."""

    source: str  # the rule source ("complaints", "truck_detections", ...)
    entity: str
    rules: list[str]  # the rule ids to evaluate there
    event: dict[str, Any]  # the validated record (or geo detection) as JSON
    based_on: list[Reason] = Field(default_factory=list)  # e.g. the fence set of a detection
    origin: str  # "topic:partition:offset" of the event it came from
    historical: bool = False  # the event came from a backfill (streams/backfill.py): no task
