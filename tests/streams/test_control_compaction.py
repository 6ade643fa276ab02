"""Log compaction never takes the last good version away (issue #15).

A control topic is compacted: in the end only the latest record of each key is left, each at
its own offset. These tests publish through the CLI's own functions into an in-memory log,
compact it as Kafka's log cleaner does (:func:`compact`), and start fresh workers on what is
left, through the control plane's own start-up path (``hold`` + ``replay_pack``) and its live
path (``apply``). A worker that replays the compacted log must end where the live worker ended.

With the old keying (every version under the pack's name) the first test shows the loss: good
v1, refused v2, compaction, and a restarted worker has no v1.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from config.settings import PROJECT_ROOT, Settings
from schemas.errors import ConfigError
from streams import control, publish
from streams.app import RiskLoopApp, build_app
from streams.control_keys import is_version_key, name_of, publication_key

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

NAME = "compaction-probe"
PACK = """\
name: {name}
version: {version}
owner: test
description: compaction probe
rules:
  - id: compaction.probe
    title: 压缩探针
    sources: [inspections]
    item_code: PROBE
    condition: {condition}
    group_key: [event_id]
    level: blue
    score: 10
    examples:
      - name: fires on its item
        fire: true
        event: {{item_code: PROBE}}
      - name: silent on other items
        fire: false
        event: {{item_code: OTHER}}
"""
GOOD = 'event.item_code == "PROBE"'
BAD = 'event.item_code == "NEVER"'  # its own example fails: every worker refuses it

Record = tuple[str, bytes | None]


def compact(log: list[Record], *, drop_tombstones: bool = False) -> list[Record]:
    """What Kafka's log cleaner leaves: the latest record of each key, in log order; with
    ``drop_tombstones``, also after ``delete.retention.ms`` has removed the tombstones."""
    last = {key: offset for offset, (key, _) in enumerate(log)}
    kept = [record for offset, record in enumerate(log) if last[record[0]] == offset]
    return [r for r in kept if r[1] is not None] if drop_tombstones else kept


def fresh_app(settings: Settings) -> RiskLoopApp:
    app = build_app(settings)
    app.finalize()
    return app


async def live(app: RiskLoopApp, handler: Any, record: Record) -> None:
    """What a running worker does with one record."""
    await control.apply(app.worker, handler, record[0].encode(), record[1])


async def start(settings: Settings, log: list[Record]) -> RiskLoopApp:
    """A worker started on ``log``: pack records held per name, replayed once caught up."""
    app = fresh_app(settings)
    held: dict[str, list[tuple[bytes | None, bytes | None]]] = {}
    for key, value in log:
        control.hold(held, key.encode(), value)
    for records in held.values():
        await control.replay_pack(app.worker, records)
    return app


def active(app: RiskLoopApp) -> str | None:
    pack = app.worker.runtime.packs.active.get(NAME)
    return pack.version if pack else None


@dataclass
class Topic:
    """An in-memory ``control.rulepacks`` the CLI functions read and write, applied live to
    one running worker as each record arrives."""

    settings: Settings
    tmp: Path
    worker: RiskLoopApp
    log: list[Record] = field(default_factory=list)

    async def publish(self, version: str, *, good: bool = True) -> None:
        path = self.tmp / f"{version}-{good}.yaml"
        path.write_text(PACK.format(name=NAME, version=version, condition=GOOD if good else BAD))
        await self.sent(lambda: publish.publish_pack(self.settings, path, "test", force=not good))

    async def rollback(self) -> bool:
        try:
            await self.sent(lambda: publish.rollback_pack(self.settings, NAME, "test"))
        except ConfigError:
            return False  # nothing to roll back to: the CLI says so and sends nothing
        return True

    async def withdraw(self) -> None:
        await self.sent(
            lambda: publish.withdraw(self.settings, self.settings.topics.rulepacks, NAME)
        )

    async def sent(self, command: Callable[[], object]) -> None:
        before = len(self.log)
        command()
        for record in self.log[before:]:
            await live(self.worker, control.apply_rulepack, record)


@pytest.fixture
def packs_only(settings: Settings, tmp_path: Path) -> Settings:
    """No shipped packs (the probe is not one): a worker starts in a fraction of the time."""
    (tmp_path / "no-packs").mkdir()
    return settings.with_overrides(rule_packs_dir=tmp_path / "no-packs")


@pytest.fixture
def topic(packs_only: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Topic:
    settings = packs_only
    t = Topic(settings, tmp_path, fresh_app(settings))

    def send_all(_: Settings, name: str, records: list[Record]) -> None:
        assert name == settings.topics.rulepacks
        t.log.extend(records)

    monkeypatch.setattr(publish, "send_all", send_all)
    monkeypatch.setattr(publish, "read_all", lambda _s, _name: iter(list(t.log)))
    # this log holds no headers: every record in it stands for one the CLI signed
    monkeypatch.setattr(publish, "read_signed", lambda _s, _name: iter(list(t.log)))
    return t


async def test_a_refused_version_does_not_take_the_good_one_away(
    topic: Topic, packs_only: Settings
) -> None:
    settings = packs_only
    await topic.publish("1.0.0")
    await topic.publish("2.0.0", good=False)
    assert active(topic.worker) == "1.0.0"  # the running worker refused v2
    assert [k for k, _ in topic.log] == [
        publication_key(NAME, v, json.loads(value or b"{}")["content_hash"])
        for v, (_, value) in zip(["1.0.0", "2.0.0"], topic.log, strict=True)
    ]
    compacted = compact(topic.log, drop_tombstones=True)
    assert compacted == topic.log  # two versions, two keys: compaction keeps both
    assert active(await start(settings, compacted)) == "1.0.0"

    old_keying = compact([(NAME, value) for _, value in topic.log])  # how it was: by name
    assert len(old_keying) == 1  # only the refused v2 is left …
    assert active(await start(settings, old_keying)) is None  # … and v1 is gone


async def test_a_rollback_record_replaces_its_versions_original(
    topic: Topic, packs_only: Settings
) -> None:
    settings = packs_only
    await topic.publish("1.0.0")
    await topic.publish("2.0.0")
    await topic.publish("3.0.0", good=False)
    assert await topic.rollback()  # from 2.0.0, the active one, to 1.0.0
    assert active(topic.worker) == "1.0.0"
    compacted = compact(topic.log)
    assert len(compacted) == 3  # v1's original is gone: its rollback record stands for it
    assert active(await start(settings, compacted)) == "1.0.0"
    assert await topic.rollback() is False  # nothing before 1.0.0 (no shipped pack of it)


async def test_a_withdrawal_survives_compaction_and_its_tombstones_expiring(
    topic: Topic, packs_only: Settings
) -> None:
    settings = packs_only
    await topic.publish("1.0.0")
    await topic.publish("2.0.0", good=False)
    await topic.withdraw()
    assert active(topic.worker) is None
    tombstoned = [k for k, v in topic.log if v is None]
    assert tombstoned[0] == NAME
    assert all(is_version_key(k) for k in tombstoned[1:])
    for log in (topic.log, compact(topic.log), compact(topic.log, drop_tombstones=True)):
        assert active(await start(settings, log)) is None
    assert compact(topic.log, drop_tombstones=True) == []
    await topic.publish("1.0.0")  # published again later: its key comes back
    assert active(await start(settings, compact(topic.log, drop_tombstones=True))) == "1.0.0"


async def test_records_under_the_old_keying_are_still_read(
    topic: Topic, packs_only: Settings
) -> None:
    settings = packs_only
    await topic.publish("1.0.0")
    legacy = [(NAME, value) for _, value in topic.log]
    topic.log[:] = legacy  # written before version keys
    await topic.publish("2.0.0")
    assert active(await start(settings, compact(topic.log))) == "2.0.0"
    assert await topic.rollback()  # the history reads both keyings
    assert active(topic.worker) == "1.0.0"
    assert active(await start(settings, compact(topic.log))) == "1.0.0"


@pytest.mark.parametrize("seed", range(12))
async def test_any_history_replays_to_what_the_live_worker_runs(
    topic: Topic, packs_only: Settings, seed: int
) -> None:
    """Random publications, refusals, rollbacks and withdrawals: a worker started on the full
    log, the compacted log, or the compacted log whose tombstones expired runs what the
    worker that saw it all live runs."""
    rng = random.Random(seed)
    version = 0
    for _ in range(9):
        op = rng.choice(["good", "good", "bad", "bad", "rollback", "rollback", "withdraw"])
        if op in ("good", "bad"):
            version += 1
            await topic.publish(f"{version}.0.0", good=op == "good")
        elif op == "rollback":
            await topic.rollback()
        else:
            await topic.withdraw()
    want = active(topic.worker)
    settings = packs_only
    for log in (topic.log, compact(topic.log), compact(topic.log, drop_tombstones=True)):
        assert active(await start(settings, log)) == want, [
            (name_of(k), v and json.loads(v)["version"]) for k, v in log
        ]


# ---------------------------------------------------------------- fence sets and models


SHIPPED_FENCES = PROJECT_ROOT / "config" / "geofences" / "liverpool_route14.geojson"


def fence_version(version: str, **changes: Any) -> bytes:
    doc = json.loads(SHIPPED_FENCES.read_text(encoding="utf-8"))
    doc.update(version=version, **changes)
    return json.dumps(doc).encode()


async def test_a_fence_set_keeps_its_last_good_version(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    log: list[Record] = []
    monkeypatch.setattr(publish, "send", lambda _s, _t, key, value: log.append((key, value)))
    publish.publish_fenceset(settings, fence_version("v2"))
    name = name_of(log[0][0])
    log.append((name, fence_version("v3", features="not a list")))  # a raw sender, refused
    worker = fresh_app(settings)
    for record in log:
        await live(worker, control.apply_fenceset, record)
    assert worker.worker.runtime.fence_sets[name].version == "v2"
    restarted = fresh_app(settings)
    for record in compact(log, drop_tombstones=True):
        await live(restarted, control.apply_fenceset, record)
    assert restarted.worker.runtime.fence_sets[name].version == "v2"


async def test_a_live_model_survives_its_shadow_and_a_refused_version(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.publication import ModelPublication
    from models.worker_models import build_models

    log: list[Record] = []
    monkeypatch.setattr(publish, "send", lambda _s, _t, key, value: log.append((key, value)))
    t0 = datetime.now(UTC) - timedelta(hours=1)
    base = {"name": "equipment-anomaly", "factory": "equipment-anomaly", "published_by": "li"}
    for version, shadow, at in (("v2", False, t0), ("v3", True, t0 + timedelta(minutes=1))):
        publish.send_model(
            settings, ModelPublication(**base, version=version, shadow=shadow, published_at=at)
        )
    refused = ModelPublication(**base, version="v4", published_at=t0 + timedelta(days=400))
    publish.send_model(settings, refused)  # dated a year ahead: every worker refuses it

    def run(records: list[Record]) -> tuple[dict[str, str], Any]:
        app = fresh_app(settings)
        app.worker.runtime.models = build_models(settings)
        return app.worker.runtime.models, app

    for records in (log, compact(log, drop_tombstones=True)):
        models, app = run(records)
        for record in records:
            await live(app, control.apply_model, record)
        assert models.versions()["equipment-anomaly"] == "v2"
        assert models.shadow_stats("equipment-anomaly")["candidate"] == "v3"
    old_keying = compact([("equipment-anomaly", value) for _, value in log])
    models, app = run(old_keying)
    for record in old_keying:
        await live(app, control.apply_model, record)
    assert models.versions()["equipment-anomaly"] != "v2"  # what compaction used to lose
