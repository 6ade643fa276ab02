"""Commands for people in the loop: the risk centre and the departments.

``alerts tail`` (a live view of warnings and tasks), ``tasks show`` (a task with its full audit
trail from the SQL store), ``tasks dispose`` (what a department sends back), ``tasks assign``
(the risk centre's arbitration of a disputed task), ``sample`` (the
"双随机" risk-weighted inspection list from the entity profiles).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from config.settings import Settings
from loop.deadlines import CST, END_OF_DAY
from loop.loop_config import load_loop_config
from loop.profile import EntityProfile
from loop.sampling import sample as draw
from schemas.errors import ConfigError
from schemas.records import Disposition, DispositionAction, DispositionResult
from streams.cli.common import bad_input, console, fail, instant, settings
from streams.cli.lines import who

tasks_app = typer.Typer(
    help="Verification tasks: show one with its audit trail; dispose of one; assign one in arbitration.",
    no_args_is_help=True,
)
alerts_app = typer.Typer(
    help="Warnings: a live, readable view for the risk centre.", no_args_is_help=True
)


@tasks_app.command("show")
def tasks_show(task_id: str) -> None:
    """The task and its full story (全程留痕): every transition, every 催办/督办/通报 and every
    attempt to notify someone of them."""
    from sinks.sql import SqlStore

    store = SqlStore.from_settings(settings())
    try:
        story = store.task_with_audit(task_id)
    finally:
        store.close()
    if story is None or story.task is None:
        raise ConfigError(f"no task {task_id} in the task store")
    t = story.task
    console.print(f"[bold]{t.task_id}[/] {t.level.value.upper()} {t.title}")
    console.print(
        f"  {t.department} · {t.state.value} · entity {t.entity} · sign by {t.sign_deadline:%Y-%m-%d %H:%M} · dispose by {t.dispose_deadline:%Y-%m-%d %H:%M} UTC"
    )
    table = Table("when (UTC)", "who", "from", "to", "why")
    for ev in story.events:
        table.add_row(
            f"{ev.at:%Y-%m-%d %H:%M:%S}",
            ev.actor,
            ev.from_state.value if ev.from_state else "",
            ev.to_state.value,
            ev.reason or "",
        )
    for sup in story.supervision:
        table.add_row(
            f"{sup.at:%Y-%m-%d %H:%M:%S}",
            "riskloop",
            "",
            sup.kind.value,
            f"deadline {sup.deadline:%Y-%m-%d %H:%M}",
        )
    for n in story.notifications:
        table.add_row(
            f"{n.at:%Y-%m-%d %H:%M:%S}",
            f"notify → {n.receiver}",
            "",
            _NOTIFIED.get(n.outcome, n.outcome),
            f"{n.step} (attempt {n.attempt}): {n.detail}",
        )
    console.print(table)


_NOTIFIED = {"sent": "notified", "failed": "not delivered", "requeued": "sent again now"}
"""How a notification attempt reads in a task's story (``NotificationAttempt.outcome``)."""

IdempotencyKey = Annotated[
    str | None,
    typer.Option(help="the same key on a retry applies the disposition once (any unique text)"),
]
Wait = Annotated[
    float, typer.Option(min=0, help="seconds to wait for the worker's verdict (0: send only)")
]
VERDICT_WAIT = 15.0


@tasks_app.command("dispose")
def tasks_dispose(
    task_id: str,
    department: Annotated[
        str | None,
        typer.Option(
            help="your department (must own the task); with RISKLOOP_API_TOKEN the token's"
        ),
    ] = None,
    action: Annotated[
        DispositionAction,
        typer.Option(
            help="sign, return, start, dispose, close, reopen; extend (延期, with --extend-to),"
            " grant_extension, refuse_extension (the risk centre)"
        ),
    ] = DispositionAction.dispose,
    result: Annotated[
        DispositionResult | None, typer.Option(help="with dispose: the finding")
    ] = None,
    evidence: Annotated[
        list[str] | None, typer.Option(help="evidence reference (repeatable)")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="why (returns, reopening)")] = None,
    extend_to: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="with extend: the new deadline's day (CST)"),
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            help="with dispose: the complaint's real category (一级分类 of the taxonomy), taught"
            " to the complaint classifier"
        ),
    ] = None,
    by: Annotated[str, typer.Option("--by", help="who (recorded in the audit trail)")] = "",
    idempotency_key: IdempotencyKey = None,
    wait: Wait = VERDICT_WAIT,
) -> None:
    """Send a disposition for TASK_ID and print the worker's verdict: exit 0 when applied (or
    already applied), 1 when refused (with the worker's reason; a category that is not one of
    the taxonomy's is refused before anything is sent), 3 when no verdict came in time.
    With RISKLOOP_API_TOKEN set it goes through the worker API as the token's person, who the
    audit trail then names.
    """
    from schemas.categories import check_category

    category = None if category is None else check_category(category)
    s = settings()
    if s.api_token is not None:
        from streams.cli.api_client import no_name_of_ones_own

        no_name_of_ones_own("--by", by)
        body: dict[str, object] = {"action": action.value, "evidence": list(evidence or [])}
        extras: dict[str, str | None] = {
            "department": department,
            "result": result.value if result else None,
            "reason": reason,
            "category": category,
            "extend_to": f"{extend_to:%Y-%m-%d}" if extend_to else None,
        }
        body |= {k: v for k, v in extras.items() if v is not None}
        _post_and_judge(s, task_id, "dispositions", body, idempotency_key)
        return
    if department is None:
        raise ConfigError("--department is required (or set RISKLOOP_API_TOKEN to act as a person)")
    record = Disposition(
        event_id=_event_id(task_id, idempotency_key, "disp"),
        event_time=datetime.now(UTC),
        task_id=task_id,
        department=department,
        action=action,
        actor=by or department,
        result=result,
        reason=reason,
        evidence=list(evidence or []),
        extend_to=None
        if extend_to is None
        else datetime.combine(extend_to.date(), END_OF_DAY, CST),
        category=category,
    )
    _send_and_judge(s, record, wait)


def _event_id(task_id: str, key: str | None, prefix: str) -> str:
    from loop.verdicts import idempotent_event_id

    if key is None:
        return f"{prefix}-{uuid.uuid4().hex[:16]}"
    if not key.strip():
        raise ConfigError("--idempotency-key must not be empty")
    return idempotent_event_id(task_id, key, prefix)


def _send_and_judge(s: Settings, record: Disposition, wait: float) -> None:
    """Send the disposition, then say what the worker did with it (exit 1 refused, 3 no verdict)."""
    from streams.admin import create_topics
    from streams.publish import send
    from streams.verdicts import door_problem, send_and_wait

    what = f"{record.action.value} for {record.task_id} ({record.event_id})"
    problem = door_problem(s, record)
    if problem is not None:
        fail(f"not sent {what}: the worker would refuse it: {problem}")

    def go() -> None:
        send(s, s.topics.dispositions, record.task_id, record.model_dump_json().encode())

    if wait == 0:
        go()
        console.print(f"sent {what}")
        return
    create_topics(s)
    verdict = send_and_wait(s, record.event_id, go, timeout=wait)
    if verdict is None:
        fail(
            f"sent {what}, but no worker answered within {wait:g} s; it may still apply "
            "(is a worker running?) — resend with the same --idempotency-key to be safe",
            code=3,
        )
    if verdict.outcome.value == "refused":
        fail(f"refused {what}: {verdict.reason}: {verdict.message}", code=1)
    state = verdict.state.value if verdict.state else "?"
    console.print(f"{verdict.outcome.value} {what}: the task is {state} at {verdict.department}")


def _post_and_judge(
    s: Settings, task_id: str, kind: str, body: dict[str, object], key: str | None
) -> None:
    """POST a task write (``kind``: dispositions or assignments) to the worker API as the
    token's person and say what the worker did
    with it, with the exit codes of the Kafka path (1 refused or not sent, 3 no verdict). The
    API waits for the verdict itself (``API_VERDICT_TIMEOUT``), so ``--wait`` does not apply."""
    from streams.cli.api_client import post
    from streams.verdicts import API_VERDICT_TIMEOUT

    if key is not None and not key.strip():
        raise ConfigError("--idempotency-key must not be empty")
    path = f"/api/tasks/{task_id}/{kind}"
    answer = post(s, path, body, idempotency_key=key, timeout=API_VERDICT_TIMEOUT + 15)
    sent = answer.body.get("disposition") or {}
    what = f"{body.get('action', 'assign')} for {task_id}"
    what += f" ({sent['event_id']})" if "event_id" in sent else ""
    if answer.status == 202:
        fail(f"sent {what}, but no worker answered in time; {answer.body.get('message')}", code=3)
    if answer.status != 200:
        fail(f"refused {what}: {answer.error}", code=1)
    verdict = answer.body["verdict"]
    console.print(
        f"{verdict['outcome']} {what}: the task is {verdict.get('state') or '?'} at "
        f"{verdict.get('department')} (as {sent.get('actor')})",
        markup=False,
        soft_wrap=True,  # one line, whatever the terminal: scripts read it
    )


@tasks_app.command("assign")
def tasks_assign(
    task_id: str,
    department: Annotated[str, typer.Option(help="the department that gets the task")],
    reason: Annotated[str, typer.Option(help="why (recorded in the audit trail)")],
    actor: Annotated[
        str,
        typer.Option(
            help="who decides (recorded in the audit trail); with RISKLOOP_API_TOKEN the token's"
        ),
    ] = "",
    idempotency_key: IdempotencyKey = None,
    wait: Wait = VERDICT_WAIT,
) -> None:
    """Resolve an arbitration (仲裁): the risk centre hands TASK_ID to DEPARTMENT.

    Sent to tasks.dispositions as the risk centre's ``assign``, so the worker that owns the
    task applies it in order with the departments' dispositions; a task that is not in
    arbitration is refused there: the verdict's reason ``invalid_transition``, exit 1.
    """
    from streams.admin import known_departments

    s = settings()
    if s.api_token is not None:
        from streams.cli.api_client import no_name_of_ones_own

        no_name_of_ones_own("--actor", actor)
        body: dict[str, object] = {"department": department, "reason": reason}
        _post_and_judge(s, task_id, "assignments", body, idempotency_key)
        return
    if department not in known_departments(s):
        raise ConfigError(f"unknown department {department!r}: it has no task topic")
    if not reason.strip() or not actor.strip():
        raise ConfigError("--actor and --reason must not be empty: the audit trail keeps them")
    record = Disposition(
        event_id=_event_id(task_id, idempotency_key, "assign"),
        event_time=datetime.now(UTC),
        task_id=task_id,
        department=load_loop_config(settings=s).centre,
        action=DispositionAction.assign,
        actor=actor,
        reason=reason,
        assign_to=department,
    )
    _send_and_judge(s, record, wait)


@alerts_app.command("tail")
def alerts_tail(
    level: Annotated[
        str | None, typer.Option(help="only this level and above: red, orange, yellow, blue")
    ] = None,
    department: Annotated[
        str | None, typer.Option(help="also show this department's new tasks")
    ] = None,
    from_beginning: Annotated[bool, typer.Option(help="replay the history first")] = False,
) -> None:
    """Follow warning changes (and a department's tasks) as they happen; Ctrl-C stops."""
    from confluent_kafka import Consumer

    from streams import kafka_clients
    from streams.admin import require_broker
    from streams.demo import print_message

    s = settings()
    require_broker(s)
    ranks = {"red": 4, "orange": 3, "yellow": 2, "blue": 1}
    if level is not None and level not in ranks:
        raise ConfigError(f"--level must be one of {', '.join(ranks)}, not {level!r}")
    topics = [s.topics.alerts] + ([f"{s.topics.task_prefix}{department}"] if department else [])
    consumer = Consumer(
        {
            **kafka_clients.confluent(s),
            "group.id": f"riskloop-tail-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest" if from_beginning else "latest",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    consumer.subscribe(topics)
    try:
        while True:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            body = json.loads(msg.value() or b"{}")
            if (
                msg.topic() == s.topics.alerts
                and level
                and ranks.get(body.get("level", ""), 0) < ranks[level]
            ):
                continue
            print_message(msg.topic() or "", msg.value() or b"{}", s)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


def sample(
    n: Annotated[int, typer.Option("--n", help="how many enterprises to draw")] = 50,
    region: Annotated[
        str | None, typer.Option(help="GB/T 2260 prefix, e.g. 330106 or 3301")
    ] = None,
    seed: Annotated[str, typer.Option(help="seed: the same seed gives the same list")] = "0",
    profiles: Annotated[
        Path | None, typer.Option(help="JSONL of profiles (default: the worker's profile table)")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(help="ISO-8601 instant the scores decay to (default: now); printed below"),
    ] = None,
    model: Annotated[
        bool,
        typer.Option(
            "--model/--no-model",
            help="weigh by the inspection model's risk too, where it scored the enterprise",
        ),
    ] = True,
) -> None:
    """Draw a "双随机" risk-weighted random inspection list; explain each pick's weight.

    Scores decay with time, so a draw is reproducible from its seed *and* its moment: the
    footer prints both, and ``--at`` replays an earlier draw for an audit. The weight is the
    class's, times the inspection model's relative risk where it scored an inspection of the
    enterprise (loop/sampling.py); ``--no-model`` draws by class alone.
    """
    moment = instant(at) if at else datetime.now(UTC)
    s = settings()
    found = list(_profiles_from_file(profiles) if profiles else _profiles_from_changelog(s))
    if not found:
        raise ConfigError(
            "no entity profiles found: run the worker on some events first, or pass --profiles"
        )
    cfg = load_loop_config(settings=s)
    picks = draw(
        found, n, region=region, seed=seed, now=moment, config=cfg.profile, use_model=model
    )
    by_uscc = {p.uscc: p for p in found}
    table = Table("#", "USCC", "enterprise", "class", "score", "model", "weight", "why")
    for p in picks:
        named = by_uscc.get(p.uscc)
        table.add_row(
            str(p.rank),
            p.uscc,
            who(named.entity_name, named.entity_address) if named else "",
            p.risk_class,
            f"{p.score:.2f}",
            "–" if p.model_risk is None else f"{p.model_risk:.1%}",
            f"{p.weight:.3f}",
            p.explanation,
        )
    console.print(table)
    console.print(
        f"{len(picks)} of {len(found)} enterprises drawn (seed {seed}, at {moment.isoformat()}"
        f"{'' if model else ', classes only'})"
    )


def _profiles_from_file(path: Path) -> list[EntityProfile]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            with bad_input(f"{path}:{n}: not an entity profile"):
                out.append(EntityProfile.model_validate_json(line))
    return out


def _profiles_from_changelog(s: Settings) -> list[EntityProfile]:
    """The latest profile per USCC on the state changelog topic (compacted; every partition's
    tables, keyed ``table/key``; the checkpoint's markers and other tables are skipped)."""
    from streams.publish import read_all
    from streams.tables import changelog_topic, changelog_value

    topic = changelog_topic(s.app_id)
    latest: dict[str, bytes | None] = {}
    for key, raw in read_all(s, topic):
        if key.startswith("profiles/"):
            latest[key] = raw
    out = []
    for key, raw in latest.items():
        with bad_input(f"{topic}: the value of {key} is not an entity profile"):
            _, _, value = changelog_value(key.encode(), raw)
            if value:
                out.append(EntityProfile.model_validate(value))
    return out


def register(app: typer.Typer) -> None:
    """Add ``riskloop tasks``, ``alerts`` and ``sample`` to the root command."""
    app.add_typer(tasks_app, name="tasks")
    app.add_typer(alerts_app, name="alerts")
    app.command("sample")(sample)
