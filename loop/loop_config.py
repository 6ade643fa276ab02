"""The loop's own knobs: grouping window, escalation, returns, supervision ladder, profile.

Levels' deadlines and the lowest level that makes a task come from the one ``Settings`` object;
everything else the loop needs is here, with defaults a risk centre can start from, and
optionally read from ``config/loop.yaml``. Durations are written like deadlines (``"24h"``,
``"30d"``; ``notice_after`` may count working days, ``"5wd"``).

>>> cfg = LoopConfig(window="12h", escalate_after=5)
>>> cfg.window.total_seconds(), cfg.task_min_level
(43200.0, <Level.yellow: 'yellow'>)
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from config.settings import PROJECT_ROOT, DeadlineSettings, Settings
from loop import deadlines
from loop.calendar import WorkingCalendar
from loop.deadlines import default_calendar
from schemas.errors import ConfigError, checked
from schemas.records import Level

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_PATH = PROJECT_ROOT / "config" / "loop.yaml"


def _clock(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return deadlines.parse(value).clock()
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
    return value


Clock = Annotated[timedelta, BeforeValidator(_clock)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProfileConfig(_Frozen):
    """Entity-profile risk score (一企一档): event weights, half-life and class thresholds."""

    half_life_days: float = Field(
        default=90.0, gt=0, description="a weight halves every this many days"
    )
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "inspection_pass": -0.5,
            "inspection_fail": 2.0,
            "inspection_rectify": 1.5,
            "complaint": 1.0,
            "warning_blue": 0.5,
            "warning_yellow": 1.0,
            "warning_orange": 2.0,
            "warning_red": 4.0,
            "task": 0.5,
            "disposition_confirmed": 3.0,
            "disposition_rectification": 2.0,
            "disposition_false_alarm": -1.0,
            "disposition_not_found": 0.0,
        },
        description="score added per event kind; kinds not listed weigh 0",
    )
    thresholds: dict[str, float] = Field(
        default_factory=lambda: {"B": 1.0, "C": 3.0, "D": 6.0},
        description="lowest score of classes B, C and D; below B is class A",
    )
    max_recent: int = Field(default=50, ge=1, description="history entries kept per entity")

    @field_validator("thresholds")
    @classmethod
    def _ordered(cls, value: dict[str, float]) -> dict[str, float]:
        if set(value) != {"B", "C", "D"} or not value["B"] <= value["C"] <= value["D"]:
            raise ValueError("thresholds need B <= C <= D (class A is everything below B)")
        return value


class LoopConfig(_Frozen):
    """Everything the pure loop functions need besides state, input and ``now``.

    ``calendar`` is the working-day calendar deadlines count on; a hot-loaded year's notice
    makes a new config (``model_copy``) that the worker swaps in.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    window: Clock = Field(
        default=timedelta(hours=24), description="occurrences counted for escalation"
    )
    escalate_after: int = Field(
        default=3, ge=0, description="hits within window → one level up; 0 = off"
    )
    max_escalations: int = Field(
        default=2, ge=0, description="levels a warning may rise above its hits"
    )
    escalate_to: Level = Field(
        default=Level.orange,
        description="highest level repetition reaches when the rule names none (a rule's "
        "escalate_to overrides it; never red unless a pack says so)",
    )
    group_interval: Clock = Field(
        default=timedelta(minutes=5),
        description="a warning's non-urgent changes (suppression, a reason joining) are "
        "notified at most this often (Alertmanager's group_interval)",
    )
    repeat_interval: Clock = Field(
        default=timedelta(hours=4),
        description="more occurrences alone are notified at most this often "
        "(Alertmanager's repeat_interval)",
    )
    quiet_after: Clock = Field(
        default=timedelta(hours=72), description="no hit this long → escalation falls"
    )
    max_evidence: int = Field(
        default=50, ge=1, description="evidence event ids kept per warning (newest)"
    )
    max_seen: int = Field(default=200, ge=1, description="hit ids remembered per warning for dedup")
    max_silence: Clock = Field(
        default=timedelta(days=30), description="longest silence one may create"
    )
    task_min_level: Level = Level.yellow
    deadlines: DeadlineSettings = Field(default_factory=DeadlineSettings)
    centre: str = Field(
        default="risk_centre", description="department id of the risk centre itself"
    )
    max_returns: int = Field(default=3, ge=1, description="returns (退单) before arbitration")
    reminder_at: float = Field(
        default=0.8, gt=0, lt=1, description="催办 when this share of time is used"
    )
    notice_after: str = Field(default="5wd", description="通报 this long after a missed deadline")
    recurrence_window: Clock = Field(
        default=timedelta(days=30), description="recurrence reopens the task"
    )
    profile: ProfileConfig = ProfileConfig()
    calendar: WorkingCalendar = Field(default_factory=default_calendar, exclude=True)

    @field_validator("notice_after")
    @classmethod
    def _spec(cls, value: str) -> str:
        return checked(deadlines.parse, value)

    @field_validator("deadlines")
    @classmethod
    def _deadlines(cls, value: DeadlineSettings) -> DeadlineSettings:
        return checked(deadlines.validate, value)


def load_loop_config(path: Path | None = None, settings: Settings | None = None) -> LoopConfig:
    """Read ``config/loop.yaml`` (if it exists) and take deadlines and task level from settings."""
    path = path or DEFAULT_PATH
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of settings at the top")
        data = dict(loaded or {})
    if settings is not None:
        data.setdefault("task_min_level", settings.task_min_level)
        data.setdefault("deadlines", settings.deadlines)
    try:
        return LoopConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
