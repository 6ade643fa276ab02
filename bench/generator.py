"""A realistic mixed event stream for the demo, the benchmark and end-to-end tests.

All four sources, with the key skew a real city shows: a few busy enterprises (a chain
restaurant, a big property manager) produce most events, many quiet ones produce a few. Entity
names are Chinese, USCCs carry valid check digits, region codes are real Hangzhou districts,
plates are valid 浙A plates. Deterministic for a given seed and start time, so tests can assert
on what it produces.

>>> from datetime import UTC, datetime
>>> events = generate(50, seed=1, start=datetime(2026, 5, 1, tzinfo=UTC))
>>> sorted({e.source for e in events}) == ["complaints", "equipment", "inspections", "trucks"]
True
>>> events == generate(50, seed=1, start=datetime(2026, 5, 1, tzinfo=UTC))
True
"""

from __future__ import annotations

import json
import random
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas.validation.uscc import make_uscc

DISTRICTS = {
    "330102": "上城区",
    "330105": "拱墅区",
    "330106": "西湖区",
    "330108": "滨江区",
    "330109": "萧山区",
    "330110": "余杭区",
}
_BRANDS = [
    "味之源",
    "老杭帮",
    "绿野",
    "新鲜汇",
    "金桂",
    "百味轩",
    "知味",
    "江南春",
    "和顺",
    "盛华",
    "恒安",
    "鼎鑫",
]
_TRADES = [("餐饮管理有限公司", "FOOD"), ("食品超市有限公司", "FOOD"), ("物业服务有限公司", "PROP"),
           ("热力有限公司", "HEAT"), ("建筑渣土运输有限公司", "MUCK"), ("酒店管理有限公司", "FOOD")]  # fmt: skip
_COMPLAINT_TEXTS = [
    ("食品安全", "在{name}就餐后出现呕吐、腹泻症状，怀疑食物中毒，请尽快调查。", "urgent"),
    ("食品安全", "{name}后厨卫生很差，有老鼠出没，餐具未消毒。", "normal"),
    ("消费维权", "{name}预付卡无法退款，商家拒绝沟通。", "normal"),
    ("环境保护", "{name}附近夜间渣土车噪音扰民，道路遗撒严重。", "normal"),
    ("特种设备", "{name}电梯经常停运，门反复开关，存在安全隐患。", "urgent"),
    ("城乡建设", "{name}施工工地扬尘大，未覆盖防尘网。", "normal"),
]


@dataclass(frozen=True)
class Entity:
    uscc: str
    name: str
    region_code: str
    trade: str


@dataclass(frozen=True)
class GeneratedEvent:
    """One source event: which source, its Kafka key, and the record as a JSON-ready dict."""

    source: str
    key: str
    event: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps({"source": self.source, "event": self.event}, ensure_ascii=False)


def entities(n: int, rng: random.Random) -> list[Entity]:
    out = []
    for i in range(n):
        region = rng.choice(list(DISTRICTS))
        brand = rng.choice(_BRANDS)
        trade, kind = rng.choice(_TRADES)
        name = f"杭州{brand}{DISTRICTS[region][:2]}{trade}" if i % 3 else f"杭州{brand}{trade}"
        out.append(Entity(make_uscc(f"e{i}", region), f"{name}（{i:04d}）", region, kind))
    return out


def _zipf_index(rng: random.Random, n: int, s: float = 1.2) -> int:
    """An index in [0, n) with Zipf-like skew: index 0 is the busiest."""
    weights = _zipf_weights(n, s)
    return rng.choices(range(n), weights=weights, k=1)[0]


_weights_cache: dict[tuple[int, float], list[float]] = {}


def _zipf_weights(n: int, s: float) -> list[float]:
    key = (n, s)
    if key not in _weights_cache:
        _weights_cache[key] = [1.0 / (i + 1) ** s for i in range(n)]
    return _weights_cache[key]


def generate(
    count: int,
    *,
    seed: int = 7,
    start: datetime | None = None,
    n_entities: int = 60,
    n_elevators: int = 12,
    n_trucks: int = 6,
    mix: tuple[float, float, float, float] = (0.2, 0.2, 0.35, 0.25),
    step_seconds: float = 30.0,
) -> list[GeneratedEvent]:
    """``count`` events in event-time order (inspections, complaints, equipment, trucks by ``mix``)."""
    rng = random.Random(seed)
    start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(
        seconds=count * step_seconds
    )
    ents = entities(n_entities, rng)
    elevators = [(f"31103301{i:012d}", rng.choice(ents)) for i in range(n_elevators)]
    trucks = [
        (
            f"浙A{rng.choice('DF')}{i:04d}" if i % 2 else f"浙A{rng.randrange(10000, 99999)}",
            rng.choice(ents),
        )
        for i in range(n_trucks)
    ]
    truck_pos = {
        plate: (30.25 + rng.random() * 0.05, 120.12 + rng.random() * 0.08) for plate, _ in trucks
    }
    out: list[GeneratedEvent] = []
    for i in range(count):
        at = start + timedelta(seconds=i * step_seconds)
        ts = at.isoformat()
        source = rng.choices(
            ["inspections", "complaints", "equipment", "trucks"], weights=mix, k=1
        )[0]
        if source == "inspections":
            ent = ents[_zipf_index(rng, len(ents))]
            out.append(_inspection(rng, i, ts, ent))
        elif source == "complaints":
            ent = ents[_zipf_index(rng, len(ents))]
            out.append(_complaint(rng, i, ts, ent))
        elif source == "equipment":
            code, owner = elevators[_zipf_index(rng, len(elevators), 0.8)]
            out.append(_reading(rng, i, ts, code, owner))
        else:
            plate, company = trucks[rng.randrange(len(trucks))]
            out.append(_fix(rng, i, ts, plate, company, truck_pos))
    return out


def _inspection(rng: random.Random, i: int, ts: str, ent: Entity) -> GeneratedEvent:
    roll = rng.random()
    outcome = "fail" if roll < 0.12 else "rectify" if roll < 0.27 else "pass"
    critical = rng.randint(1, 3) if outcome == "fail" and rng.random() < 0.7 else 0
    serious = rng.randint(0, 2) if outcome != "pass" else 0
    violations = [
        {"code": f"C{rng.randint(1, 14):02d}", "severity": "critical", "description": "严重违法项"}
        for _ in range(critical)
    ]
    violations += [
        {"code": f"S{rng.randint(15, 29)}", "severity": "serious", "description": "一般违法项"}
        for _ in range(serious)
    ]
    event = {
        "event_id": f"insp-{i:07d}", "event_time": ts, "uscc": ent.uscc, "entity_name": ent.name,
        "region_code": ent.region_code, "item_code": f"{ent.trade}-INSP-01", "department": "market_supervision",
        "inspector_id": f"ZF{rng.randint(1000, 9999)}", "outcome": outcome, "violations": violations,
        "critical_count": critical, "serious_count": serious, "minor_count": rng.randint(0, 3),
        "score": round(rng.uniform(55, 100), 1), "risk_tier": rng.choice([1, 2, 3]),
    }  # fmt: skip
    return GeneratedEvent("inspections", ent.uscc, event)


def _complaint(rng: random.Random, i: int, ts: str, ent: Entity) -> GeneratedEvent:
    category, template, urgency = rng.choice(_COMPLAINT_TEXTS)
    known = rng.random() < 0.8
    event = {
        "event_id": f"cmp-{i:07d}", "event_time": ts, "channel": rng.choice(["12345", "12315", "web"]),
        "text": template.format(name=ent.name), "subject": f"关于{ent.name}的{category}投诉",
        "category": category, "urgency": urgency, "uscc": ent.uscc if known else None,
        "entity_name": ent.name, "address": f"杭州市{DISTRICTS[ent.region_code]}文三路{rng.randint(1, 999)}号",
        "region_code": ent.region_code, "complainant_phone": f"138{rng.randint(10000000, 99999999)}",
    }  # fmt: skip
    return GeneratedEvent("complaints", ent.uscc if known else f"cmp-{i:07d}", event)


def _reading(rng: random.Random, i: int, ts: str, code: str, owner: Entity) -> GeneratedEvent:
    trapped = rng.random() < 0.01
    metrics = {
        "vibration": round(rng.gauss(0.3, 0.05), 4),
        "current": round(rng.gauss(12.0, 1.0), 3),
        "speed": round(rng.gauss(1.5, 0.05), 3),
        "load": round(rng.uniform(0, 1000), 1),
    }
    event = {
        "event_id": f"eq-{i:07d}", "event_time": ts, "equipment_code": code, "equipment_type": "elevator",
        "uscc": owner.uscc, "region_code": owner.region_code, "metrics": metrics,
        "units": {"vibration": "g", "current": "A", "speed": "m/s", "load": "kg"},
        "rated": {"load": 1000.0, "speed": 1.75}, "door_faults": rng.choice([0, 0, 0, 0, 1, 2]), "trapped": trapped,
    }  # fmt: skip
    return GeneratedEvent("equipment", code, event)


def _fix(
    rng: random.Random,
    i: int,
    ts: str,
    plate: str,
    company: Entity,
    pos: dict[str, tuple[float, float]],
) -> GeneratedEvent:
    lat, lon = pos[plate]
    speed = max(0.0, rng.gauss(38, 12)) if rng.random() > 0.15 else 0.0
    lat += rng.uniform(-0.001, 0.001) * speed / 40
    lon += rng.uniform(-0.001, 0.001) * speed / 40
    pos[plate] = (lat, lon)
    event = {
        "event_id": f"gps-{i:07d}", "event_time": ts, "plate": plate, "lat": round(lat, 6), "lon": round(lon, 6),
        "crs": "WGS84", "company_uscc": company.uscc, "permit_id": f"ZT{zlib.crc32(plate.encode()) % 100000:05d}",
        "speed_kmh": round(speed, 1), "heading": round(rng.uniform(0, 360), 1), "loaded": rng.random() < 0.6,
        "region_code": company.region_code,
    }  # fmt: skip
    return GeneratedEvent("trucks", plate, event)


def write_jsonl(events: list[GeneratedEvent], path: Path) -> None:
    path.write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")
