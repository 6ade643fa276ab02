"""Re-keying through the real agents: complaints at one address under keys on different
partitions are sent on to the address's partition, and only there make their warning."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from schemas.validation.pii import address_key
from streams.rekey import partition_of
from tests.streams.conftest import Sent, put_rekeyed
from tests.streams.test_skeleton import encode, inspection

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

RULE = "complaints.repeat_address"


def _complaint(n: int, address: str) -> dict[str, Any]:
    base = inspection()  # for a recent event time only
    return {
        "event_id": f"cmp-{n}",
        "event_time": base["event_time"],
        "channel": "12345",
        "text": "油烟扰民",
        "address": address,
        "region_code": "330106",
    }


async def test_complaints_at_one_address_meet_on_its_partition(
    app: RiskLoopApp, sent: Sent
) -> None:
    n = app.worker.settings.topics.partitions
    address = "杭州市西湖区某路1号"
    entity = address_key(address)  # the house number travels as no key or id
    home = partition_of(entity, n)
    keys = [k for k in (f"cmp-{i}" for i in range(100)) if partition_of(k, n) != home][:3]
    async with app.agents["complaints"].test_context() as agent:
        for i, key in enumerate(keys):
            ev = {**_complaint(i, address), "event_id": key}
            await agent.put(encode(ev), key=key.encode())
    assert not [a for a in sent.on("alerts") if a["entity"] == entity], "raised off its partition"
    rekeyed = [(k, v) for t, k, v in sent.messages if t == "riskloop.rekeyed"]
    assert [json.loads(v)["rules"] for _, v in rekeyed] == [[RULE]] * 3
    assert {k for k, _ in rekeyed} == {entity.encode()}
    sent.messages.clear()
    # sent twice: the source events redone after a crash
    await put_rekeyed(app, [*rekeyed, *rekeyed])
    alerts = [a for a in sent.on("alerts") if a["entity"] == entity]
    assert not [m for m in sent.messages if address.encode() in (m[1] or b"")], "a key"
    assert {a["alert_id"] for a in alerts}
    assert len({a["alert_id"] for a in alerts}) == 1
    assert any(r["id"] == RULE for a in alerts for r in a["reasons"])
    assert max(a["occurrences"] for a in alerts) == 1, "a re-sent event counted twice"
    window = app.worker.store.partitions[home].tables["rule_state"][f"{RULE}|{entity}"]
    assert window["b"][0][1] == 3, window  # three complaints in the window, not six
    assert partition_of(entity, n) in app.worker.store.partitions
    assert any(
        k.startswith(f"{RULE}|") for k in app.worker.store.partitions[home].tables["rule_state"]
    )
