"""A realistic mixed stream of source records: the demo's input, and the benchmark's and tests'.

It lives with the data standard because it makes records of it and nothing else: the demo
(``streams/``), ``bench/`` and the tests all read it, and none of them has to import another.

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
from itertools import accumulate
from typing import TYPE_CHECKING, Any, ParamSpec

from schemas.validation.uscc import make_uscc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

P = ParamSpec("P")

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
_TRADES = [
    ("餐饮管理有限公司", "FOOD"),
    ("食品超市有限公司", "FOOD"),
    ("物业服务有限公司", "PROP"),
    ("热力有限公司", "HEAT"),
    ("建筑渣土运输有限公司", "MUCK"),
    ("酒店管理有限公司", "FOOD"),
]
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
    """A generated enterprise: a valid USCC, a Hangzhou name, its district and its
    trade (FOOD, PROP, …), which its inspection item codes carry.
    """

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
        """One line of the JSONL that ``riskloop demo --events FILE.jsonl`` replays."""
        return json.dumps({"source": self.source, "event": self.event}, ensure_ascii=False)


def make_entities(n: int, rng: random.Random) -> list[Entity]:
    """``n`` enterprises with valid USCCs and realistic names (two in three carry their
    district), the same for the same ``rng`` seed.
    """
    out = []
    for i in range(n):
        region = rng.choice(list(DISTRICTS))
        brand = rng.choice(_BRANDS)
        trade, kind = rng.choice(_TRADES)
        name = f"杭州{brand}{DISTRICTS[region][:2]}{trade}" if i % 3 else f"杭州{brand}{trade}"
        out.append(Entity(make_uscc(f"e{i}", region), f"{name}（{i:04d}）", region, kind))
    return out


def _zipf_index(rng: random.Random, n: int, s: float = 1.2) -> int:
    """An index in [0, n) with Zipf-like skew: index 0 is the busiest.

    Cumulative weights are cached: ``choices`` would otherwise re-add n weights per event,
    which 100,000 entities cannot afford (the draws are the same either way).
    """
    return rng.choices(range(n), cum_weights=_zipf_cum_weights(n, s), k=1)[0]


_weights_cache: dict[tuple[int, float], list[float]] = {}


def _zipf_cum_weights(n: int, s: float) -> list[float]:
    key = (n, s)
    if key not in _weights_cache:
        _weights_cache[key] = list(accumulate(1.0 / (i + 1) ** s for i in range(n)))
    return _weights_cache[key]


SOURCES = ("inspections", "complaints", "equipment", "trucks")
KINDS = {
    "inspections": "enterprises",
    "complaints": "enterprises",
    "equipment": "equipment",
    "trucks": "plates",
}
"""Which kind of entity an event of each source is about (and keyed by, when known)."""
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O (schemas/validation/plate.py)


def split_entities(n: int, mix: tuple[float, float, float, float]) -> dict[str, int]:
    """``n`` entities split between enterprises, equipment and plates as the source ``mix``
    splits events, so that ``n`` events can show every one of them at least once.

    >>> split_entities(100_000, (0.2, 0.2, 0.35, 0.25))
    {'enterprises': 40000, 'equipment': 35000, 'plates': 25000}
    """
    if n < 3:
        raise ValueError(f"need at least 3 entities (one of each kind), got {n}")
    share = _shares(mix)
    ent = max(1, round(n * share["enterprises"]))
    eq = max(1, min(n - ent - 1, round(n * share["equipment"])))
    out = {"enterprises": ent, "equipment": eq, "plates": n - ent - eq}
    if out["plates"] > len(_PLATE_LETTERS) * 10_000:
        raise ValueError(f"at most {len(_PLATE_LETTERS) * 10_000:,} distinct plates")
    return out


def _shares(mix: tuple[float, float, float, float]) -> dict[str, float]:
    total = sum(mix)
    out = dict.fromkeys(KINDS.values(), 0.0)
    for source, weight in zip(SOURCES, mix, strict=True):
        out[KINDS[source]] += weight / total
    return out


def _plate(i: int) -> str:
    """The ``i``-th distinct plate of a large fleet: 浙A + letter + 4 digits (240,000 of them)."""
    return f"浙A{_PLATE_LETTERS[i // 10_000]}{i % 10_000:04d}"


class _Coverage:
    """Makes every entity appear at least once among the first ``by`` events.

    New entities are spread over the stream (a fresh one is taken with probability fresh left
    / events of its kind left), so state grows while the stream runs, as it does in a city;
    once there are as many fresh entities as events left, every event takes one.
    """

    def __init__(
        self, sizes: dict[str, int], shares: dict[str, float], by: int, rng: random.Random
    ) -> None:
        self.fresh = {kind: list(range(n)) for kind, n in sizes.items()}
        for pool in self.fresh.values():
            rng.shuffle(pool)
        self.shares, self.by = shares, by

    def _left(self) -> int:
        return sum(len(pool) for pool in self.fresh.values())

    def source(self, source: str, i: int) -> str:
        """``source``, or one whose kind still has fresh entities when every event must take one."""
        if self.fresh[KINDS[source]] or self.by - i > self._left():
            return source
        return next((s for s in SOURCES if self.fresh[KINDS[s]]), source)

    def pick(self, kind: str, i: int, rng: random.Random) -> int | None:
        """A fresh entity's index, or None for the usual skewed choice."""
        pool = self.fresh[kind]
        if not pool:
            return None
        left = self.by - i
        if left <= self._left() or rng.random() * left * self.shares[kind] < len(pool):
            return pool.pop()
        return None


def stream(
    count: int,
    *,
    seed: int = 7,
    start: datetime | None = None,
    n_entities: int = 60,
    n_elevators: int = 12,
    n_trucks: int = 6,
    mix: tuple[float, float, float, float] = (0.2, 0.2, 0.35, 0.25),
    step_seconds: float = 30.0,
    entities: int | None = None,
    cover_by: int | None = None,
) -> Iterator[GeneratedEvent]:
    """``count`` events in event-time order (inspections, complaints, equipment, trucks by ``mix``),
    made one at a time: a run of 100,000 events need not hold them all (issue #16's memory curve).

    With ``entities``: that many distinct entities (split by :func:`split_entities`, replacing
    the three pool sizes), each of which appears at least once among the first ``cover_by``
    events (default ``count``, which must be at least ``entities``); the rest keep the skew.

    >>> sum(entity_counts(stream(600, seed=1, entities=500)).values())
    500
    """
    rng = random.Random(seed)
    start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(
        seconds=count * step_seconds
    )
    cover: _Coverage | None = None
    if entities is not None:
        by = count if cover_by is None else cover_by
        if by > count or by < entities:
            raise ValueError(
                f"{entities:,} distinct entities need at least as many events ({by:,} given)"
            )
        sizes = split_entities(entities, mix)
        n_entities, n_elevators, n_trucks = sizes.values()
        cover = _Coverage(sizes, _shares(mix), by, rng)
    ents = make_entities(n_entities, rng)
    elevators = [(f"31103301{i:012d}", rng.choice(ents)) for i in range(n_elevators)]
    trucks = [
        (
            _plate(i)
            if cover is not None
            else f"浙A{rng.choice('DF')}{i:04d}"
            if i % 2
            else f"浙A{rng.randrange(10000, 99999)}",
            rng.choice(ents),
        )
        for i in range(n_trucks)
    ]
    truck_pos = {
        plate: (30.25 + rng.random() * 0.05, 120.12 + rng.random() * 0.08) for plate, _ in trucks
    }
    for i in range(count):
        at = start + timedelta(seconds=i * step_seconds)
        ts = at.isoformat()
        source = rng.choices(SOURCES, weights=mix, k=1)[0]
        fresh: int | None = None
        if cover is not None:
            source = cover.source(source, i)
            fresh = cover.pick(KINDS[source], i, rng)
        if source == "inspections":
            ent = ents[_zipf_index(rng, len(ents)) if fresh is None else fresh]
            yield _inspection(rng, i, ts, ent)
        elif source == "complaints":
            ent = ents[_zipf_index(rng, len(ents)) if fresh is None else fresh]
            yield _complaint(rng, i, ts, ent, known=fresh is not None)
        elif source == "equipment":
            idx = _zipf_index(rng, len(elevators), 0.8) if fresh is None else fresh
            code, owner = elevators[idx]
            yield _reading(rng, i, ts, code, owner)
        else:
            plate, company = trucks[rng.randrange(len(trucks)) if fresh is None else fresh]
            yield _fix(rng, i, ts, plate, company, truck_pos)


def _listed(make: Callable[P, Iterator[GeneratedEvent]]) -> Callable[P, list[GeneratedEvent]]:
    """``make``'s events as one list, with ``make``'s parameters (mypy checks them)."""

    def listed(*args: P.args, **kwargs: P.kwargs) -> list[GeneratedEvent]:
        return list(make(*args, **kwargs))

    return listed


generate = _listed(stream)
""":func:`stream` as a list (what the demo, the bench and most tests index into)."""


def entity_counts(events: Iterable[GeneratedEvent]) -> dict[str, int]:
    """Distinct entities the events are about, by kind: enterprises (USCC keys of inspections
    and complaints), equipment codes and plates.

    >>> entity_counts(generate(2000, seed=1))
    {'enterprises': 58, 'equipment': 12, 'plates': 6}
    """
    seen: dict[str, set[str]] = {kind: set() for kind in dict.fromkeys(KINDS.values())}
    for e in events:
        if e.source != "complaints" or e.event.get("uscc"):
            seen[KINDS[e.source]].add(e.key)
    return {kind: len(keys) for kind, keys in seen.items()}


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
        "event_id": f"insp-{i:07d}",
        "event_time": ts,
        "uscc": ent.uscc,
        "entity_name": ent.name,
        "region_code": ent.region_code,
        "item_code": f"{ent.trade}-INSP-01",
        "department": "market_supervision",
        "inspector_id": f"ZF{rng.randint(1000, 9999)}",
        "outcome": outcome,
        "violations": violations,
        "critical_count": critical,
        "serious_count": serious,
        "minor_count": rng.randint(0, 3),
        "score": round(rng.uniform(55, 100), 1),
        "risk_tier": rng.choice([1, 2, 3]),
    }
    return GeneratedEvent("inspections", ent.uscc, event)


def _complaint(
    rng: random.Random, i: int, ts: str, ent: Entity, *, known: bool = False
) -> GeneratedEvent:
    """``known``: the complainant named the enterprise for sure (else 80 % do)."""
    category, template, urgency = rng.choice(_COMPLAINT_TEXTS)
    known = rng.random() < 0.8 or known
    event = {
        "event_id": f"cmp-{i:07d}",
        "event_time": ts,
        "channel": rng.choice(["12345", "12315", "web"]),
        "text": template.format(name=ent.name),
        "subject": f"关于{ent.name}的{category}投诉",
        "category": category,
        "urgency": urgency,
        "uscc": ent.uscc if known else None,
        "entity_name": ent.name,
        "address": f"杭州市{DISTRICTS[ent.region_code]}文三路{rng.randint(1, 999)}号",
        "region_code": ent.region_code,
        "complainant_phone": f"138{rng.randint(10000000, 99999999)}",
    }
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
        "event_id": f"eq-{i:07d}",
        "event_time": ts,
        "equipment_code": code,
        "equipment_type": "elevator",
        "uscc": owner.uscc,
        "region_code": owner.region_code,
        "metrics": metrics,
        "units": {"vibration": "g", "current": "A", "speed": "m/s", "load": "kg"},
        "rated": {"load": 1000.0, "speed": 1.75},
        "door_faults": rng.choice([0, 0, 0, 0, 1, 2]),
        "trapped": trapped,
    }
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
        "event_id": f"gps-{i:07d}",
        "event_time": ts,
        "plate": plate,
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "crs": "WGS84",
        "company_uscc": company.uscc,
        "permit_id": f"ZT{zlib.crc32(plate.encode()) % 100000:05d}",
        "speed_kmh": round(speed, 1),
        "heading": round(rng.uniform(0, 360), 1),
        "loaded": rng.random() < 0.6,
        "region_code": company.region_code,
    }
    return GeneratedEvent("trucks", plate, event)


def write_jsonl(events: list[GeneratedEvent], path: Path) -> None:
    """Write ``events`` as a file ``riskloop demo --events`` replays: a generated
    stream kept, to replay the same one elsewhere.
    """
    path.write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")
