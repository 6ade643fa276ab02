"""Grouping and timing, message shapes, signatures (loop/notify/plan, render, signing)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from loop.notify.plan import MAX_BATCH, Pending, hold_until, ready
from loop.notify.render import markdown, sms_segments, webhook_payload
from loop.notify.signing import dingtalk_sign, verify_webhook, webhook_signature
from sinks.backoff import Backoff
from sinks.notify.sms import fill
from tests.unit.loop.notify.factories import intent

T = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def pending(
    n: str,
    group: str = "g",
    *,
    due: float = 0,
    attempts: int = 0,
    nxt: float = 0,
    interval: float = 300,
) -> Pending:
    return Pending(
        n, "r", group, T + timedelta(seconds=due), interval, attempts, T + timedelta(seconds=nxt)
    )


def test_a_group_waits_for_its_group_wait_then_goes_as_one_message() -> None:
    waiting = [pending("a", due=5), pending("b", due=8)]
    assert ready(waiting, {}, T) == []
    (batch,) = ready(waiting, {}, T + timedelta(seconds=5))
    assert batch.intent_ids == ("a", "b")  # b joins a's message, though it was due later


def test_groups_are_sent_apart_and_news_waits_out_group_interval() -> None:
    rows = [pending("a", "g1"), pending("b", "g2")]
    last = {("r", "g1"): T - timedelta(seconds=100)}
    assert [b.group_key for b in ready(rows, last, T)] == ["g2"]
    held = hold_until(rows, last, ready(rows, last, T), T)
    assert held == {T + timedelta(seconds=200): ["a"]}
    assert [b.group_key for b in ready(rows, last, T + timedelta(seconds=200))] == ["g1", "g2"]


def test_a_retry_goes_after_its_backoff_not_after_group_interval() -> None:
    last = {("r", "g"): T - timedelta(seconds=1)}
    retry = [pending("a", attempts=2, nxt=4)]
    assert ready(retry, last, T) == []
    assert hold_until(retry, last, [], T) == {T + timedelta(seconds=4): ["a"]}
    assert ready(retry, last, T + timedelta(seconds=4))[0].intent_ids == ("a",)


def test_a_big_group_is_cut_into_messages_of_at_most_max_batch() -> None:
    rows = [pending(f"n{k:03}") for k in range(MAX_BATCH + 5)]
    (batch,) = ready(rows, {}, T)
    assert len(batch.intent_ids) == MAX_BATCH
    rest = hold_until(rows, {}, [batch], T)
    assert rest == {T: [f"n{k:03}" for k in range(MAX_BATCH, MAX_BATCH + 5)]}


def test_backoff_grows_exponentially_with_jitter_under_its_cap() -> None:
    b = Backoff(initial=2.0, maximum=300.0)
    for attempt in range(12):
        top = min(300.0, 2.0 * 2**attempt)
        delays = {b.delay(attempt) for _ in range(20)}
        assert all(top / 2 <= d <= top for d in delays)
        assert len(delays) > 1  # jittered: workers do not retry in lock-step


def test_sms_segments_are_at_most_70_characters_and_lose_nothing_of_the_first_lines() -> None:
    batch = [intent(n, text="对象：" + "很长的企业名称" * 6) for n in range(3)]
    segments = sms_segments(batch, 70)
    assert len(segments) > 1
    assert all(len(s) <= 70 for s in segments)
    assert "".join(segments).count("【红色预警】") == 3


def test_the_sms_template_substitutes_and_never_evaluates() -> None:
    out = fill(
        {"c": "$text", "x": "${__class__}", "n": [1, "$phones"]},
        {"text": "{0.__class__}", "phones": "138"},
    )
    assert out == {"c": "{0.__class__}", "x": "${__class__}", "n": [1, "138"]}


def test_robot_markdown_and_webhook_payload_carry_every_notification() -> None:
    batch = [intent(1), intent(2)]
    md = markdown(batch)
    assert md.count("#### 【红色预警】") == 2
    assert "> 地址：西湖区" in md
    payload = webhook_payload(batch, "centre")
    assert [n["id"] for n in payload["notifications"]] == ["ntf-1", "ntf-2"]
    json.dumps(payload, ensure_ascii=False)  # serialisable as sent


def test_webhook_signature_verifies_only_the_same_body_recent_and_with_the_key() -> None:
    body = b'{"notifications": []}'
    sig = webhook_signature("k", 1_764_640_000, body)
    expected = hmac.new(b"k", b"1764640000." + body, hashlib.sha256).hexdigest()
    assert sig == f"v1={expected}"
    assert verify_webhook("k", "1764640000", sig, body, now=1_764_640_100)
    assert not verify_webhook("other", "1764640000", sig, body, now=1_764_640_100)
    assert not verify_webhook("k", "1764640000", sig, body + b" ", now=1_764_640_100)
    assert not verify_webhook("k", "1764640000", sig, body, now=1_764_650_000)  # replayed later
    assert not verify_webhook("k", "soon", sig, body, now=1_764_640_100)


def test_dingtalk_sign_follows_its_documented_recipe() -> None:
    ts = 1_700_000_000_000
    raw = hmac.new(b"SEC1", f"{ts}\nSEC1".encode(), hashlib.sha256).digest()
    assert dingtalk_sign("SEC1", ts) == base64.b64encode(raw).decode()
