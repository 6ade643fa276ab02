"""Hot-loading commands that need the broker: publish, roll back, withdraw, list; silences.

Added to the ``rules``, ``geo`` and ``models`` groups (their offline commands live beside them)
and a ``silence`` group. Every write names who did it (``--by``, default the login user).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from loop.loop_config import load_loop_config
from loop.silences import Silence, create, expire
from schemas.errors import ConfigError, RiskLoopError
from streams.cli.common import LazyModule, bad_input, console, fail, me, settings

if TYPE_CHECKING:  # imported when a command runs: `rules validate` loads this module too
    from config.settings import Settings
    from streams import publish
else:
    publish = LazyModule("streams.publish")

By = Annotated[str, typer.Option("--by", help="who does this (recorded with the change)")]


def rules_publish(
    pack: Path,
    by: By = "",
    force: Annotated[
        bool, typer.Option(help="publish even if examples fail (workers will refuse it)")
    ] = False,
) -> None:
    """Validate, test and publish PACK to control.rulepacks, then wait for every live worker's
    answer: exit 1 with the worker's reason if one refuses it, 3 if one did not answer in time.
    """
    from streams.cli.hotload import report_answers
    from streams.hotload_answers import publish_and_collect

    s = settings()
    pub = publish.prepare_pack(pack, by or me(), force=force)
    answers = publish_and_collect(
        s, lambda: publish.send_pack(s, pub), kind="rulepack", name=pub.name, version=pub.version
    )
    report_answers(f"{pub.name} {pub.version} ({pub.content_hash[:19]}…)", answers)


def rules_rollback(name: str, by: By = "") -> None:
    """Go back to the version of pack NAME before the active one."""
    pub = publish.rollback_pack(settings(), name, by or me())
    console.print(f"rolled {name} back from {pub.rollback_of} to {pub.version}")


def rules_withdraw(name: str, by: By = "") -> None:
    """Withdraw every published version of pack NAME (a shipped pack: back to shipped).

    Each version's record is tombstoned too, so compaction drops them all.
    """
    s = settings()
    cleared = publish.withdraw(s, s.topics.rulepacks, name)
    console.print(f"withdrew pack {name} ({len(cleared)} published versions) by {by or me()}")


def status_list(
    kind: Annotated[
        str | None, typer.Option(help="rulepack, fenceset, model, calendar or silence")
    ] = None,
) -> None:
    """What each worker runs, and anything since: a refused publication beside the version that
    kept running (a refusal is keyed like the acceptance before it, so the latest record alone
    would hide it), a model's drift or demotion, a removal; each with how old it is (a worker
    that stopped leaves its last record: an old age there is a question to ask)."""
    from streams.cli.hotload import age_of
    from streams.control_status import ALL_KINDS, summarise

    table = Table("worker", "kind", "name", "version", "age", "since", "reason")
    now = datetime.now(UTC)
    kinds = ALL_KINDS if kind is None else (kind,)
    for r in summarise((record for _, record in publish.status_records(settings())), kinds):
        since = f"{r.event} {age_of(r.event_at, now)} ago" if r.event else ""
        reason = r.event_reason or r.note
        table.add_row(
            r.worker,
            r.kind,
            r.name,
            r.version or "—",
            age_of(r.since, now) if r.version else "",
            since,
            reason[:60],
        )
    console.print(table)


def geo_publish(fenceset: Path, by: By = "") -> None:
    """Validate FENCESET (GeoJSON) and publish it to control.geofences."""
    from geo.fence_sets import load_fence_set

    load_fence_set(fenceset)  # a file error names the file
    fences = publish.publish_fenceset(settings(), fenceset.read_bytes())
    console.print(
        f"published fence set {fences.name} {fences.version} ({len(fences.fences)} fences) by {by or me()}"
    )


def geo_rollback(name: str, by: By = "") -> None:
    """Go back to the previous valid version of fence set NAME."""
    current, previous = publish.rollback_fenceset(settings(), name)
    console.print(f"rolled fence set {name} back from {current} to {previous} by {by or me()}")


def geo_withdraw(name: str, by: By = "") -> None:
    """Remove fence set NAME from every worker; its version records are tombstoned too."""
    s = settings()
    cleared = publish.withdraw(s, s.topics.geofences, name)
    console.print(f"withdrew fence set {name} ({len(cleared)} published versions) by {by or me()}")


def models_publish(
    name: str,
    version: Annotated[str, typer.Option(help="version to publish")],
    factory: Annotated[
        str | None, typer.Option(help="registered factory (see `riskloop models list`)")
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="a tested setting (`riskloop models list`): its factory and params"),
    ] = None,
    params: Annotated[
        str, typer.Option(help="factory params as JSON (over the preset's, with --preset)")
    ] = "{}",
    shadow: Annotated[
        bool, typer.Option(help="score beside the live model only; disagreements counted")
    ] = False,
    by: By = "",
) -> None:
    """Publish model NAME built by FACTORY with PARAMS, or by a PRESET (models/presets.py: the
    settings models/EVALUATION.md measured) with PARAMS over it; it must score a probe event
    first."""
    from pydantic import ValidationError

    from models.errors import UnknownPreset
    from models.presets import resolve
    from models.publication import ModelPublication, build
    from schemas.problems import readable

    try:
        parsed = json.loads(params)
    except ValueError as exc:
        raise ConfigError(f"--params is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ConfigError("--params must be a JSON object, e.g. '{\"q\": 0.98}'")
    try:
        factory, parsed = resolve(factory, preset, parsed)
    except UnknownPreset as exc:
        raise ConfigError(f"model {name!r} not published: {exc}") from exc
    try:
        pub = ModelPublication(
            name=name,
            factory=factory,
            params=parsed,
            version=version,
            published_by=by or me(),
            shadow=shadow,
        )
    except ValidationError as exc:
        raise ConfigError(f"model {name!r} not published: {readable(exc)}") from exc
    build(pub)  # validates params and scores the probe event
    publish.send_model(settings(), pub)
    console.print(f"published model {name} {version} ({factory})")


def models_rollback(name: str, by: By = "") -> None:
    """Go back to the version of model NAME before the live one (workers keep its learnt state)."""
    pub = publish.rollback_model(settings(), name, by or me())
    console.print(f"rolled model {name} back from {pub.rollback_of} to {pub.version}")


def models_active() -> None:
    """Which model version each worker runs (from control.status), and any refusal since."""
    table = Table("worker", "model", "version", "since", "note")
    for row in publish.active_models(settings()):
        table.add_row(row["worker"], row["name"], row["version"], row["at"][:19], row["note"][:60])
    console.print(table)


silence_app = typer.Typer(
    help="Silences: maintenance windows, known closures (audited).", no_args_is_help=True
)


@silence_app.command("add")
def silence_add(
    reason: Annotated[str, typer.Option(help="why (recorded)")],
    hours: Annotated[float, typer.Option(help="how long")] = 4.0,
    source: Annotated[str | None, typer.Option()] = None,
    entity: Annotated[str | None, typer.Option()] = None,
    item_code: Annotated[str | None, typer.Option()] = None,
    region_prefix: Annotated[str | None, typer.Option()] = None,
    by: By = "",
    safety: Annotated[
        bool,
        typer.Option(help="also silence safety alarms (困人, 超压, 食物中毒); needs --approved-by"),
    ] = False,
    approved_by: Annotated[
        str | None, typer.Option(help="the second person approving --safety (recorded)")
    ] = None,
    preview: Annotated[
        bool, typer.Option(help="only show what it would silence now; publish nothing")
    ] = False,
) -> None:
    """Silence matching warnings (they are still recorded, with state=silenced).

    Shows first which live warnings it would silence, and which safety alarms its matchers
    name but it leaves alone (a maintenance window on an elevator never hides its 困人 alarm
    unless --safety and a second person's --approved-by say so)."""
    now = datetime.now(UTC)
    silence = create(
        {
            "silence_id": f"sil-{uuid.uuid4().hex[:10]}",
            "source": source,
            "entity": entity,
            "item_code": item_code,
            "region_prefix": region_prefix,
            "reason": reason,
            "creator": by or me(),
            "starts_at": now,
            "ends_at": now + timedelta(hours=hours),
            "safety": safety,
            "approved_by": approved_by,
        },
        now,
        load_loop_config().max_silence,
    )
    s = settings()
    if s.api_token is not None:
        from streams.cli.api_client import no_name_of_ones_own

        no_name_of_ones_own("--by", by)
    _print_preview(s, silence, now)
    if preview:
        console.print(f"preview only: silence {silence.silence_id} not published")
        return
    if s.api_token is not None:  # as the token's person, through the worker API
        from streams.cli.api_client import post

        wanted = {"source": source, "entity": entity, "item_code": item_code}
        wanted |= {"region_prefix": region_prefix, "approved_by": approved_by}
        body: dict[str, object] = {"reason": reason, "hours": hours, "safety": safety}
        body |= {k: v for k, v in wanted.items() if v is not None}
        answer = post(s, "/api/silences", body, idempotency_key=None, timeout=30)
        if answer.status != 202:
            fail(f"silence not published: {answer.error}")
        made = answer.body
        console.print(
            f"silence {made['silence_id']} until {made['ends_at']} by {made['creator']}",
            markup=False,
            soft_wrap=True,
        )
        return
    publish.send(s, s.topics.silences, silence.silence_id, silence.model_dump_json().encode())
    console.print(f"silence {silence.silence_id} until {silence.ends_at:%Y-%m-%d %H:%M} UTC")


def _print_preview(s: Settings, silence: Silence, now: datetime) -> None:
    """The live warnings (SQL store) the silence would hit, and the safety alarms it spares."""
    from loop.silences import preview
    from sinks.sql import SqlStore

    try:
        store = SqlStore.from_settings(s)
        try:  # no tables yet: no worker has stored a warning, so there is nothing to hit
            current = store.list_alerts(limit=100_000) if store.has_alerts_table() else []
        finally:
            store.close()
    except RiskLoopError as exc:
        console.print(f"(no preview: the task store cannot be read: {str(exc).splitlines()[0]})")
        return
    hit, spared = preview(silence, current, now)
    console.print(f"would silence {len(hit)} live warning(s) now:")
    for a in hit[:50]:
        console.print(f"  {a.level.value:<6} {a.alert_id} {a.title} · {a.entity}", markup=False)
    if spared:
        console.print(
            f"would NOT silence {len(spared)} safety alarm(s) (needs --safety --approved-by):"
        )
        for a in spared[:50]:
            console.print(f"  {a.level.value:<6} {a.alert_id} {a.title} · {a.entity}", markup=False)


def _silences(s: Settings) -> dict[str, Silence]:
    """The latest record of every silence on control.silences (tombstones dropped)."""
    out = {}
    for key, value in dict(publish.read_signed(s, s.topics.silences)).items():
        if value is not None:
            with bad_input(f"{s.topics.silences}: {key} is not a silence"):
                out[key] = Silence.model_validate_json(value)
    return out


@silence_app.command("list")
def silence_list() -> None:
    """Silences not past their planned end: active ones, and those expired early (by whom).
    With RISKLOOP_API_TOKEN: those in force that the token's person sees (their regions'),
    from the worker API."""
    s = settings()
    now = datetime.now(UTC)
    table = Table("id", "matchers", "reason", "by", "until", "expired")
    if s.api_token is not None:
        from streams.cli.api_client import get

        answer = get(s, "/api/silences", timeout=30)
        if answer.status != 200:
            fail(f"cannot list silences: {answer.error}")
        with bad_input("the worker API's silences"):
            listed = [Silence.model_validate(x) for x in answer.body.get("silences", [])]
    else:
        listed = list(_silences(s).values())
    for sil in listed:
        if sil.ends_at > now:
            m = {
                k: v
                for k, v in sil.model_dump().items()
                if k in ("source", "entity", "item_code", "region_prefix") and v
            }
            table.add_row(
                sil.silence_id,
                json.dumps(m, ensure_ascii=False),
                sil.reason,
                sil.creator,
                f"{sil.ends_at:%Y-%m-%d %H:%M}",
                f"{sil.expired_at:%Y-%m-%d %H:%M} by {sil.expired_by}" if sil.expired_at else "",
            )
    console.print(table)


@silence_app.command("expire")
def silence_expire(silence_id: str, by: By = "") -> None:
    """End a silence now; control.silences records who ended it and when (with
    RISKLOOP_API_TOKEN: the token's person, through the worker API)."""
    s = settings()
    if s.api_token is not None:
        from streams.cli.api_client import no_name_of_ones_own, post

        no_name_of_ones_own("--by", by)
        answer = post(s, f"/api/silences/{silence_id}/expire", {}, idempotency_key=None, timeout=30)
        if answer.status != 202:
            fail(f"silence {silence_id} not expired: {answer.error}")
        console.print(
            f"silence {silence_id} expired by {answer.body['expired_by']}",
            markup=False,
            soft_wrap=True,
        )
        return
    current = _silences(s).get(silence_id)
    if current is None:
        raise ConfigError(f"no silence {silence_id} on {s.topics.silences}")
    ended = expire(current, by or me(), datetime.now(UTC))
    publish.send(s, s.topics.silences, silence_id, ended.model_dump_json().encode())
    console.print(f"silence {silence_id} expired by {ended.expired_by}")


def register(app: typer.Typer) -> None:
    """Add the hot-load commands to the groups they act on (``rules``, ``geo``, ``models``) and
    ``status``/``silence`` to the root: the code that signs and sends control records stays in
    one module, the commands appear where people look for them."""
    from streams.cli import geo, models, rules

    rules.app.command("publish")(rules_publish)
    rules.app.command("rollback")(rules_rollback)
    rules.app.command("withdraw")(rules_withdraw)
    rules.app.command("list")(status_list)
    geo.app.command("publish")(geo_publish)
    geo.app.command("rollback")(geo_rollback)
    geo.app.command("withdraw")(geo_withdraw)
    models.app.command("publish")(models_publish)
    models.app.command("rollback")(models_rollback)
    models.app.command("active")(models_active)
    app.command("status")(status_list)
    app.add_typer(silence_app, name="silence")
