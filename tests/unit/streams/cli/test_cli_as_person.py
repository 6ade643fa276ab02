"""``RISKLOOP_API_TOKEN``: the CLI's task writes go through the worker API as that person.

Against a local HTTP server standing in for the worker API (the real one, with a real worker,
is tests/integration/test_disposition_verdicts.py): what the CLI sends (the token, the
Idempotency-Key, a body without an actor) and how it reads each answer.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from streams.cli import main

if TYPE_CHECKING:
    from collections.abc import Iterator


class Stub:
    """Answers every request with ``status`` and ``body``; keeps what it was sent (a GET's
    body as None)."""

    def __init__(self) -> None:
        self.status, self.body = 200, {}
        self.seen: list[tuple[str, dict[str, str], dict[str, Any] | None]] = []


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stub]:
    stub = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            stub.seen.append((self.path, dict(self.headers), json.loads(raw)))
            self.answer()

        def do_GET(self) -> None:
            stub.seen.append((self.path, dict(self.headers), None))
            self.answer()

        def answer(self) -> None:
            out = json.dumps(stub.body).encode()
            self.send_response(stub.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("RISKLOOP_API_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("RISKLOOP_API_TOKEN", "tok.en.li")
    yield stub
    server.shutdown()
    server.server_close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_disposition_goes_as_the_tokens_person(
    api: Stub, capsys: pytest.CaptureFixture[str]
) -> None:
    api.body = {
        "disposition": {"event_id": "disp-k1", "actor": "李明 <u-li>"},
        "verdict": {"outcome": "applied", "state": "signed", "department": "hz_market"},
    }
    code, out, err = run(capsys, "tasks", "dispose", "t-1", "--action", "sign",
                         "--idempotency-key", "k1")  # fmt: skip
    assert code == 0, err
    assert (
        out.strip()
        == "applied sign for t-1 (disp-k1): the task is signed at hz_market (as 李明 <u-li>)"
    )
    ((path, headers, body),) = api.seen
    assert path == "/api/tasks/t-1/dispositions"
    assert headers["Authorization"] == "Bearer tok.en.li"
    assert headers["Idempotency-Key"] == "k1"
    assert body == {"action": "sign", "evidence": []}  # no actor, no department: the token's


def test_refusals_and_no_verdict_keep_the_kafka_paths_exit_codes(
    api: Stub, capsys: pytest.CaptureFixture[str]
) -> None:
    api.status, api.body = 403, {"error": "this task is held by another department than yours"}
    code, _, err = run(capsys, "tasks", "dispose", "t-1", "--action", "sign")
    assert code == 1
    assert err.strip().endswith(
        "refused sign for t-1: this task is held by another department than yours"
    )
    api.status, api.body = 202, {"verdict": None, "message": "retry with the same key"}
    code, _, err = run(capsys, "tasks", "assign", "t-1", "--department", "hz_market",
                       "--reason", "辖区调整")  # fmt: skip
    assert code == 3
    assert "no worker answered in time; retry with the same key" in err
    assert api.seen[-1][2] == {"department": "hz_market", "reason": "辖区调整"}


def test_a_name_of_ones_own_is_refused_before_anything_is_sent(
    api: Stub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "tasks", "dispose", "t-1", "--action", "sign", "--by", "王五")
    assert code == 1
    assert "--by: with RISKLOOP_API_TOKEN the audit trail names the token's person" in err
    code, _, err = run(capsys, "tasks", "assign", "t-1", "--department", "hz_market",
                       "--reason", "r", "--actor", "王五")  # fmt: skip
    assert code == 1
    assert "--actor" in err
    assert api.seen == []


def test_an_api_that_does_not_answer_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("RISKLOOP_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("RISKLOOP_API_TOKEN", "t")
    code, _, err = run(capsys, "tasks", "dispose", "t-1", "--action", "sign")
    assert code == 1
    assert f"the worker API at http://127.0.0.1:{port} did not answer" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_without_a_token_a_department_is_required(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RISKLOOP_API_TOKEN", raising=False)
    code, _, err = run(capsys, "tasks", "dispose", "t-1", "--action", "sign")
    assert code == 1
    assert "--department is required (or set RISKLOOP_API_TOKEN to act as a person)" in err


def test_a_silence_is_made_by_the_tokens_person(
    api: Stub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("RISKLOOP_SQL_URL", f"sqlite:///{tmp_path / 'none.db'}")  # no preview rows
    api.status = 202
    api.body = {"silence_id": "sil-1", "ends_at": "2026-12-07T16:00:00Z", "creator": "王芳 <u-ops>"}
    code, out, err = run(capsys, "silence", "add", "--reason", "电梯维保", "--hours", "2",
                         "--entity", "31101101082024000001")  # fmt: skip
    assert code == 0, err
    assert "silence sil-1 until 2026-12-07T16:00:00Z by 王芳 <u-ops>" in out
    ((path, _, body),) = api.seen
    assert path == "/api/silences"
    assert body == {"reason": "电梯维保", "hours": 2.0, "safety": False,
                    "entity": "31101101082024000001"}  # fmt: skip
    api.status, api.body = 403, {"error": "silences need the role operator"}
    code, _, err = run(capsys, "silence", "add", "--reason", "r", "--source", "trucks")
    assert code == 1
    assert "silence not published: silences need the role operator" in err


def test_a_silence_is_ended_by_the_tokens_person(
    api: Stub, capsys: pytest.CaptureFixture[str]
) -> None:
    api.status, api.body = 202, {"silence_id": "sil-1", "expired_by": "王芳 <u-ops>"}
    code, out, err = run(capsys, "silence", "expire", "sil-1")
    assert code == 0, err
    assert out.strip() == "silence sil-1 expired by 王芳 <u-ops>"
    assert api.seen[-1][0] == "/api/silences/sil-1/expire"
    api.status, api.body = 409, {"error": "silence sil-1 already ended by 王芳 <u-ops> at …"}
    code, _, err = run(capsys, "silence", "expire", "sil-1")
    assert code == 1
    assert "silence sil-1 not expired: silence sil-1 already ended by" in err


def test_silences_are_listed_as_the_tokens_person_sees_them(
    api: Stub, capsys: pytest.CaptureFixture[str]
) -> None:
    """``silence list`` asks ``GET /api/silences`` (what the person's regions show) with the
    token, not control.silences (what the deployment's credentials reach)."""
    api.body = {
        "silences": [
            {
                "silence_id": "sil-hz",
                "region_prefix": "3301",
                "reason": "防汛演练",
                "creator": "王芳 <u-ops>",
                "starts_at": "2026-12-07T00:00:00Z",
                "ends_at": "2099-12-07T04:00:00Z",
            }
        ]
    }
    code, out, err = run(capsys, "silence", "list")
    assert code == 0, err
    assert "sil-hz" in out
    assert "防汛演练" in out
    assert [(path, headers["Authorization"]) for path, headers, _ in api.seen] == [
        ("/api/silences", "Bearer tok.en.li")
    ]
