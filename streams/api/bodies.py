"""Turning requests into records: pure functions, so every refusal is unit-testable.

Each returns the record the CLI would have built for the same intent, or raises
:class:`ApiError` with the status and a message a person can act on: 400 when the request
cannot be read at all (not UTF-8, not JSON, a malformed path or query parameter), 422 when it
can be read but is not acceptable (a bad field, a pack whose examples fail, a silence that is
too long).

The field limits below are the contract's: ``openapi.yaml`` states the same ``maxLength``,
``maxItems`` and ``pattern`` for every request field and parameter (a test keeps them equal).
Names fit the task store's ``String(128)`` columns and no text may carry a NUL, which
PostgreSQL will not store, so an accepted write never becomes a row the store sets aside.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from loop.deadlines import CST, END_OF_DAY
from loop.jurisdiction import Forbidden, acting_department
from loop.silences import Silence, create
from rules.compiler import load_pack_text
from rules.testing import failures, run_examples
from schemas.categories import UnknownCategory, check_category
from schemas.errors import ConfigError, Refused, RiskLoopError
from schemas.records import (
    AlertState,
    Disposition,
    DispositionAction,
    DispositionResult,
    Level,
    RulePackPublication,
    TaskState,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from loop.identity import Principal

REGION_PREFIX = re.compile(r"[0-9]{2}([0-9]{2}){0,2}")  # ASCII digits: ``\d`` takes "٣٣" too
USCC = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
MAX_LIMIT = 1000

NAME_MAX = 128
"""Ids and names (task id, department, actor, creator, matchers): the store's column width."""
TEXT_MAX = 2000
"""A reason in words."""
REFERENCE_MAX = 512
"""One evidence reference (a URL or an id)."""
EVIDENCE_MAX_ITEMS = 20
"""Evidence references per disposition."""
NO_NUL = r"^[^\x00]*$"
"""Any text but a NUL character (JSON can carry one, PostgreSQL cannot store it)."""
MAX_PROBLEMS = 10
"""Validation problems named in one refusal; a body of a thousand unknown keys is one 422."""

Name = Annotated[str, StringConstraints(max_length=NAME_MAX, pattern=NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX, pattern=NO_NUL)]
Reference = Annotated[str, StringConstraints(max_length=REFERENCE_MAX, pattern=NO_NUL)]


class ApiError(Refused):
    """A request the API refuses, with the HTTP status to refuse it with."""


def _problems(exc: ValidationError) -> str:
    """The first few problems, each as ``field: what is wrong`` (never the value sent)."""
    errors = exc.errors(include_url=False, include_input=False)
    named = [
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {_message(err)}"
        for err in errors[:MAX_PROBLEMS]
    ]
    if len(errors) > MAX_PROBLEMS:
        named.append(f"and {len(errors) - MAX_PROBLEMS} more")
    return "; ".join(named)


def _message(err: Any) -> str:
    if err["type"] == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == NO_NUL:
        return "must not contain a NUL character"
    return str(err["msg"])


def parameter(name: str, value: str, *, max_length: int = NAME_MAX) -> str:
    """A path or query parameter that is used as text (an id, a filter, a name): 400 if it is
    longer than any stored value can be, or carries a NUL, which PostgreSQL refuses in a query.

    >>> parameter("task_id", "task-1")
    'task-1'
    >>> parameter("task_id", "t\\x00")
    Traceback (most recent call last):
    ...
    streams.api.bodies.ApiError: task_id must not contain a NUL character
    """
    if "\x00" in value:
        raise ApiError(400, f"{name} must not contain a NUL character")
    if len(value) > max_length:
        raise ApiError(400, f"{name} is {len(value)} characters; at most {max_length}")
    return value


def text_of(raw: bytes) -> str:
    """The body as text; a body that is not UTF-8 cannot be a pack or JSON (400)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"body is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object (400 if it is not JSON, 422 if it is JSON but no object).

    Nesting too deep to parse and strings that are not Unicode text (a lone surrogate such as
    ``"\\ud800"``, which JSON allows and UTF-8 cannot carry) are 400s here, not 500s later.

    >>> json_object(b'{"actor": "li\\\\udfff"}')
    Traceback (most recent call last):
    ...
    streams.api.bodies.ApiError: body is not Unicode text: a lone surrogate in a string
    """
    try:
        body = json.loads(text_of(raw))
    except ValueError as exc:
        raise ApiError(400, f"body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise ApiError(400, "body is not JSON this API takes: nested too deeply") from exc
    if not isinstance(body, dict):
        raise ApiError(422, "body must be a JSON object")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(400, "body is not Unicode text: a lone surrogate in a string") from exc
    except RecursionError as exc:  # parsed at the very edge of the stack, one frame short here
        raise ApiError(400, "body is not JSON this API takes: nested too deeply") from exc
    return body


def check_length(declared: str | None, limit: int) -> None:
    """Refuse (413) a body whose declared ``Content-Length`` exceeds ``limit`` bytes.

    >>> check_length("65537", 65536)
    Traceback (most recent call last):
    ...
    streams.api.bodies.ApiError: request body of 65537 bytes is over this endpoint's limit of 65536
    """
    if declared is None:
        return
    if not declared.isascii() or not declared.isdigit():
        raise ApiError(400, "Content-Length must be a number of bytes")
    if int(declared) > limit:
        raise ApiError(
            413, f"request body of {int(declared)} bytes is over this endpoint's limit of {limit}"
        )


class SilenceRequest(BaseModel):
    """What an operator asks for; the server adds the id and the time window."""

    model_config = ConfigDict(extra="forbid", strict=True)

    source: Name | None = None
    entity: Name | None = None
    item_code: Name | None = None
    region_prefix: str | None = Field(None, pattern=f"^{REGION_PREFIX.pattern}$")
    reason: Text
    creator: Name | None = None  # the token's person; another name is refused (403)
    safety: bool = False  # also safety alarms (困人, 超压, 食物中毒): needs approved_by
    approved_by: Name | None = None
    # a year bounds the arithmetic; the loop's max_silence (30 days by default) is the real cap
    hours: float = Field(4.0, gt=0, le=24 * 366, allow_inf_nan=False)


def silence_from(
    body: dict[str, Any],
    *,
    silence_id: str,
    now: datetime,
    max_duration: timedelta,
    who: Principal,
) -> Silence:
    """A validated silence by ``who`` starting ``now``; the loop's rules (a matcher, a maximum
    length) are the same ones ``riskloop silence add`` obeys, because both call ``create``. The
    creator is the token's person; the second person who approves a safety silence cannot be."""
    try:
        req = SilenceRequest.model_validate(body)
    except ValidationError as exc:
        raise ApiError(422, f"silence rejected: {_problems(exc)}") from exc
    own(who, "creator", req.creator)
    if req.approved_by is not None and who.is_person(req.approved_by):
        raise ApiError(422, "silence rejected: approved_by must be a second person, not you")
    data: dict[str, object] = {
        **req.model_dump(exclude={"hours"}),
        "creator": who.actor,
        "silence_id": silence_id,
        "starts_at": now,
        "ends_at": now + timedelta(hours=req.hours),
    }
    try:
        return create(data, now, max_duration)
    except ConfigError as exc:
        raise ApiError(422, str(exc)) from exc


class DepartmentAction(StrEnum):
    """The actions a department may send: every :class:`DispositionAction` but ``assign``
    (close, reopen and the extension decisions are the risk centre's: ``loop.jurisdiction``)."""

    sign = "sign"
    return_ = "return"
    start = "start"
    dispose = "dispose"
    close = "close"
    reopen = "reopen"
    extend = "extend"
    grant_extension = "grant_extension"
    refuse_extension = "refuse_extension"


class DispositionRequest(BaseModel):
    """A department's disposition as the API takes it; the server adds event id and time."""

    model_config = ConfigDict(extra="forbid")

    task_id: Name | None = None  # if sent, the path's
    department: Name | None = None  # if sent, the one the token acts for (403 otherwise)
    action: DepartmentAction
    actor: Name | None = None  # if sent, the token's person (403 otherwise)
    result: DispositionResult | None = None
    reason: Text | None = None
    evidence: list[Reference] = Field(default_factory=list, max_length=EVIDENCE_MAX_ITEMS)
    extend_to: date | None = None  # with extend: the new dispose deadline's day (CST)
    category: Name | None = None  # with dispose: the complaint's category (schemas.categories)


def disposition_from(
    body: dict[str, Any],
    *,
    task_id: str,
    event_id: str,
    now: datetime,
    who: Principal,
    centre: str,
) -> Disposition:
    """A disposition of ``task_id`` by ``who``; event id and time are the server's, never the
    client's, so a department cannot back-date an action in the audit trail, and so are actor
    and department: the token's person, acting for their department (for the risk centre's
    close and reopen: the centre). A body naming another actor or department is refused (403):
    a client that believes it acts for someone else has a bug worth hearing about.

    >>> from loop.identity import Principal
    >>> from datetime import UTC
    >>> li = Principal(sub="u-li", name="李明", roles={"handler"}, department="hz_market")
    >>> d = disposition_from({"action": "sign"}, task_id="t1", event_id="e1",
    ...     now=datetime(2026, 1, 5, tzinfo=UTC), who=li, centre="risk_centre")
    >>> d.actor, d.department
    ('李明 <u-li>', 'hz_market')
    """
    for field in ("event_id", "event_time"):
        if field in body:
            raise ApiError(422, f"{field} is filled by the server; leave it out")
    if body.get("action") == DispositionAction.assign.value or "assign_to" in body:
        raise ApiError(422, "arbitration is the risk centre's: POST /api/tasks/{id}/assignments")
    try:
        req = DispositionRequest.model_validate(body)
    except ValidationError as exc:
        raise ApiError(422, f"disposition rejected: {_problems(exc)}") from exc
    if req.task_id not in (None, task_id):
        raise ApiError(422, f"task_id in the body ({req.task_id!r}) is not the one in the path")
    action = DispositionAction(req.action.value)
    department = acting_department(who, action, centre=centre)
    own(who, "actor", req.actor)
    if req.department not in (None, department):
        raise Forbidden(
            f"department {req.department!r} in the body: your token acts for {department}"
        )
    if (req.extend_to is not None) != (action is DispositionAction.extend):
        raise ApiError(422, "extend_to goes with action extend, and only with it")
    extend_to = None if req.extend_to is None else datetime.combine(req.extend_to, END_OF_DAY, CST)
    return Disposition.model_validate(
        {
            **req.model_dump(),
            "task_id": task_id,
            "event_id": event_id,
            "event_time": now,
            "department": department,
            "actor": who.actor,
            "extend_to": extend_to,
            "category": _category(req.category, action),
        }
    )


def _category(category: str | None, action: DispositionAction) -> str | None:
    """A category correction: with dispose only, and one of the taxonomy's first-level
    categories (422 naming them); the worker checks again (``bad_category``)."""
    if category is None:
        return None
    if action is not DispositionAction.dispose:
        raise ApiError(422, "category goes with action dispose, and only with it")
    try:
        return check_category(category)
    except UnknownCategory as exc:
        raise ApiError(422, f"disposition rejected: category: {exc}") from exc


def own(who: Principal, field: str, value: str | None) -> None:
    """Forbidden if a body names someone else than the token's person in ``field``."""
    if value is not None and not who.is_person(value):
        raise Forbidden(f"{field} {value[:40]!r} in the body is not you ({who.actor})")


class AssignmentRequest(BaseModel):
    """The risk centre's arbitration decision, as the API takes it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    department: Name = Field(min_length=1, description="the department that gets the task")
    actor: Name | None = Field(None, description="if sent, the token's person (403 otherwise)")
    reason: Text = Field(min_length=1, description="why (recorded in the audit trail)")


def assignment_from(
    body: dict[str, Any],
    *,
    task_id: str,
    event_id: str,
    now: datetime,
    centre: str,
    departments: Collection[str],
    who: Principal,
) -> Disposition:
    """An ``assign`` disposition of ``task_id`` sent by ``who`` for the risk centre; the
    department must be one that can receive tasks (it has a topic), so a typo is refused here,
    not dead-lettered.

    >>> from loop.identity import Principal
    >>> from datetime import UTC
    >>> chen = Principal(sub="u-chen", name="陈", roles={"supervisor"}, department="risk_centre")
    >>> d = assignment_from({"department": "zj_market", "reason": "省局裁定"},
    ...     task_id="t1", event_id="e1", now=datetime(2026, 1, 5, tzinfo=UTC),
    ...     centre="risk_centre", departments={"zj_market"}, who=chen)
    >>> d.action.value, d.department, d.assign_to, d.actor
    ('assign', 'risk_centre', 'zj_market', '陈 <u-chen>')
    """
    try:
        req = AssignmentRequest.model_validate(body)
    except ValidationError as exc:
        raise ApiError(422, f"assignment rejected: {_problems(exc)}") from exc
    own(who, "actor", req.actor)
    if req.department not in departments:
        raise ApiError(422, f"unknown department {req.department!r}; it has no task topic")
    return Disposition(
        event_id=event_id,
        event_time=now,
        task_id=task_id,
        department=centre,
        action=DispositionAction.assign,
        actor=who.actor,
        reason=req.reason,
        assign_to=req.department,
    )


def pack_publication(raw: bytes, *, who: str, now: datetime) -> RulePackPublication:
    """Validate, compile and test a pack like ``riskloop rules publish`` (no ``--force``).

    YAML the parser cannot hold is refused like JSON: nesting deeper than Python's stack is a
    400, an integer longer than Python converts (4300 digits) a 422.
    """
    text = text_of(raw)
    if not text.strip():
        raise ApiError(400, "body is empty: send the pack's YAML")
    try:
        pack = load_pack_text(text, origin="request body")
    except RiskLoopError as exc:
        raise ApiError(422, str(exc)) from exc
    except RecursionError as exc:
        raise ApiError(400, "body is not YAML this API takes: nested too deeply") from exc
    except ValueError as exc:  # int("9" * 5000) in the YAML constructor, before any check
        if "integer string conversion" not in str(exc):
            raise  # any other is a bug to see: a 500 with its traceback in the log
        raise ApiError(422, f"request body: the pack cannot be read: {exc}") from exc
    failed = failures(run_examples(pack))
    if failed:
        names = ", ".join(f"{f.rule_id}/{f.example}" for f in failed[:5])
        raise ApiError(
            422, f"{len(failed)} example(s) fail ({names}); a failing pack cannot be activated"
        )
    return RulePackPublication(
        name=pack.name,
        version=pack.version,
        content_hash=pack.content_hash,
        yaml=text,
        published_by=who,
        published_at=now,
    )


def known_only(query: Mapping[str, str], allowed: set[str]) -> None:
    """400 for a query parameter the endpoint does not take: ``?department=hz_market`` on
    /api/warnings returned every warning, which a person reads as "filtered".

    >>> known_only({"department": "hz_market"}, {"level"})
    Traceback (most recent call last):
    ...
    streams.api.bodies.ApiError: unknown query parameter department (this endpoint takes: level)
    """
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise ApiError(
            400,
            f"unknown query parameter {', '.join(unknown)} (this endpoint takes: "
            f"{', '.join(sorted(allowed)) or 'none'})",
        )


def limit_of(query: Mapping[str, str]) -> int:
    """The ``limit`` parameter (default 100), 400 outside 1..MAX_LIMIT."""
    raw_limit = query.get("limit", "100")
    # short before int(): it refuses more than 4300 digits with a ValueError
    digits = raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 9
    if not digits or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw_limit)


def task_filters(query: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments for ``SqlStore.list_tasks`` (400 if malformed or unknown).

    >>> task_filters({"department": "hz_market", "state": "signed"})
    {'department': 'hz_market', 'state': 'signed', 'limit': 100}
    """
    known_only(query, {"department", "state", "limit"})
    state = query.get("state")
    if state is not None and state not in {s.value for s in TaskState}:
        raise ApiError(400, f"state must be one of {', '.join(s.value for s in TaskState)}")
    department = query.get("department")
    if department is not None:
        parameter("department", department)
    return {"department": department, "state": state, "limit": limit_of(query)}


def warning_filters(query: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments for ``SqlStore.list_alerts`` from a query string (400 if malformed).

    >>> warning_filters({"level": "red", "region": "3301", "limit": "5"})
    {'level': 'red', 'source': None, 'region': '3301', 'state': None, 'limit': 5}
    """
    known_only(query, {"level", "state", "region", "limit", "source"})
    level, state = query.get("level"), query.get("state")
    if level is not None and level not in Level.__members__:
        raise ApiError(400, f"level must be one of {', '.join(Level.__members__)}")
    if state is not None and state not in {s.value for s in AlertState}:
        raise ApiError(400, f"state must be one of {', '.join(s.value for s in AlertState)}")
    region = query.get("region")
    if region is not None and not REGION_PREFIX.fullmatch(region):
        raise ApiError(400, "region must be 2, 4 or 6 digits of a GB/T 2260 code")
    source = query.get("source")
    if source is not None:
        parameter("source", source)
    return {
        "level": level,
        "source": source,
        "region": region,
        "state": state,
        "limit": limit_of(query),
    }
