"""``/warnings``: the filterable list, and one warning in words a person can act on.

The list and the detail are the worker's answers to the person's own token (their regions
only); rule and model filters, which the API does not take, are applied here to that answer. A
warning's page explains why it fired: the rule's title and legal basis (``console.rulebook``),
the values that fired, the model's score and its largest features, the pack/model/fence
versions, what suppresses or silences it, its history and its task. Staff with the operator
role silence it from here, through the worker's ``POST /api/silences`` (which decides, records
who and why, and publishes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from console.auth import require, see_other
from console.backend import BackendError, backend, segment
from console.forms import FormError, SilenceForm, WarningFilter, parse
from console.keys import GATE, RULEBOOK
from console.labels import SOURCES
from console.render import render
from loop.jurisdiction import Forbidden, Permission
from loop.jurisdiction import require as permitted
from loop.silences import Silence
from schemas.records import Alert, AlertState, Level, Reason

if TYPE_CHECKING:
    from loop.identity import Principal

LIST_LIMIT = "1000"
SHOWN = 200
TOP_FEATURES = 5


def keep(alert: Alert, f: WarningFilter) -> bool:
    """The console's own filters: a rule or model among the warning's reasons (by id part)."""
    if f.rule and not any(r.kind == "rule" and f.rule in r.id for r in alert.reasons):
        return False
    return not f.model or any(r.kind == "model" and f.model in r.id for r in alert.reasons)


def _choices() -> dict[str, Any]:
    return {
        "levels": [lv.value for lv in Level],
        "states": [s.value for s in AlertState],
        "sources": list(SOURCES),
    }


async def listing(request: web.Request) -> web.Response:
    """``/warnings``: the person's warnings through the worker (their regions), then the
    rule and model filters the API does not take; the first 200 shown, with the total.
    """
    require(request, Permission.read)
    try:
        f: WarningFilter = parse(WarningFilter, request.query)
    except FormError as exc:
        return render(
            request,
            "warnings.html",
            status=400,
            error=f"筛选条件有误：{exc}",
            warnings=[],
            filters=request.query,
            total=0,
            **_choices(),
        )
    try:
        answer = await backend(request).get(
            request, "/api/warnings", {**f.api_params(), "limit": LIST_LIMIT}
        )
    except BackendError as exc:
        return render(
            request,
            "warnings.html",
            error=exc.message,
            warnings=[],
            filters=request.query,
            total=0,
            **_choices(),
        )
    alerts = [a for a in map(Alert.model_validate, answer["warnings"]) if keep(a, f)]
    return render(
        request,
        "warnings.html",
        warnings=alerts[:SHOWN],
        total=len(alerts),
        filters=request.query,
        **_choices(),
    )


def top_features(reason: Reason, n: int = TOP_FEATURES) -> list[tuple[str, str]]:
    """A model reason's features, largest magnitude first (the threshold and label apart).

    >>> top_features(Reason(kind="model", id="m", version="1", score=0.9,
    ...              values={"a": "0.1", "b": "-3.0", "threshold": "0.5", "c": "x"}))
    [('b', '-3.0'), ('a', '0.1'), ('c', 'x')]
    """

    def size(item: tuple[str, str]) -> float:
        try:
            return abs(float(item[1]))
        except ValueError:
            return -1.0

    features = [(k, v) for k, v in reason.values.items() if k not in {"threshold", "label"}]
    return sorted(features, key=size, reverse=True)[:n]


def _may(who: Principal, permission: Permission, centre: str) -> bool:
    try:
        permitted(who, permission, centre=centre)
    except Forbidden:
        return False
    return True


async def _detail_values(request: web.Request, alert_id: str) -> dict[str, Any]:
    """Everything the detail page shows (a BackendError if the worker refuses)."""
    answer = await backend(request).get(request, f"/api/warnings/{segment(alert_id)}")
    alert = Alert.model_validate(answer["warning"])
    book = request.app[RULEBOOK]
    rules = []
    for reason in alert.reasons:
        if reason.kind == "rule":
            rules.append((reason, await book.lookup(reason.id)))
    models = [(r, top_features(r)) for r in alert.reasons if r.kind == "model"]
    fences = [r for r in alert.reasons if r.kind == "fence"]
    silences = await _silences_of(request, alert)
    return {
        "alert": alert,
        "task": answer.get("task"),
        "rules": rules,
        "models": models,
        "fences": fences,
        "silences": silences,
        "can_silence": _may(request["person"], Permission.operate, request.app[GATE].centre),
    }


async def _silences_of(request: web.Request, alert: Alert) -> list[tuple[Silence, bool]]:
    """Active silences whose matchers fit this warning, each with whether it covers it (a
    safety alarm is covered only by a silence that says so)."""
    try:
        answer = await backend(request).get(request, "/api/silences")
    except BackendError:
        return []
    now = datetime.now(UTC)
    found = []
    for raw in answer.get("silences", []):
        s = Silence.model_validate(raw)
        fits = s.active(now) and s.matches(
            source=alert.source,
            entity=alert.entity,
            item_code=alert.item_code,
            region_code=alert.region_code,
        )
        if fits:
            found.append((s, s.safety or not alert.safety))
    return found


async def detail(request: web.Request) -> web.Response:
    """``/warnings/{alert_id}``: one warning and why it fired; a refusal or a warning the
    worker does not know is a page saying so (a worker that fails is a 502, not a 500).
    """
    require(request, Permission.read)
    alert_id = request.match_info["alert_id"]
    try:
        values = await _detail_values(request, alert_id)
    except BackendError as exc:
        return render(
            request,
            "warning_missing.html",
            status=exc.status if exc.status < 500 else 502,
            error=exc.message,
            alert_id=alert_id,
        )
    notice = None
    if request.query.get("silenced") == "1":
        notice = "静默已提交，工作进程已记录。"
    elif request.query.get("unsilenced") == "1":
        notice = "静默已结束，工作进程已记录结束人。"
    return render(request, "warning.html", notice=notice, form={}, **values)


async def silence(request: web.Request) -> web.StreamResponse:
    """Silence this warning's enterprise (or its item in its region) through the worker."""
    require(request, Permission.operate)
    alert_id = request.match_info["alert_id"]
    form = await request.post()
    try:
        values = await _detail_values(request, alert_id)
    except BackendError as exc:
        return render(
            request, "warning_missing.html", status=502, error=exc.message, alert_id=alert_id
        )
    try:
        asked: SilenceForm = parse(SilenceForm, form)
    except FormError as exc:
        return render(
            request, "warning.html", status=400, error=f"静默未提交：{exc}", form=form, **values
        )
    alert: Alert = values["alert"]
    body: dict[str, Any] = {"reason": asked.reason, "hours": asked.hours, "source": alert.source}
    if asked.scope == "entity":
        body["entity"] = alert.entity
    else:
        body.update(item_code=alert.item_code)
        if alert.region_code:
            body["region_prefix"] = alert.region_code
    try:
        await backend(request).post(request, "/api/silences", body)
    except BackendError as exc:
        return render(
            request,
            "warning.html",
            status=exc.status if exc.status < 500 else 502,
            error=f"静默未提交：{exc.message}",
            form=form,
            **values,
        )
    return see_other(f"/warnings/{segment(alert_id)}?silenced=1")


async def end_silence(request: web.Request) -> web.StreamResponse:
    """End one of the silences shown on this warning now, through the worker (``POST
    /api/silences/{id}/expire``), which records the person as the one who ended it."""
    require(request, Permission.operate)
    alert_id, silence_id = request.match_info["alert_id"], request.match_info["silence_id"]
    try:
        await backend(request).post(request, f"/api/silences/{segment(silence_id)}/expire", {})
    except BackendError as exc:
        try:
            values = await _detail_values(request, alert_id)
        except BackendError:
            return render(
                request, "warning_missing.html", status=502, error=exc.message, alert_id=alert_id
            )
        status = exc.status if exc.status < 500 else 502
        error = f"静默未结束：{exc.message}"
        return render(request, "warning.html", status=status, error=error, form={}, **values)
    return see_other(f"/warnings/{segment(alert_id)}?unsilenced=1")


def routes() -> list[web.RouteDef]:
    """``/warnings``, one warning, silencing it and ending a silence."""
    return [
        web.get("/warnings", listing),
        web.get("/warnings/{alert_id}", detail),
        web.post("/warnings/{alert_id}/silence", silence),
        web.post("/warnings/{alert_id}/silences/{silence_id}/expire", end_silence),
    ]
