"""Notifications on a real worker (issue #19): local receivers started by the test.

A red warning reaches a signed webhook within 5 s of its event and a mailbox (aiosmtpd); a task
nobody signs for escalates to the department's lead and the supervisor on a fast clock; a
receiver that fails three times in a row is retried with backoff and, when it is back, gets its
backlog, each notification once. Every attempt is in the audit table.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from infra.ports import free_port
from loop.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_webhook
from sinks.sql import SqlStore, make_engine
from tests.integration.conftest import produce, wait_ready
from tests.integration.test_calendar import cli, metrics

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from config.settings import Settings

KEY = "test-hook-key"
USCCS = ["91330105MA2B00001G", "91330105MA2B00002K", "91330105MA2B00003N"]  # valid


class Hook:
    """A local webhook receiver: records every request; answers 503 while ``down``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.down = False
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                failed = hook.down
                with hook.lock:
                    hook.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "at": time.monotonic(),
                            "failed": failed,
                        }
                    )
                self.send_response(503 if failed else 200)
                self.end_headers()
                self.wfile.write(b"down" if failed else b"ok")

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def delivered(self, path: str | None = None) -> list[dict[str, Any]]:
        """Notifications in the successful requests (to ``path``), with their request."""
        with self.lock:
            reqs = [r for r in self.requests if not r["failed"]]
        out = []
        for r in reqs:
            if path is None or r["path"] == path:
                for n in json.loads(r["body"])["notifications"]:
                    out.append({**n, "_request": r})
        return out

    def wait(self, until: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until():
                return True
            time.sleep(0.05)
        return until()


@contextmanager
def hook_server() -> Iterator[Hook]:
    hook = Hook()
    hook.thread.start()
    try:
        yield hook
    finally:
        hook.server.shutdown()
        hook.server.server_close()


class Mailbox:
    """aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=email_policy))
        return "250 OK"


def complaint(uscc: str, n: int) -> tuple[bytes, bytes]:
    """A complaint of suspected food poisoning: red at once (complaints.food_poisoning)."""
    event = {
        "event_id": f"cmp-notify-{uscc[-6:]}-{n}",
        "event_time": datetime.now(UTC).isoformat(),
        "channel": "12315",
        "text": "就餐后呕吐、腹泻，怀疑食物中毒",
        "subject": "食品安全投诉",
        "category": "食品安全",
        "urgency": "urgent",
        "uscc": uscc,
        "region_code": "330105",
    }
    return uscc.encode(), json.dumps(event, ensure_ascii=False).encode()


def with_notify(s: Settings, tmp: Path, config: str, **changes: Any) -> Settings:
    path = tmp / "notify.yaml"
    path.write_text(config, encoding="utf-8")
    return s.with_overrides(
        notify_config=path,
        notify_secrets={"hook_key": SecretStr(KEY)},
        notify_poll_interval=0.2,
        models_enabled=False,
        **changes,
    )


def attempts(s: Settings) -> list[tuple[str, str, int, str]]:
    engine = make_engine(s.sql_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT intent_id, receiver, attempt, outcome FROM notification_attempts ORDER BY seq"
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def signed(request: dict[str, Any]) -> bool:
    h = request["headers"]
    return verify_webhook(
        KEY, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], request["body"], now=time.time()
    )


def test_a_red_warning_reaches_the_webhook_within_5_s_and_the_mailbox(
    live_settings: Settings, worker: Any, tmp_path: Path
) -> None:
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with hook_server() as hook:
            config = f"""
receivers:
  - {{name: hook, kind: webhook, url: "{hook.url("/dept")}", secret: hook_key}}
  - {{name: mail, kind: email, host: 127.0.0.1, port: {smtp.port}, sender: riskloop@test.local,
     to: [duty@test.local]}}
route:
  receiver: hook
  group_wait: 0s
  group_interval: 0s
  routes:
    - {{match: {{kind: warning, level: red}}, receiver: hook, continue: true}}
    - {{match: {{kind: warning, level: red}}, receiver: mail}}
"""
            s = with_notify(live_settings, tmp_path, config)
            proc = worker(s)
            wait_ready(proc, f"http://127.0.0.1:{s.web_port}")
            latencies = []
            for n, uscc in enumerate(USCCS[:2]):  # the first warms the worker up; both timed
                sent = time.monotonic()
                produce(s.bootstrap_servers, s.topics.complaints, [complaint(uscc, n)])
                assert hook.wait(lambda n=n: len(hook.delivered()) > n, timeout=60), (
                    f"no notification for {uscc}: {hook.requests}"
                )
                first = hook.delivered()[n]["_request"]["at"]
                latencies.append(first - sent)
            print("notification latency (s): warm-up, timed:", latencies)
            assert latencies[1] <= 5.0, latencies
            got = hook.delivered()
            assert {d["kind"] for d in got} == {"warning"}
            assert len(got) == 2
            assert all(d["title"].startswith("【红色预警】") for d in got)
            assert all(signed(d["_request"]) for d in got)
            forged = {**got[0]["_request"], "body": got[0]["_request"]["body"] + b" "}
            assert not signed(forged)
            assert hook.wait(lambda: len(mailbox.messages) >= 2, timeout=30), mailbox.messages
            mail = mailbox.messages[0]
            assert mail["To"] == "duty@test.local"
            assert "红色预警" in mail["Subject"]
            assert "食物中毒" in mail.get_content()
            assert hook.wait(lambda: len(attempts(s)) >= 4, timeout=10), attempts(s)
            time.sleep(2)
            outcomes = attempts(s)
            assert {(r, o) for _, r, _, o in outcomes} == {("hook", "sent"), ("mail", "sent")}
            assert len(outcomes) == 4  # two warnings × two receivers, once each
    finally:
        smtp.stop()


def test_a_failing_receiver_is_retried_and_its_backlog_drains_each_notification_once(
    live_settings: Settings, worker: Any, tmp_path: Path
) -> None:
    with hook_server() as hook:
        hook.down = True
        config = f"""
receivers:
  - {{name: hook, kind: webhook, url: "{hook.url("/dept")}", secret: hook_key}}
route: {{receiver: hook, group_wait: 0s, group_interval: 0s}}
"""
        s = with_notify(
            live_settings, tmp_path, config, notify_retry_initial=0.3, notify_retry_max=1.0
        )
        proc = worker(s)
        wait_ready(proc, f"http://127.0.0.1:{s.web_port}")
        produce(
            s.bootstrap_servers, s.topics.complaints, [complaint(u, n) for n, u in enumerate(USCCS)]
        )
        assert hook.wait(lambda: sum(r["failed"] for r in hook.requests) >= 3, timeout=90)
        text = metrics(s)
        backlog = [
            ln
            for ln in text.splitlines()
            if ln.startswith('riskloop_notify_backlog{receiver="hook"}')
        ]
        assert backlog, backlog
        assert float(backlog[0].split()[-1]) >= 1, backlog
        assert 'riskloop_notify_failed_total{receiver="hook"}' in text
        hook.down = False
        assert hook.wait(lambda: len({d["subject_id"] for d in hook.delivered()}) >= 3, 90), (
            hook.requests
        )
        time.sleep(3)  # anything sent twice would arrive by now
        ids = [d["id"] for d in hook.delivered()]
        assert len(ids) == len(set(ids)) == 3, ids
        rows = attempts(s)
        assert sum(o == "failed" for *_, o in rows) >= 3
        assert sorted(i for i, _, _, o in rows if o == "sent") == sorted(ids)
        assert hook.wait(
            lambda: 'riskloop_notify_backlog{receiver="hook"} 0.0' in metrics(s), timeout=10
        )


@pytest.mark.timeout(400)
def test_a_task_nobody_signs_for_escalates_to_the_lead_and_the_supervisor(
    live_settings: Settings, worker: Any, tmp_path: Path
) -> None:
    with hook_server() as hook:
        config = f"""
receivers:
  - {{name: dept, kind: webhook, url: "{hook.url("/dept")}", secret: hook_key}}
  - {{name: lead, kind: webhook, url: "{hook.url("/lead")}", secret: hook_key}}
  - {{name: sup, kind: webhook, url: "{hook.url("/sup")}", secret: hook_key}}
route:
  receiver: dept
  group_wait: 0s
  routes:
    - {{match: {{audience: lead}}, receiver: lead}}
    - {{match: {{audience: supervisor}}, receiver: sup}}
"""
        # 60×: a red task's 30 minutes to sign for pass in 30 s
        s = with_notify(live_settings, tmp_path, config, clock_speed=60.0, timer_interval=0.5)
        proc = worker(s)
        wait_ready(proc, f"http://127.0.0.1:{s.web_port}")
        produce(s.bootstrap_servers, s.topics.complaints, [complaint(USCCS[0], 0)])

        def escalated(path: str) -> list[dict[str, Any]]:
            return [d for d in hook.delivered(path) if d["kind"] == "sign_escalation"]

        assert hook.wait(lambda: bool(escalated("/lead") and escalated("/sup")), timeout=180), [
            (r["path"], json.loads(r["body"])["notifications"][0]["kind"]) for r in hook.requests
        ]
        (lead,) = escalated("/lead")
        (sup,) = escalated("/sup")
        assert lead["subject_id"] == sup["subject_id"]
        assert lead["subject_id"].startswith("task-")
        assert (lead["audience"], sup["audience"]) == ("lead", "supervisor")
        dept = {d["kind"] for d in hook.delivered("/dept")}
        assert {"warning", "deadline_approaching", "sign_escalation"} <= dept, dept
        assert all(signed(d["_request"]) for d in hook.delivered())
        # the task's audit trail (tasks show, GET /api/tasks/{id}) names every delivery
        store = SqlStore(make_engine(s.sql_url))
        assert hook.wait(
            lambda: {"lead", "sup"} <= {n.receiver for n in _story(store, lead["subject_id"])},
            timeout=10,
        )
        steps = {n.step.split(":")[0] for n in _story(store, lead["subject_id"])}
        assert {"red", "sign"} <= steps  # the warning's notification and the task's
        store.close()
        shown = cli(s, "tasks", "show", lead["subject_id"])
        assert shown.returncode == 0, shown.stderr
        assert "notify → lead" in shown.stdout
        assert "notify → sup" in shown.stdout
        (warning,) = [d for d in hook.delivered("/dept") if d["kind"] == "warning"]
        detail = cli(s, "alerts", "show", warning["subject_id"])
        assert detail.returncode == 0, detail.stderr
        assert "notify → dept: notified (red" in detail.stdout, detail.stdout


def _story(store: SqlStore, task_id: str) -> list[Any]:
    story = store.task_with_audit(task_id)
    return [] if story is None else [n for n in story.notifications if n.outcome == "sent"]
