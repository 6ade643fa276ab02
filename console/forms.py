"""What people type into the console's forms, as typed records: refused with a message a person
can act on, before anything reaches the worker. Values are only ever sent as query parameters or
JSON fields (never spliced into a path, a query or a template unescaped)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from schemas.records import AlertState, Level

if TYPE_CHECKING:
    from collections.abc import Mapping

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}([0-9]{2}){0,2}$")]
Uscc = Annotated[str, StringConstraints(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")]

FIELD_NAMES = {
    "level": "级别",
    "source": "来源",
    "region": "区域",
    "state": "状态",
    "rule": "规则",
    "model": "模型",
    "reason": "原因",
    "hours": "时长（小时）",
    "uscc": "统一社会信用代码",
    "scope": "范围",
}


class FormError(ValueError):
    """A form that cannot be used, with what to fix, in Chinese."""


class WarningFilter(BaseModel):
    """The warnings list's filters; empty fields mean "any"."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    level: Level | None = None
    source: Name | None = None
    region: Region | None = None
    state: AlertState | None = None
    rule: Name | None = None
    model: Name | None = None

    def api_params(self) -> dict[str, str]:
        """What ``GET /api/warnings`` filters itself (rule and model are the console's)."""
        params = {
            "level": self.level,
            "source": self.source,
            "region": self.region,
            "state": self.state,
        }
        return {k: str(getattr(v, "value", v)) for k, v in params.items() if v is not None}


class SilenceForm(BaseModel):
    """Silence a warning: what it matches (this enterprise, or this item in this region), why,
    for how long."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    scope: Annotated[str, StringConstraints(pattern=r"^(entity|item)$")] = "entity"
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
    hours: float = Field(gt=0, le=24 * 30, allow_inf_nan=False)


def parse(model: type[BaseModel], form: Mapping[str, Any]) -> Any:
    """``model`` from a form or query (blank fields dropped), or a FormError naming the fields.

    >>> parse(WarningFilter, {"level": "red", "region": ""}).api_params()
    {'level': 'red'}
    >>> parse(WarningFilter, {"region": "33' OR 1=1"})
    Traceback (most recent call last):
    ...
    console.forms.FormError: 区域：格式不正确
    """
    values = {k: v for k, v in form.items() if isinstance(v, str) and v.strip() != ""}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False)[:5]:
            name = str(err["loc"][0]) if err["loc"] else "form"
            problems.append(f"{FIELD_NAMES.get(name, name)}：{_why(err['type'])}")
        raise FormError("；".join(problems)) from exc


def _why(kind: str) -> str:
    return {
        "missing": "必填",
        "string_too_short": "太短",
        "string_too_long": "太长",
        "greater_than": "必须大于0",
        "less_than_equal": "超出上限",
        "float_parsing": "必须是数字",
        "enum": "不是可选的值",
    }.get(kind, "格式不正确")
