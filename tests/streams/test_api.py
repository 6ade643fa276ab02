"""The API's views in-process: aiohttp's test client against the app's web server, no broker.

``Topic.send`` is captured (``sent``), so a refused write is shown to produce nothing and an
accepted one to produce exactly the record the CLI would have sent.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from faust.exceptions import SameNode

from config.settings import PROJECT_ROOT, AuthSettings, Settings
from infra.devkey import DevKey
from loop.identity import Role
from loop.silences import Silence
from sinks.errors import StoreError
from sinks.migrate import migrate
from sinks.sql import SqlStore
from streams import logs
from streams.control_keys import publication_key
from tests.people import PEOPLE, auth, person
from tests.unit.sinks.factories import make_task

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from schemas.hotload import Registry
    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent

USCC = "91330106YCE778TP1L"
KEYS = Path(tempfile.mkdtemp(prefix="riskloop-test-keys-"))
"""This module's signing key: its tokens are made at import, for the parameter lists."""
AUTH = AuthSettings(jwks=str(DevKey(KEYS).jwks))
_MINT = Settings(_env_file=None, auth=AUTH)  # type: ignore[call-arg]
OPERATOR = auth(_MINT, "operator")
MODELLER = auth(_MINT, "modeller")
DEPARTMENT = auth(_MINT, "hz_handler")
SUPERVISOR = auth(_MINT, "supervisor")
SILENCE = {"source": "complaints", "reason": "known closure", "hours": 1}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "worker",
        sql_url=f"sqlite:///{tmp_path / 'riskloop.db'}",
        log_format="console",
        auth=AUTH,
    )


@pytest.fixture
async def client(app: RiskLoopApp) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(app.web.web_app)) as c:  # type: ignore[attr-defined]
        yield c


HTTP_METHODS = {"get", "put", "post", "delete", "options", "patch", "trace"}


async def test_openapi_describes_exactly_the_routes_the_worker_serves(
    client: TestClient[Any, Any], app: RiskLoopApp
) -> None:
    """Every route our views register is in the spec and nothing else is. HEAD is left out:
    Faust adds it to every view (a GET without the body), and Faust's own blueprints
    (/router, /table) are added when the server starts, after this app is built."""
    spec = await (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }
    served = {
        (route.method, route.resource.canonical)
        for route in app.web.web_app.router.routes()  # type: ignore[attr-defined]
        if route.method != "HEAD" and route.resource is not None
    }
    assert documented == served


async def test_reads(client: TestClient[Any, Any], app: RiskLoopApp) -> None:
    active = await (await client.get("/api/active", headers=SUPERVISOR)).json()
    assert active["active"]["rulepack"]["trucks"] == "1.0.0"
    silences = await client.get("/api/silences", headers=SUPERVISOR)
    assert (await silences.json()) == {"silences": []}
    red = await client.get("/api/warnings?level=red", headers=SUPERVISOR)
    assert (await red.json()) == {"warnings": []}
    r = await client.get("/api/warnings?level=purple", headers=SUPERVISOR)
    assert r.status == 400
    assert "level" in (await r.json())["error"]
    r = await client.get("/api/tasks/task-nope", headers=SUPERVISOR)
    assert r.status == 404
    assert "task-nope" in (await r.json())["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/active",
        "/api/silences",
        "/api/warnings",
        "/api/warnings/fp-x.1",
        "/api/tasks",
        "/api/tasks/t-1",
        f"/api/entities/{USCC}/profile",
    ],
)
async def test_every_read_needs_a_token(client: TestClient[Any, Any], path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer not.a.jwt"}, {"Authorization": "Basic x"}):
        r = await client.get(path, headers=headers)
        assert r.status == 401, (path, headers, await r.text())
        assert set(await r.json()) == {"error"}


async def test_health_and_metrics_stay_open(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/openapi.json")).status == 200
    assert (await client.get("/metrics")).status == 200


async def test_metrics_filtered_by_name(client: TestClient[Any, Any], app: RiskLoopApp) -> None:
    """``?name[]=`` gives only those series (the bench's cheap events-read probe), the same
    values as the whole exposition."""
    app.worker.runtime.metrics.events_in.labels("trucks").inc(7)
    whole = await (await client.get("/metrics")).text()
    r = await client.get("/metrics", params=[("name[]", "riskloop_events_in_total")])
    assert r.status == 200
    lines = [x for x in (await r.text()).splitlines() if not x.startswith("#")]
    assert 'riskloop_events_in_total{source="trucks"} 7.0' in lines
    assert all(x.startswith("riskloop_events_in_total") for x in lines)
    assert set(lines) <= set(whole.splitlines())
    assert len(whole) > 10 * len(await r.text())


async def test_warnings_come_from_the_sql_store(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    migrate(settings.sql_url)
    r = await client.get("/api/warnings?region=3301&limit=5", headers=SUPERVISOR)
    assert r.status == 200
    assert (await r.json())["warnings"] == []


async def test_the_department_holding_a_task_reads_its_house_number(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    """``GET /api/tasks/{id}``: the handlers and leads of the holding department go to the
    premises and get the address to the house number; the centre and the department's staff
    get it to the road; the complaint's mobile stays masked for all (issue #19, 最小必要)."""
    migrate(settings.sql_url)
    store = SqlStore.from_settings(settings)
    task = make_task(
        1,
        department="hz_market",
        entity_address="杭州市拱墅区文三路531号",
        complaint_text="请回电13859217612",
    )
    store.write([task])
    store.close()
    hz_lead = person("u-hz-lead", {Role.lead}, "hz_market", "3301")
    answers = {
        who: await (await client.get("/api/tasks/task-1", headers=headers)).json()
        for who, headers in (
            ("handler", DEPARTMENT),
            ("lead", auth(_MINT, hz_lead)),
            ("staff", auth(_MINT, "hz_staff")),
            ("centre", SUPERVISOR),
        )
    }
    addresses = {who: a["task"]["entity_address"] for who, a in answers.items()}
    assert addresses == {
        "handler": "杭州市拱墅区文三路531号",
        "lead": "杭州市拱墅区文三路531号",
        "staff": "杭州市拱墅区文三路***号",
        "centre": "杭州市拱墅区文三路***号",
    }
    assert {a["task"]["complaint_text"] for a in answers.values()} == {"请回电138****7612"}
    listed = await (await client.get("/api/tasks", headers=DEPARTMENT)).json()
    assert [t["entity_address"] for t in listed["tasks"]] == ["杭州市拱墅区文三路***号"]


async def test_profile_is_read_where_the_profile_events_route_it(
    client: TestClient[Any, Any], app: RiskLoopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    routed: list[str] = []

    async def same_node(topic: Any, key: str, *_: Any) -> Any:
        routed.append(f"{topic.get_topic_name()}:{key}")
        raise SameNode()

    monkeypatch.setattr(app.router, "route_topic_req", same_node)
    assert (await client.get(f"/api/entities/{USCC}/profile", headers=SUPERVISOR)).status == 404
    app.worker.store.partitions[0].table("profiles")[USCC] = {"uscc": USCC, "score": 3.5}
    r = await client.get(f"/api/entities/{USCC}/profile", headers=SUPERVISOR)
    assert r.status == 200
    assert (await r.json())["score"] == 3.5
    assert routed == [f"riskloop.profile-events:{USCC}"] * 2
    assert (await client.get("/api/entities/not-a-uscc/profile", headers=SUPERVISOR)).status == 400


async def test_a_profile_is_its_regions_to_read(
    client: TestClient[Any, Any], app: RiskLoopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An enterprise's file (一企一档) is read by the people of its region and the centre: a
    Hangzhou official gets 403 for a Ningbo enterprise and for one no event has placed yet."""

    async def same_node(*_: Any) -> Any:
        raise SameNode()

    monkeypatch.setattr(app.router, "route_topic_req", same_node)
    nb_uscc, unplaced = "91330206MA2B7C0A1B", "91330106MA2B7C0A29"
    table = app.worker.store.partitions[0].table("profiles")
    table[USCC] = {"uscc": USCC, "region_code": "330106", "score": 1.0}
    table[nb_uscc] = {"uscc": nb_uscc, "region_code": "330206", "score": 2.0}
    table[unplaced] = {"uscc": unplaced, "score": 3.0}
    hz, nb = auth(_MINT, "hz_staff"), auth(_MINT, "nb_staff")
    reads = {
        (who, uscc): await client.get(f"/api/entities/{uscc}/profile", headers=headers)
        for who, headers in (("hz", hz), ("nb", nb), ("centre", SUPERVISOR))
        for uscc in (USCC, nb_uscc, unplaced)
    }
    status = {key: r.status for key, r in reads.items()}
    assert status == {
        ("hz", USCC): 200,
        ("hz", nb_uscc): 403,
        ("hz", unplaced): 403,
        ("nb", USCC): 403,
        ("nb", nb_uscc): 200,
        ("nb", unplaced): 403,
        ("centre", USCC): 200,
        ("centre", nb_uscc): 200,
        ("centre", unplaced): 200,
    }
    refused = await reads[("hz", nb_uscc)].json()
    assert refused == {"error": "this enterprise is outside your regions (3301)"}
    assert (await reads[("nb", nb_uscc)].json())["score"] == 2.0


def in_force(app: RiskLoopApp, silence_id: str, **match: str) -> Registry[Silence]:
    """A silence in force on the app's worker for the next hour, as if read from
    control.silences; the registry it is in."""
    now = app.worker.runtime.clock.now()
    registry = app.worker.runtime.silence_registry
    registry.activate(
        silence_id,
        Silence(
            silence_id=silence_id,
            reason="drill",
            creator="ops",
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=1),
            **match,  # type: ignore[arg-type]
        ),
    )
    return registry


async def test_silences_are_listed_to_the_regions_they_mute(
    client: TestClient[Any, Any], app: RiskLoopApp
) -> None:
    """A silence scoped to Ningbo is not a Hangzhou official's to see; one without a region
    mutes every region's warnings and is everyone's; the centre sees them all."""
    for silence_id, match in (
        ("s-province", {"region_prefix": "33"}),
        ("s-hz-county", {"region_prefix": "330106"}),
        ("s-nb", {"region_prefix": "3302"}),
        ("s-source", {"source": "complaints"}),
    ):
        in_force(app, silence_id, **match)

    async def listed(headers: dict[str, str]) -> set[str]:
        r = await client.get("/api/silences", headers=headers)
        assert r.status == 200
        return {x["silence_id"] for x in (await r.json())["silences"]}

    assert await listed(auth(_MINT, "hz_staff")) == {"s-province", "s-hz-county", "s-source"}
    assert await listed(auth(_MINT, "nb_staff")) == {"s-province", "s-nb", "s-source"}
    assert await listed(SUPERVISOR) == {"s-province", "s-hz-county", "s-nb", "s-source"}


async def test_profile_owned_elsewhere_is_forwarded(
    client: TestClient[Any, Any], app: RiskLoopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def other_node(topic: Any, key: str, web: Any, request: Any) -> Any:
        return web.json({"from": "other worker", "key": key})

    monkeypatch.setattr(app.router, "route_topic_req", other_node)
    r = await client.get(f"/api/entities/{USCC}/profile", headers=SUPERVISOR)
    assert (await r.json()) == {"from": "other worker", "key": USCC}


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [
        ("/api/silences", SILENCE, {}, 401),
        ("/api/silences", SILENCE, MODELLER, 403),
        ("/api/silences", SILENCE, {"Authorization": "Bearer wrong"}, 401),
        ("/api/silences", {**SILENCE, "creator": "mallory"}, OPERATOR, 403),
        ("/api/rulepacks", "name: x", OPERATOR, 403),
        ("/api/rulepacks", "name: x", {}, 401),
        ("/api/tasks/t-1/dispositions", {"action": "sign"}, OPERATOR, 403),
        ("/api/tasks/t-1/dispositions", {"action": "sign"}, SUPERVISOR, 403),  # not a department's
        ("/api/tasks/t-1/dispositions", {"action": "close"}, DEPARTMENT, 403),  # the centre's
        ("/api/tasks/t-1/dispositions", {"action": "sign", "actor": "a"}, DEPARTMENT, 403),
        ("/api/tasks/t-1/dispositions", {"action": "sign", "department": "d"}, DEPARTMENT, 403),
        ("/api/tasks/t-1/assignments", {"department": "hz_market", "reason": "r"}, DEPARTMENT, 403),
        ("/api/rulepacks?by=wang", "name: x", MODELLER, 403),
        (
            "/api/tasks/t-1/dispositions",
            {"department": "d", "action": "sign", "actor": "a"},
            {},
            401,
        ),
        ("/api/silences", {"reason": "r"}, OPERATOR, 422),  # no matcher
        ("/api/silences", "{not json", OPERATOR, 400),
        ("/api/rulepacks", "name: [", MODELLER, 422),
        ("/api/tasks/t-1/dispositions", {"action": "explode"}, DEPARTMENT, 422),
    ],
)
async def test_refused_writes_produce_nothing(
    client: TestClient[Any, Any],
    sent: Sent,
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
) -> None:
    kwargs: dict[str, Any] = {"json": body} if isinstance(body, dict) else {"data": body}
    r = await client.post(path, headers=headers, **kwargs)
    assert r.status == status
    assert isinstance((await r.json())["error"], str)
    assert sent.messages == []


async def test_a_token_of_another_key_or_expired_is_401(
    client: TestClient[Any, Any], sent: Sent, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    other = DevKey(tmp_path / "other").mint(
        PEOPLE["operator"],
        issuer=_MINT.auth.issuer,
        audience=_MINT.auth.audience,
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
    )
    expired = DevKey(KEYS).mint(
        PEOPLE["operator"],
        issuer=_MINT.auth.issuer,
        audience=_MINT.auth.audience,
        now=datetime.now(UTC) - timedelta(hours=2),
        ttl=timedelta(hours=1),
    )
    for token, words in ((other, "key id"), (expired, "expired")):
        r = await client.post(
            "/api/silences", headers={"Authorization": f"Bearer {token}"}, json=SILENCE
        )
        assert r.status == 401
        assert words in (await r.json())["error"]
    assert sent.messages == []


class _NoVerdict:
    """No broker here to read tasks.verdicts from: the worker's answer never comes."""

    def __init__(self, settings: Settings) -> None:
        pass

    def wait(self, event_id: str, timeout: float = 0) -> None:
        return None

    def close(self) -> None:
        pass


async def test_an_operator_ends_a_silence_as_themself(
    client: TestClient[Any, Any], sent: Sent, settings: Settings, app: RiskLoopApp
) -> None:
    """``POST /api/silences/{id}/expire``: the record names the token's person as
    ``expired_by``; anyone but an operator is refused and nothing is sent; an unknown silence
    is a 404, one already ended a 409."""
    registry = in_force(app, "sil-drill", source="equipment")
    staff = await client.post("/api/silences/sil-drill/expire", headers=auth(_MINT, "hz_staff"))
    assert staff.status == 403
    assert sent.messages == []
    unknown = await client.post("/api/silences/sil-nope/expire", headers=OPERATOR)
    assert unknown.status == 404
    r = await client.post("/api/silences/sil-drill/expire", headers=OPERATOR)
    assert r.status == 202, await r.text()
    (record,) = sent.on(settings.topics.silences)
    assert record["silence_id"] == "sil-drill"
    assert record["expired_by"] == PEOPLE["operator"].actor
    assert record["expired_by"] == (await r.json())["expired_by"]
    registry.activate("sil-drill", Silence.model_validate(record))  # as the worker applies it
    again = await client.post("/api/silences/sil-drill/expire", headers=OPERATOR)
    assert again.status == 409
    assert "already ended by" in (await again.json())["error"]


async def test_authorised_writes_send_one_record_each(
    client: TestClient[Any, Any], sent: Sent, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("streams.api.service.VerdictWatch", _NoVerdict)
    r = await client.post("/api/silences", headers=OPERATOR, json=SILENCE)
    assert r.status == 202
    silence = await r.json()
    assert [s["silence_id"] for s in sent.on(settings.topics.silences)] == [silence["silence_id"]]

    pack = (Path(PROJECT_ROOT) / "rules" / "packs" / "trucks.yaml").read_bytes()
    r = await client.post("/api/rulepacks?by=u-model", headers=MODELLER, data=pack)
    assert r.status == 202
    assert (await r.json())["published_by"] == PEOPLE["modeller"].actor
    assert [p["name"] for p in sent.on(settings.topics.rulepacks)] == ["trucks"]

    assert silence["creator"] == PEOPLE["operator"].actor
    body = {"action": "sign"}
    r = await client.post("/api/tasks/task-1/dispositions", headers=DEPARTMENT, json=body)
    assert r.status == 202  # sent, no verdict in time (tests/integration: the worker's verdicts)
    assert (await r.json())["verdict"] is None
    (disposition,) = sent.on(settings.topics.dispositions)
    assert disposition["task_id"] == "task-1"
    assert disposition["event_id"].startswith("disp-")
    assert disposition["actor"] == PEOPLE["hz_handler"].actor  # the token's, never the body's
    assert disposition["department"] == "hz_market"
    keys = [k for _, k, _ in sent.messages]
    (published,) = sent.on(settings.topics.rulepacks)
    version_key = publication_key("trucks", published["version"], published["content_hash"])
    assert keys == [silence["silence_id"].encode(), version_key.encode(), b"task-1"]


DISPOSITION = {"action": "sign"}


@pytest.mark.parametrize(
    ("path", "headers", "body", "status"),
    [
        (
            "/api/tasks/t-1/dispositions",
            DEPARTMENT,
            b'{"a": ' * 10_000,
            400,
        ),  # nested, under the size limit
        ("/api/silences", OPERATOR, b"[" * 20_000 + b"]" * 20_000, 400),
        (
            "/api/tasks/t-1/dispositions",
            DEPARTMENT,
            b'{"department": "hz_market", "action": "sign", "actor": "li\\ud800"}',
            400,
        ),
        (
            "/api/tasks/t-1/assignments",
            SUPERVISOR,
            b'{"department": "\\udfff", "reason": "r"}',
            400,
        ),
        ("/api/tasks/t-1/dispositions", DEPARTMENT, b" " * (8 << 20), 413),  # 8 MiB
        ("/api/silences", OPERATOR, b" " * (1 << 20), 413),
        ("/api/rulepacks", MODELLER, b"#" * (8 << 20), 413),
    ],
    ids=[
        "nested-object",
        "nested-array",
        "lone-surrogate",
        "lone-surrogate-assign",
        "8MiB-disposition",
        "1MiB-silence",
        "8MiB-pack",
    ],
)
async def test_hostile_bodies_are_refused_with_a_4xx_and_produce_nothing(
    client: TestClient[Any, Any],
    sent: Sent,
    path: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
) -> None:
    r = await client.post(path, headers=headers, data=body)
    assert r.status == status, await r.text()
    assert isinstance((await r.json())["error"], str)
    assert sent.messages == []


async def test_a_body_over_the_limit_is_refused_even_without_a_content_length(
    client: TestClient[Any, Any], sent: Sent
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b" " * 65536

    r = await client.post("/api/tasks/t-1/dispositions", headers=DEPARTMENT, data=chunks())
    assert r.status == 413
    assert sent.messages == []


async def test_a_pack_may_be_larger_than_a_disposition(
    client: TestClient[Any, Any], sent: Sent, settings: Settings
) -> None:
    pack = (Path(PROJECT_ROOT) / "rules" / "packs" / "trucks.yaml").read_bytes()
    padded = pack + b"\n" + b"# padding\n" * (settings.api_max_body_bytes // 10 + 1)
    assert settings.api_max_body_bytes < len(padded) < settings.api_max_pack_bytes
    r = await client.post("/api/rulepacks", headers=MODELLER, data=padded)
    assert r.status == 202
    r = await client.post(
        "/api/tasks/t-1/dispositions",
        headers=DEPARTMENT,
        data=b" " * len(padded) + b'{"department": "d", "action": "sign", "actor": "a"}',
    )
    assert r.status == 413


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/api/tasks/t%00", SUPERVISOR),
        ("GET", "/api/tasks/" + "t" * 129, SUPERVISOR),
        ("GET", "/api/warnings?source=complaints%00", SUPERVISOR),
        ("GET", "/api/warnings?limit=" + "9" * 5000, SUPERVISOR),
        ("POST", "/api/tasks/t%00/dispositions", DEPARTMENT),
        ("POST", "/api/tasks/" + "t" * 129 + "/assignments", SUPERVISOR),
        ("POST", "/api/rulepacks?by=wang%00", MODELLER),
    ],
    ids=[
        "task-nul",
        "task-129",
        "source-nul",
        "limit-5000-digits",
        "dispose-nul",
        "assign-129",
        "by-nul",
    ],
)
async def test_malformed_parameters_are_400_before_anything_is_read_or_sent(
    client: TestClient[Any, Any], sent: Sent, method: str, path: str, headers: dict[str, str]
) -> None:
    r = await client.request(method, path, headers=headers, json=DISPOSITION)
    assert r.status == 400, await r.text()
    assert sent.messages == []


async def test_a_token_that_is_not_utf8_is_401_not_500(
    client: TestClient[Any, Any], sent: Sent
) -> None:
    """Raw bytes on the wire: an HTTP client library would encode the header for us."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    body = json.dumps(SILENCE).encode()
    writer.write(
        b"POST /api/silences HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \xff\xfe\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == b"401"
    assert sent.messages == []


@pytest.mark.parametrize("region", ["3301\n", "33\n", "330106\n"])
async def test_region_with_a_trailing_newline_is_refused(
    client: TestClient[Any, Any], region: str
) -> None:
    r = await client.get("/api/warnings", params={"region": region}, headers=SUPERVISOR)
    assert r.status == 400


async def test_a_500_logs_its_cause(
    client: TestClient[Any, Any],
    app: RiskLoopApp,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(*_: Any) -> Any:
        raise ZeroDivisionError("the cause of it all")

    monkeypatch.setattr(app.worker.runtime, "active_versions", boom)
    r = await client.get("/api/active", headers=SUPERVISOR)
    assert r.status == 500
    assert "cause" not in await r.text()
    out = capsys.readouterr()
    logged = out.out + out.err + caplog.text  # where it lands depends on the log set-up
    assert "ZeroDivisionError" in logged
    assert "the cause of it all" in logged


@pytest.fixture
def json_log(settings: Settings) -> Iterator[io.StringIO]:
    """Logging set up as a worker does it (JSON lines), into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = io.StringIO()
    logs.configure(settings.model_copy(update={"log_format": "json"}), stream=out)
    yield out
    root.handlers[:], level = saved
    root.setLevel(level)


async def test_a_503_logs_the_traceback_of_its_cause(
    client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch, json_log: io.StringIO
) -> None:
    def unreachable(*_: Any) -> Any:
        raise StoreError("SQL store: connecting failed: no route to db.internal:5432")

    monkeypatch.setattr(SqlStore, "from_settings", unreachable)
    r = await client.get("/api/tasks/t-1", headers=SUPERVISOR)
    assert r.status == 503
    assert "db.internal" not in await r.text()
    (line,) = [json.loads(x) for x in json_log.getvalue().splitlines() if "unavailable" in x]
    assert "no route to db.internal" in line["error"]
    assert "Traceback" in line["exception"]
    assert "StoreError" in line["exception"]


async def test_a_disposition_the_worker_would_dead_letter_is_a_422_and_not_sent(
    client: TestClient[Any, Any], sent: Sent
) -> None:
    """Refused at the worker's door, it would never reach the task stage: no verdict would
    come, so the API checks the door first (an empty task id, as a fuzzer sent). An empty
    department or actor in the body, which a fuzzer sent too, is not the token's: 403."""
    r = await client.post("/api/tasks/%20/dispositions", headers=DEPARTMENT, json=DISPOSITION)
    assert r.status == 422, await r.text()
    for body in ({"department": "", "action": "sign"}, {"actor": "", "action": "sign"}):
        r = await client.post("/api/tasks/0/dispositions", headers=DEPARTMENT, json=body)
        assert r.status == 403
    assert sent.messages == []
