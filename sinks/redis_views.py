"""Live views in Redis: open tasks per department and warning counters.

Redis is never the only copy of anything: tasks and warnings come from the SQL store (and the
Kafka topics). If Redis loses its data, :meth:`RedisViews.rebuild` (``riskloop ops
rebuild-views``) rewrites the views from :class:`~sinks.sql.SqlStore`. Silences are not cached
here: every worker holds them from the compacted ``control.silences`` topic and the API serves
them from there, so a Redis copy would have had no reader.

Keys (``prefix`` defaults to ``riskloop:``)::

    {p}open:<department>         hash   task_id → task JSON, for tasks not closed
    {p}task:index                hash   task_id → "<department>\\t<state>\\t<revision>"
    {p}tasks:state:<state>       set    task ids per state          (counter = SCARD)
    {p}departments               set    departments ever seen
    {p}warnings:<YYYYMMDD>:<lvl> set    alert ids at that level that day (counter = SCARD)
    {p}warnings:<YYYYMMDD>:brief hash   alert_id → warning brief JSON (:func:`warning_view`)
    {p}warnings:<YYYYMMDD>:index hash   alert_id → "<level>\\t<revision>" (where it is counted)

A task is kept whole (:func:`task_view`: the Task JSON, with the enterprise's name, address
and complaint text); a warning's brief carries who and where too (issue #17), so whoever reads
the view sees a name and not just a USCC. Both come from the records' own fields, which the SQL
store keeps in its ``body`` JSON, so a rebuild writes the same views.

Every write is idempotent (sets and hashes keyed by id, never ``INCR``), so replays from the
outbox count nothing twice. A task moving department or state is one Lua script call (read
the old place, move it) so a whole batch is still one pipelined round-trip; the script leaves
a task as it is when the stored revision is higher (``Task.revision``: a former owner's outbox
flushing late cannot undo a newer version, as in the SQL store); a day's warnings are one
script call too, which does the same with ``Alert.revision``. "Today" is the
regulators' day, Asia/Shanghai by default; day keys expire after ``keep_days``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from schemas.records import Alert, Level, Task, TaskState
from sinks.base import Sink, SinkMetrics, last_versions
from sinks.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pydantic import BaseModel

    from config.settings import Settings
    from sinks.sql import SqlStore

# KEYS[1] index hash; ARGV: prefix, task_id, department, state, task JSON, "1" if open,
# revision (a lower one than stored is left out: returns 0).
_MOVE_TASK = """
local p, id, dept, state, body, open = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local rev = tonumber(ARGV[7])
local old = redis.call('HGET', KEYS[1], id)
if old then
  local tab = string.find(old, '\\t', 1, true)
  local odept, rest = string.sub(old, 1, tab - 1), string.sub(old, tab + 1)
  local tab2 = string.find(rest, '\\t', 1, true)
  local ostate, orev = rest, 0
  if tab2 then
    ostate, orev = string.sub(rest, 1, tab2 - 1), tonumber(string.sub(rest, tab2 + 1))
  end
  if rev < orev then return 0 end
  if odept ~= dept then redis.call('HDEL', p .. 'open:' .. odept, id) end
  if ostate ~= state then redis.call('SREM', p .. 'tasks:state:' .. ostate, id) end
end
redis.call('HSET', KEYS[1], id, dept .. '\\t' .. state .. '\\t' .. rev)
redis.call('SADD', p .. 'tasks:state:' .. state, id)
redis.call('SADD', p .. 'departments', dept)
if open == '1' then
  redis.call('HSET', p .. 'open:' .. dept, id, body)
else
  redis.call('HDEL', p .. 'open:' .. dept, id)
end
return 1
"""
_MOVE_TASK_SHA = hashlib.sha1(_MOVE_TASK.encode()).hexdigest()

# One day's warnings. KEYS[1] the day's index hash (alert_id → "<level>\t<revision>"), KEYS[2]
# its brief hash; ARGV: the day's key prefix, seconds to keep, the number of levels and their
# names, then alert_id, level, revision, brief for each warning. A warning whose stored
# revision is higher is left as it is; one with no index entry (written before the index) is
# taken out of every other level's set. Returns how many were written.
_PUT_WARNINGS = """
local day, ttl, nlev = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local levels, touched, written = {}, {}, 0
for i = 1, nlev do levels[i] = ARGV[3 + i] end
for i = 4 + nlev, #ARGV, 4 do
  local id, level, rev, brief = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local old = redis.call('HGET', KEYS[1], id)
  local olevel, orev = nil, -1
  if old then
    local tab = string.find(old, '\t', 1, true)
    olevel, orev = string.sub(old, 1, tab - 1), tonumber(string.sub(old, tab + 1))
  end
  if rev >= orev then
    if olevel then
      if olevel ~= level then redis.call('SREM', day .. ':' .. olevel, id) end
    else
      for _, l in ipairs(levels) do
        if l ~= level then redis.call('SREM', day .. ':' .. l, id) end
      end
    end
    redis.call('SADD', day .. ':' .. level, id)
    redis.call('HSET', KEYS[1], id, level .. '\t' .. rev)
    redis.call('HSET', KEYS[2], id, brief)
    touched[level] = true
    written = written + 1
  end
end
for l, _ in pairs(touched) do redis.call('EXPIRE', day .. ':' .. l, ttl) end
if written > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
return written
"""
_PUT_WARNINGS_SHA = hashlib.sha1(_PUT_WARNINGS.encode()).hexdigest()
_SCRIPTS = (_MOVE_TASK, _PUT_WARNINGS)


WARNING_BRIEF = (
    "alert_id",
    "fingerprint",
    "entity",
    "uscc",
    "region_code",
    "level",
    "state",
    "source",
    "last_seen",
    "entity_name",
    "entity_address",
)
"""Fields of a warning's brief in the view (the whole warning is in SQL and the API)."""


def task_view(task: Task) -> str:
    """The JSON a task is kept as in its department's open-task hash."""
    return task.model_dump_json()


def warning_view(alert: Alert) -> str:
    """The JSON brief a warning is kept as in its day's brief hash."""
    return alert.model_dump_json(include=set(WARNING_BRIEF))


class RedisViews(Sink):
    """Tasks and warnings into Redis views, batched: one pipelined round-trip per flush."""

    record_types = (Task, Alert)

    def __init__(
        self,
        client: aioredis.Redis,
        outbox_path: Path,
        *,
        prefix: str = "riskloop:",
        timezone: str = "Asia/Shanghai",
        keep_days: int = 8,
        **options: Any,
    ) -> None:
        options.setdefault("name", "redis")
        super().__init__(outbox_path=outbox_path, **options)
        self.client = client
        self.prefix = prefix
        self.tz = ZoneInfo(timezone)
        self.keep = timedelta(days=keep_days)

    def latest(self, records: Sequence[BaseModel]) -> list[BaseModel]:
        """The last version of each warning per day (what :meth:`_queue_alerts` keeps of a
        batch); every task (a task's move may touch the views of each department it passed)."""
        return last_versions(
            records,
            lambda r: (self._day_key(r.last_seen), r.alert_id) if isinstance(r, Alert) else id(r),
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, metrics: SinkMetrics | None = None, **options: Any
    ) -> RedisViews:
        """The worker's views: ``redis_url`` (+ password, :attr:`Settings.redis_secret`), outbox
        under ``data_dir/outbox``."""
        name = options.pop("name", "redis")
        password = settings.redis_secret.get_secret_value() if settings.redis_secret else None
        client = aioredis.Redis.from_url(
            settings.redis_url,
            password=password or None,
            socket_connect_timeout=5,
            socket_timeout=10,
            decode_responses=True,
        )
        outbox = settings.data_dir / "outbox" / f"{name}.sqlite3"
        return cls(client, outbox, name=name, metrics=metrics, **options)

    # ------------------------------------------------------------------ writes

    async def _prepare_target(self) -> None:
        """Connect and load the scripts before the first checkpoint needs them."""
        for script in _SCRIPTS:
            await self.client.script_load(script)

    async def _write(self, batch: Sequence[BaseModel]) -> None:
        """One MULTI/EXEC round-trip; a Redis that lost its script cache (restarted) gets the
        script loaded and the whole batch again — harmless, every write is idempotent."""
        try:
            await self._send(batch)
        except NoScriptError:
            for script in _SCRIPTS:
                await self.client.script_load(script)
            await self._send(batch)

    async def _send(self, batch: Sequence[BaseModel]) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            alerts: dict[tuple[str, str], Alert] = {}
            for record in batch:
                if isinstance(record, Task):
                    self._queue_task(pipe, record)
                elif isinstance(record, Alert) and not record.shadow:
                    # shadow hits are not warnings; they are measured, not counted
                    alerts[(self._day_key(record.last_seen), record.alert_id)] = record
            self._queue_alerts(pipe, alerts)
            await pipe.execute()

    def _queue_task(self, pipe: Any, task: Task) -> None:
        is_open = task.state != TaskState.closed
        pipe.evalsha(
            _MOVE_TASK_SHA,
            1,
            f"{self.prefix}task:index",
            self.prefix,
            task.task_id,
            task.department,
            task.state.value,
            task_view(task),
            "1" if is_open else "0",
            str(task.revision),
        )

    def _queue_alerts(self, pipe: Any, alerts: dict[tuple[str, str], Alert]) -> None:
        """The batch's warnings, one script call per day rather than seven commands per warning
        (2026-12-03 "sinks": the Redis client's packing and parsing of them was most of the
        sink's CPU). ``alerts`` holds the last version of each warning per day, which leaves
        the views exactly as writing every version in turn did: each warning in the set of
        its day's last level and no other, its day's brief the last one. The script keeps
        each warning's revision beside its level (``Alert.revision``): a former owner's outbox
        flushing late cannot move a warning back to an older level or brief."""
        days: dict[str, list[str]] = {}
        for (day, alert_id), alert in alerts.items():
            args = days.setdefault(day, [])
            args += (alert_id, alert.level.value, str(alert.revision), warning_view(alert))
        keep = str(int(self.keep.total_seconds()))
        levels = [level.value for level in Level]
        for day, args in days.items():
            keys = (f"{day}:index", f"{day}:brief")
            pipe.evalsha(_PUT_WARNINGS_SHA, 2, *keys, day, keep, len(levels), *levels, *args)

    def _day_key(self, at: datetime) -> str:
        return f"{self.prefix}warnings:{at.astimezone(self.tz):%Y%m%d}"

    # ------------------------------------------------------------------ reads

    async def open_tasks(self, department: str) -> list[Task]:
        """The department's open tasks (any order)."""
        raw = await self._read("open tasks", self.client.hvals(f"{self.prefix}open:{department}"))
        return [Task.model_validate_json(body) for body in raw]

    async def open_counts(self) -> dict[str, int]:
        """How many open tasks each department ever seen holds now (``riskloop ops views``)."""
        seen = self.client.smembers(f"{self.prefix}departments")
        names = sorted(await self._read("departments", seen))
        async with self.client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hlen(f"{self.prefix}open:{name}")
            counts = await self._read("open task counts", pipe.execute())
        return {name: int(n) for name, n in zip(names, counts, strict=True)}

    async def tasks_by_state(self) -> dict[str, int]:
        """How many tasks are in each state now (closed included)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for state in TaskState:
                pipe.scard(f"{self.prefix}tasks:state:{state.value}")
            counts = await self._read("task counters", pipe.execute())
        return {state.value: int(n) for state, n in zip(TaskState, counts, strict=True)}

    async def warnings_today(self, now: datetime) -> dict[str, int]:
        """Distinct warnings per level on ``now``'s day (a warning counts at its latest level)."""
        day = self._day_key(now)
        async with self.client.pipeline(transaction=False) as pipe:
            for level in Level:
                pipe.scard(f"{day}:{level.value}")
            counts = await self._read("warning counters", pipe.execute())
        return {level.value: int(n) for level, n in zip(Level, counts, strict=True)}

    async def warnings_on(self, day: datetime) -> list[dict[str, Any]]:
        """The briefs (:func:`warning_view`) of the warnings seen on ``day``'s day."""
        raw = await self._read("warning briefs", self.client.hvals(f"{self._day_key(day)}:brief"))
        return [json.loads(body) for body in raw]

    async def _read(self, what: str, pending: Any) -> Any:
        try:
            return await pending
        except Exception as exc:
            raise StoreError(f"Redis views: reading {what} failed: {exc}") from exc

    # ------------------------------------------------------------------ recovery

    async def rebuild(self, from_sql: SqlStore, now: datetime, chunk: int = 500) -> int:
        """Rewrite the task and warning views from the SQL store; the number of records.

        Use it when Redis lost its data or a view is suspect. Drops this prefix's task and
        warning keys, then writes every open task and every warning
        changed since ``keep_days`` before ``now``, through the same code as live writes.
        Call it while this sink's backlog is empty (or before ``start``), or the outbox's
        newer records may be overwritten by older SQL rows until they are flushed.
        """
        try:
            doomed = [
                key
                for pattern in ("open:*", "task:index", "tasks:state:*", "warnings:*")
                async for key in self.client.scan_iter(match=f"{self.prefix}{pattern}")
            ]
            if doomed:
                await self.client.delete(*doomed)
        except Exception as exc:
            raise StoreError(f"Redis views: clearing for a rebuild failed: {exc}") from exc
        open_tasks = await asyncio.to_thread(lambda: list(from_sql.iter_tasks()))
        alerts = await asyncio.to_thread(from_sql.alerts_since, now - self.keep)
        records: list[BaseModel] = [*open_tasks, *alerts]
        for start in range(0, len(records), chunk):
            try:
                await self._write(records[start : start + chunk])
            except Exception as exc:
                raise StoreError(f"Redis views: rebuilding failed: {exc}") from exc
        return len(records)

    async def _close_target(self) -> None:
        await self.client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose
