"""Kafka's log cleaner runs, and a worker started afterwards still runs the last good pack
version (issue #15: "Control topic compaction loses the last good pack version").

Good v1 is published and a worker runs it; v2, which every worker refuses, follows; the worker
stops. The test's private ``control.rulepacks`` is set to compact within seconds and the real
log cleaner compacts it. A second pack published the old way (both versions under its name)
shows what was lost before: only its refused v2 is left. The fresh worker runs the first
pack's v1 and scores with it; the second pack has nothing to run.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from infra.process import stop_child
from schemas.validation.uscc import make_uscc
from streams.admin import admin_client
from streams.control_keys import name_of, publication_key
from streams.producer import make_producer
from streams.publish import publish_pack, read_all, send
from tests.integration.conftest import tail_consumer
from tests.integration.test_hotload import wait_status, write_pack

if TYPE_CHECKING:
    from pathlib import Path

    from config.settings import Settings

FAST_COMPACTION = {
    "segment.ms": "200",  # a new segment as soon as a record comes 200 ms after the last one
    "min.cleanable.dirty.ratio": "0.0001",
    "min.compaction.lag.ms": "0",
    "delete.retention.ms": "100",
}


def compact_fast(s: Settings, topic: str) -> None:
    """Make the broker's log cleaner compact ``topic`` within seconds (its default backoff)."""
    entries = [
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
        for k, v in FAST_COMPACTION.items()
    ]
    admin = admin_client(s)  # kept until the futures resolve: its handle serves them
    futures = admin.incremental_alter_configs(
        [ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)]
    )
    for future in futures.values():
        future.result()


def keys_by_name(s: Settings) -> dict[str, list[str]]:
    """Pack name → the keys of the records left on control.rulepacks, in log order."""
    out: dict[str, list[str]] = {}
    for key, value in read_all(s, s.topics.rulepacks):
        if value is not None:
            out.setdefault(name_of(key), []).append(key)
    return out


def wait_compacted(s: Settings, name: str, timeout: float = 120) -> dict[str, list[str]]:
    """Roll the segment (a tombstone under a version key: workers ignore those) every two
    seconds until the cleaner has left one record of ``name``, the old-style pack."""
    roll = publication_key(f"roll-{uuid.uuid4().hex[:6]}", "0", "00" * 8)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        send(s, s.topics.rulepacks, roll, None)
        left = keys_by_name(s)
        if len(left.get(name, [])) == 1:
            return left
        time.sleep(2)
    raise AssertionError(f"the log cleaner did not compact {s.topics.rulepacks} in {timeout} s")


def publication(name: str, version: str, text: str) -> bytes:
    return json.dumps(
        {
            "name": name,
            "version": version,
            "content_hash": "",
            "yaml": text,
            "published_by": "old-cli",
            "published_at": datetime.now(UTC).isoformat(),
        }
    ).encode()


def test_a_worker_started_after_compaction_runs_the_last_good_version(  # type: ignore[no-untyped-def]
    live_settings: Settings, worker, tmp_path: Path
) -> None:
    s = live_settings
    run = uuid.uuid4().hex[:8]
    ids = {"name": f"compact-{run}", "rule": f"compact{run}.probe", "item": f"COMPACT-{run}"}
    old = {"name": f"compact-old-{run}", "rule": f"compactold{run}.probe", "item": f"OLD-{run}"}
    good = f'event.item_code == "{ids["item"]}"'
    refused = 'event.item_code == "NEVER"'  # its "fires on its item" example fails
    compact_fast(s, s.topics.rulepacks)
    for folder in ("v2", "old"):
        (tmp_path / folder).mkdir()

    status = tail_consumer(s.bootstrap_servers, [s.topics.status])
    publish_pack(s, write_pack(tmp_path, "1.0.0", condition=good, score=10, ids=ids), "test")
    first = worker()
    wait_status(s, status, ids["name"], "1.0.0", "active", timeout=120)
    v2 = write_pack(tmp_path / "v2", "2.0.0", condition=refused, score=20, ids=ids)
    publish_pack(s, v2, "test", force=True)  # past the CLI's own check, as `--force` does
    wait_status(s, status, ids["name"], "2.0.0", "refused")
    for version, cond in (("1.0.0", f'event.item_code == "{old["item"]}"'), ("2.0.0", refused)):
        text = write_pack(tmp_path / "old", version, condition=cond, score=1, ids=old).read_text()
        send(s, s.topics.rulepacks, old["name"], publication(old["name"], version, text))
    stop_child(first)

    left = wait_compacted(s, old["name"])
    assert left[old["name"]] == [old["name"]]  # keyed by name: only the refused v2 is left
    assert [
        json.loads(v or b"{}")["version"]
        for k, v in read_all(s, s.topics.rulepacks)
        if k == old["name"]
    ] == ["2.0.0"]
    assert len(left[ids["name"]]) == 2  # one key per version: v1 survives its refused v2

    status = tail_consumer(s.bootstrap_servers, [s.topics.status])
    alerts = tail_consumer(s.bootstrap_servers, [s.topics.alerts])
    fresh = worker(s.with_overrides(data_dir=tmp_path / "fresh-worker"))
    wait_status(s, status, old["name"], "2.0.0", "refused", timeout=120)  # nothing else left
    wait_status(s, status, ids["name"], "1.0.0", "active")
    assert scored_by(s, alerts, ids, run) == "1.0.0"
    assert fresh.poll() is None


def scored_by(s: Settings, alerts: Any, ids: dict[str, str], run: str) -> str:
    """Send one matching inspection; the version of the probe rule its warning names."""
    uscc = make_uscc(f"compact-{run}", "330106")
    event = {
        "event_id": f"compact-{run}",
        "event_time": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "uscc": uscc,
        "entity_name": "杭州压缩测试餐饮有限公司",
        "region_code": "330106",
        "item_code": ids["item"],
        "outcome": "pass",
    }
    producer = make_producer(s)
    producer.produce(s.topics.inspections, key=uscc.encode(), value=json.dumps(event).encode())
    assert producer.flush(10) == 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        msg = alerts.poll(0.5)
        if msg is None or msg.error():
            continue
        alert = json.loads(msg.value())
        if event["event_id"] in alert["evidence"]:
            (version,) = [r["version"] for r in alert["reasons"] if r["id"] == ids["rule"]]
            return str(version)
    raise AssertionError("no warning: the fresh worker did not score with the pack")
