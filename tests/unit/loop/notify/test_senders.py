"""The IM-robot and SMS senders against a local HTTP server: the shapes their APIs take."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from loop.notify.config import parse_config
from sinks.notify.base import DeliveryFailed
from sinks.notify.senders import senders
from tests.unit.loop.notify.factories import intent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class Robot:
    """Records requests; answers with ``answer`` (JSON) or ``status``."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        self.status = 200

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(
            {
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
                "json": await request.json(),
            }
        )
        return web.json_response(self.answer, status=self.status)


@pytest.fixture
async def robot() -> AsyncIterator[tuple[Robot, str]]:
    r = Robot()
    app = web.Application()
    app.router.add_post("/{tail:.*}", r.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield r, f"http://127.0.0.1:{port}"
    await runner.cleanup()


BUILT: list[Any] = []


@pytest.fixture(autouse=True)
async def close_senders() -> AsyncIterator[None]:
    yield
    while BUILT:
        await BUILT.pop().close()


def build(base: str) -> dict[str, Any]:
    cfg = parse_config(
        f"""
receivers:
  - {{name: ding, kind: dingtalk, url: "{base}/robot/send", token: tok, secret: sec}}
  - {{name: wecom, kind: wecom, url: "{base}/cgi-bin/webhook/send", key: wk}}
  - name: sms
    kind: sms
    url: "{base}/sms"
    phones: ["13800000000", "13900000000"]
    body: {{to: "$phones", content: "$text", part: "$segment/$segments", sign: 风险预警}}
    api_key: smskey
route: {{receiver: ding}}
""",
        {"tok": "TOKEN", "sec": "SEC123", "wk": "WKEY", "smskey": "SMSKEY"},
    )
    built = senders(cfg)
    BUILT.extend(built.values())
    return built


async def test_dingtalk_gets_markdown_with_its_token_timestamp_and_sign(robot) -> None:  # type: ignore[no-untyped-def]
    r, base = robot
    await build(base)["ding"].send([intent(1)])
    (req,) = r.seen
    assert req["json"]["msgtype"] == "markdown"
    assert req["json"]["markdown"]["title"] == "【红色预警】食物中毒 1"
    assert "> 对象：某餐馆" in req["json"]["markdown"]["text"]
    q = req["query"]
    assert q["access_token"] == "TOKEN"
    mac = hmac.new(b"SEC123", f"{q['timestamp']}\nSEC123".encode(), hashlib.sha256).digest()
    assert q["sign"] == base64.b64encode(mac).decode()  # what DingTalk recomputes


async def test_a_robot_that_answers_200_with_an_error_code_is_a_failure(robot) -> None:  # type: ignore[no-untyped-def]
    r, base = robot
    r.answer = {"errcode": 310000, "errmsg": "sign not match"}
    with pytest.raises(DeliveryFailed, match="310000"):
        await build(base)["ding"].send([intent(1)])


async def test_wecom_gets_markdown_content_with_its_key(robot) -> None:  # type: ignore[no-untyped-def]
    r, base = robot
    await build(base)["wecom"].send([intent(1), intent(2)])
    (req,) = r.seen
    assert req["query"] == {"key": "WKEY"}
    body = req["json"]
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["content"].startswith("**2 条通知：")
    assert body["markdown"]["content"].count("####") == 2


async def test_sms_gateway_gets_one_request_per_segment_of_at_most_70_characters(robot) -> None:  # type: ignore[no-untyped-def]
    r, base = robot
    await build(base)["sms"].send(
        [intent(n, text="对象：" + "某某餐饮管理有限公司" * 3) for n in range(3)]
    )
    assert len(r.seen) > 1
    for k, req in enumerate(r.seen, 1):
        body = req["json"]
        assert body["to"] == "13800000000,13900000000"
        assert body["sign"] == "风险预警"
        assert body["part"] == f"{k}/{len(r.seen)}"
        assert len(body["content"]) <= 70
        assert body["content"].endswith(f"({k}/{len(r.seen)})")
        assert req["headers"]["Authorization"] == "Bearer SMSKEY"


async def test_an_http_error_or_an_unreachable_receiver_is_a_delivery_failure(robot) -> None:  # type: ignore[no-untyped-def]
    r, base = robot
    r.status = 503
    sms = build(base)["sms"]
    with pytest.raises(DeliveryFailed, match="HTTP 503"):
        await sms.send([intent(1)])
    away = build("http://127.0.0.1:1")["wecom"]
    with pytest.raises(DeliveryFailed, match="Connect"):
        await away.send([intent(1)])
