"""``riskloop demo``: the main job end to end, on the embedded defaults.

Starts the local broker (and Redis), creates the topics, starts a real ``riskloop worker``
subprocess, replays a sample of realistic events, prints every alert as it arrives, and stops
everything it started — when the worker has caught up and the alerts have gone quiet, or at
once on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, TopicPartition

from infra import stack
from infra.errors import InfraError
from streams import kafka_clients
from streams.admin import create_topics
from streams.cli.common import console
from streams.producer import make_producer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from config.settings import Settings

_LEVEL_STYLE = {
    "red": "bold red",
    "orange": "bold dark_orange",
    "yellow": "bold yellow",
    "blue": "bold blue",
}


def load_events(path: Path) -> list[tuple[str, str, dict[str, object]]]:
    """(source, key, event) from a JSONL file of ``{"source": ..., "event": {...}}`` lines."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            source, event = item["source"], item["event"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InfraError(f"{path}:{n}: not a {{source, event}} JSON line ({exc})") from exc
        key = (
            event.get("uscc")
            or event.get("equipment_code")
            or event.get("plate")
            or event.get("event_id", "")
        )
        out.append((source, str(key), event))
    return out


@contextmanager
def worker_process(
    settings: Settings, command: str = "worker"
) -> Iterator[subprocess.Popen[bytes]]:
    """A ``riskloop worker`` (or ``console``) subprocess, stopped with SIGTERM (then SIGKILL)
    on exit; its output in ``<state_dir>/demo-<command>.log``."""
    log_path = settings.dev.state_dir / f"demo-{command}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "RISKLOOP_LOG_FORMAT": "json"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams", command],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def group_lag(settings: Settings, topics: list[str]) -> int:
    """Messages the worker's consumer group has not yet committed on ``topics``."""
    committed, end = group_progress(settings, topics)
    return end - committed


def group_progress(settings: Settings, topics: list[str]) -> tuple[int, int]:
    """What the worker's consumer group has committed on ``topics`` and their end, summed over
    the partitions (a partition the group never committed counts from its start)."""
    c = Consumer(
        {
            **kafka_clients.confluent(settings),
            "group.id": settings.app_id,
            "log_level": 0,
        }
    )
    try:
        meta = c.list_topics(timeout=5)
        parts = [TopicPartition(t, p) for t in topics for p in meta.topics[t].partitions]
        done = end = 0
        for tp in c.committed(parts, timeout=5):
            low, high = c.get_watermark_offsets(tp, timeout=5)
            done += min(max(tp.offset, low), high)  # none committed: negative, so low
            end += high
        return done, end
    finally:
        c.close()


def print_message(topic: str, raw: bytes, settings: Settings) -> None:
    """One readable line per notified alert change or dispatched task (streams/cli/lines.py)."""
    from streams.cli.lines import alert_line, task_line

    body = json.loads(raw)
    internal = {settings.topics.task_events, settings.topics.dispositions, settings.topics.verdicts}
    if topic in internal:
        return
    if topic.startswith(settings.topics.task_prefix) and "kind" in body:  # 催办/督办/通报
        ladder = {"reminder": "催办", "supervision": "督办", "notice": "通报"}
        console.print(
            f"  [bold]⏰ {ladder.get(body['kind'], body['kind'])}[/] {body.get('task_id', '')}"
            f" → {body.get('department', '')}  限时 {body.get('deadline', '')[:16]}",
            no_wrap=True,
            overflow="ellipsis",
        )
        return
    if topic.startswith(settings.topics.task_prefix):
        console.print(task_line(body), soft_wrap=True, markup=False)  # never cut an id
        return
    line = alert_line(body)
    if line is None:
        return
    level, _, rest = line.partition(" ")
    style = _LEVEL_STYLE.get(str(body.get("level", "")), "bold")
    console.print(f"[{style}]{level}[/] ", end="", soft_wrap=True)
    console.print(rest, soft_wrap=True, markup=False)  # what changed is never cut off


def run_demo(
    settings: Settings,
    *,
    events: Path | None,
    count: int,
    seed: int,
    timeout: float,
    keep_running: bool,
    stay: bool = False,
) -> None:
    """Run the demo; Ctrl-C at any point stops the worker, the console and the services."""
    from schemas.sample_stream import generate

    dev = settings.dev
    already = {name for name, (ok, _) in stack.status(dev).items() if ok}
    wanted = ["kafka", "redis"]
    console.print("[bold]RiskLoop demo[/] — starting the local broker and Redis …")
    for line in stack.up(dev, wanted):
        console.print(f"  {line}")
    try:
        create_topics(settings)
        sample = (
            load_events(events)
            if events
            else [(e.source, e.key, e.event) for e in generate(count, seed=seed)]
        )
        consumer = Consumer(
            {
                **kafka_clients.confluent(settings),
                "group.id": f"riskloop-demo-{os.getpid()}",
                "auto.offset.reset": "latest",
                "enable.auto.commit": False,
                "log_level": 0,
            }
        )
        prefix = settings.topics.task_prefix.replace(".", r"\.")
        consumer.subscribe([settings.topics.alerts, f"^{prefix}.*"])
        _wait_assigned(consumer)
        with worker_process(settings) as worker, worker_process(settings, "console"):
            console.print(f"  worker started (pid {worker.pid}); replaying {len(sample)} events …")
            _announce_console(settings)
            _produce(settings, sample)
            seen = _follow(settings, consumer, worker, timeout)
            if stay:
                console.print("worker and console keep running: Ctrl-C stops them")
                while worker.poll() is None:
                    time.sleep(1)
        consumer.close()
        console.print(
            f"[bold]done[/]: {len(sample)} events replayed, {seen} alert changes received"
        )
    except KeyboardInterrupt:
        console.print("\ninterrupted — stopping")
    finally:
        if not keep_running:
            started = [n for n in wanted if n not in already]
            for line in stack.down(dev, started) if started else []:
                console.print(f"  {line}")


def _announce_console(settings: Settings) -> None:
    """The console's address and a ready login token for a dev risk-centre staff person."""
    from datetime import UTC, datetime, timedelta

    from infra.devkey import DevKey
    from loop.identity import Principal, Role

    key = DevKey(settings.dev.state_dir / "auth")
    staff = Principal(
        sub="demo-staff",
        name="演示值班员",
        roles=frozenset({Role.staff}),
        department="risk_centre",
        regions=("33",),
    )
    minted = key.mint(
        staff,
        issuer=settings.auth.issuer,
        audience=settings.auth.audience,
        now=datetime.now(UTC),
        ttl=timedelta(hours=8),
    )
    host = settings.console.host
    console.print(f"  console: [bold]http://{host}:{settings.console.port}/[/] — log in with:")
    console.print(minted, soft_wrap=True, markup=False, highlight=False)
    if settings.jwks_source != str(key.jwks):
        console.print(f"  [yellow]note:[/] the API trusts {settings.jwks_source}, not the dev key")


def _wait_assigned(consumer: Consumer, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not consumer.assignment() and time.monotonic() < deadline:
        consumer.poll(0.2)


def _produce(settings: Settings, sample: list[tuple[str, str, dict[str, object]]]) -> None:
    topics = settings.topics.sources()
    producer = make_producer(settings)
    for source, key, event in sample:
        topic = topics.get(source) or getattr(settings.topics, source)
        producer.produce(
            topic, key=key.encode(), value=json.dumps(event, ensure_ascii=False).encode()
        )
        producer.poll(0)
    producer.flush(30)


def _follow(
    settings: Settings, consumer: Consumer, worker: subprocess.Popen[bytes], timeout: float
) -> int:
    """Print alerts until the worker caught up and 3 s passed without one, or ``timeout``."""
    seen, quiet_since = 0, time.monotonic()
    deadline = time.monotonic() + timeout
    t = settings.topics
    sources = [*t.sources().values(), t.task_commands, t.feedback, t.profile_events]
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise InfraError(
                f"the worker exited with code {worker.returncode}; see {settings.dev.state_dir / 'demo-worker.log'}"
            )
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            print_message(msg.topic() or "", msg.value() or b"{}", settings)
            seen += 1
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 3:
            with suppress(Exception):
                if group_lag(settings, sources) == 0:
                    return seen
            quiet_since = time.monotonic() - 2
    console.print(f"[yellow]stopped waiting after {timeout:.0f} s[/]")
    return seen
