"""The API's views in-process: aiohttp's test client against the app's web server, no broker.

``Topic.send`` is captured (``sent``), so a refused write is shown to produce nothing and an
accepted one to produce exactly the record the CLI would have sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from faust.exceptions import SameNode
from pydantic import SecretStr

from config.settings import PROJECT_ROOT, ApiTokens, Settings
from sinks.migrate import migrate
from streams.app import RiskLoopApp
from tests.streams.conftest import Sent

USCC = "91330106YCE778TP1L"
OPERATOR = {"Authorization": "Bearer op-token"}
MODELLER = {"Authorization": "Bearer mod-token"}
DEPARTMENT = {"Authorization": "Bearer dep-token"}
SILENCE = {"source": "complaints", "reason": "known closure", "creator": "zhang", "hours": 1}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        store_url="memory://",
        data_dir=tmp_path / "worker",
        sql_url=f"sqlite:///{tmp_path / 'riskloop.db'}",
        log_format="console",
        api_tokens=ApiTokens(
            modeller=SecretStr("mod-token"),
            operator=SecretStr("op-token"),
            department=SecretStr("dep-token"),
        ),
    )


@pytest.fixture
async def client(app: RiskLoopApp) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(app.web.web_app)) as c:  # type: ignore[attr-defined]
        yield c


async def test_openapi_lists_every_endpoint(client: TestClient[Any, Any]) -> None:
    spec = await (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/warnings", "/api/silences", "/api/rulepacks", "/api/active"} <= set(spec["paths"])


async def test_reads(client: TestClient[Any, Any], app: RiskLoopApp) -> None:
    active = await (await client.get("/api/active")).json()
    assert active["active"]["rulepack"]["trucks"] == "1.0.0"
    assert (await (await client.get("/api/silences")).json()) == {"silences": []}
    assert (await (await client.get("/api/warnings?level=red")).json()) == {"warnings": []}
    r = await client.get("/api/warnings?level=purple")
    assert r.status == 400 and "level" in (await r.json())["error"]
    r = await client.get("/api/tasks/task-nope")
    assert r.status == 404 and "task-nope" in (await r.json())["error"]


async def test_warnings_come_from_the_sql_store(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    migrate(settings.sql_url)
    r = await client.get("/api/warnings?region=3301&limit=5")
    assert r.status == 200 and (await r.json())["warnings"] == []


async def test_profile_is_read_where_the_table_routes_it(
    client: TestClient[Any, Any], app: RiskLoopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    routed: list[str] = []

    async def same_node(table: str, key: str, *_: Any) -> Any:
        routed.append(f"{table}:{key}")
        raise SameNode()

    monkeypatch.setattr(app.router, "route_req", same_node)
    profiles = app.riskloop_tables.profiles
    assert (await client.get(f"/api/entities/{USCC}/profile")).status == 404
    profiles.table.data[USCC] = {"uscc": USCC, "score": 3.5}
    r = await client.get(f"/api/entities/{USCC}/profile")
    assert r.status == 200 and (await r.json())["score"] == 3.5
    assert routed == [f"profiles:{USCC}"] * 2
    assert (await client.get("/api/entities/not-a-uscc/profile")).status == 400


async def test_profile_owned_elsewhere_is_forwarded(
    client: TestClient[Any, Any], app: RiskLoopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def other_node(table: str, key: str, web: Any, request: Any) -> Any:
        return web.json({"from": "other worker", "key": key})

    monkeypatch.setattr(app.router, "route_req", other_node)
    r = await client.get(f"/api/entities/{USCC}/profile")
    assert (await r.json()) == {"from": "other worker", "key": USCC}


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [
        ("/api/silences", SILENCE, {}, 401),
        ("/api/silences", SILENCE, MODELLER, 403),
        ("/api/silences", SILENCE, {"Authorization": "Bearer wrong"}, 403),
        ("/api/rulepacks", "name: x", OPERATOR, 403),
        ("/api/rulepacks", "name: x", {}, 401),
        ("/api/tasks/t-1/dispositions", {"department": "d", "action": "sign", "actor": "a"}, OPERATOR, 403),
        ("/api/tasks/t-1/dispositions", {"department": "d", "action": "sign", "actor": "a"}, {}, 401),
        ("/api/silences", {"reason": "r", "creator": "c"}, OPERATOR, 422),
        ("/api/silences", "{not json", OPERATOR, 400),
        ("/api/rulepacks", "name: [", MODELLER, 422),
        ("/api/tasks/t-1/dispositions", {"action": "sign"}, DEPARTMENT, 422),
    ],
)  # fmt: skip
async def test_refused_writes_produce_nothing(
    client: TestClient[Any, Any], sent: Sent, path: str, body: Any, headers: dict[str, str],
    status: int,
) -> None:  # fmt: skip
    kwargs: dict[str, Any] = {"json": body} if isinstance(body, dict) else {"data": body}
    r = await client.post(path, headers=headers, **kwargs)
    assert r.status == status
    assert isinstance((await r.json())["error"], str)
    assert sent.messages == []


async def test_a_role_without_a_token_cannot_write(
    app: RiskLoopApp, client: TestClient[Any, Any], sent: Sent
) -> None:
    app.riskloop_settings = app.riskloop_settings.model_copy(update={"api_tokens": ApiTokens()})
    r = await client.post("/api/silences", headers=OPERATOR, json=SILENCE)
    assert r.status == 403 and "disabled" in (await r.json())["error"]
    assert sent.messages == []


async def test_authorised_writes_send_one_record_each(
    client: TestClient[Any, Any], sent: Sent, settings: Settings
) -> None:
    r = await client.post("/api/silences", headers=OPERATOR, json=SILENCE)
    assert r.status == 202
    silence = await r.json()
    assert [s["silence_id"] for s in sent.on(settings.topics.silences)] == [silence["silence_id"]]

    pack = (Path(PROJECT_ROOT) / "rules" / "packs" / "trucks.yaml").read_bytes()
    r = await client.post("/api/rulepacks?by=wang", headers=MODELLER, data=pack)
    assert r.status == 202 and (await r.json())["published_by"] == "wang"
    assert [p["name"] for p in sent.on(settings.topics.rulepacks)] == ["trucks"]

    body = {"department": "hz_market", "action": "sign", "actor": "li"}
    r = await client.post("/api/tasks/task-1/dispositions", headers=DEPARTMENT, json=body)
    assert r.status == 202
    (disposition,) = sent.on(settings.topics.dispositions)
    assert disposition["task_id"] == "task-1" and disposition["event_id"].startswith("disp-")
    keys = [k for _, k, _ in sent.messages]
    assert keys == [silence["silence_id"].encode(), b"trucks", b"task-1"]
