"""The notification config (``config/notify.yaml``): receivers and a route tree, as Alertmanager.

Why its shape: operators of a risk centre who already run Alertmanager know a route tree with
``group_wait``/``group_interval``/``repeat_interval`` and named receivers; nothing new to learn.
Secrets never live in the file: a receiver names a secret (``secret: hz_market_hook``) and the
worker takes its value from settings (``RISKLOOP_NOTIFY_SECRETS``, a JSON object). A missing
secret is an error at load time, not a failed send an hour later.

>>> cfg = parse_config('''
... receivers:
...   - {name: centre, kind: webhook, url: "http://127.0.0.1:9/hook", secret: centre_hook}
... route: {receiver: centre}
... ''', secrets={"centre_hook": "s3cret"})
>>> cfg.route.group_wait, cfg.receiver("centre").kind
(30.0, 'webhook')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.settings import PROJECT_ROOT, Settings
from schemas.durations import BadDuration, parse_duration
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


class NotifyConfigError(ConfigError):
    """The notification config cannot be used (the message names the field and the fix)."""


def _seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(parse_duration(str(value)))
    except BadDuration as exc:
        raise ValueError(str(exc)) from exc


Seconds = Annotated[float, Field(ge=0)]
Kind = Literal["warning", "deadline_approaching", "deadline_overdue", "sign_escalation", "notice"]
"""What a notification is about (loop/notify/decide.py); a misspelt kind in a route is refused."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(_Strict):
    """What a route matches; every field given must match (AND), a list means any of (OR).

    ``region`` is a list of GB/T 2260 prefixes (``"3301"`` is all of Hangzhou)."""

    kind: list[Kind] | None = None
    level: list[Literal["red", "orange", "yellow", "blue"]] | None = None
    source: list[str] | None = None
    region: list[str] | None = None
    department: list[str] | None = None
    audience: list[Literal["department", "lead", "supervisor"]] | None = None

    @field_validator("kind", "level", "source", "region", "department", "audience", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Route(_Strict):
    """One node of the route tree. Unset timings and ``receiver`` come from the parent."""

    receiver: str | None = None
    match: Match = Field(default_factory=Match)
    group_by: list[str] | None = None
    group_wait: Seconds | None = None
    group_interval: Seconds | None = None
    repeat_interval: Seconds | None = None
    continue_: bool = Field(False, alias="continue")
    routes: list[Route] = Field(default_factory=list)

    _durations = field_validator("group_wait", "group_interval", "repeat_interval", mode="before")(
        lambda cls, v: None if v is None else _seconds(v)
    )


class RootRoute(Route):
    """The root: matches everything and sets every default (Alertmanager's defaults)."""

    receiver: str
    group_by: list[str] = Field(default_factory=lambda: ["department", "kind"])
    group_wait: Seconds = 30.0
    group_interval: Seconds = 300.0
    repeat_interval: Seconds = 4 * 3600.0


class _Receiver(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    timeout: Seconds = 10.0


class WebhookReceiver(_Receiver):
    """Our JSON payload, signed: ``X-RiskLoop-Signature: v1=<hex HMAC-SHA256>`` over
    ``<timestamp>.<body>`` with the named secret (README: Notifications)."""

    kind: Literal["webhook"]
    url: str
    secret: str


class DingTalkReceiver(_Receiver):
    """A DingTalk / 浙政钉 group robot: markdown message; the access token and the robot's
    "加签" secret are named secrets (the token is part of the URL, so it is one too)."""

    kind: Literal["dingtalk"]
    url: str = "https://oapi.dingtalk.com/robot/send"
    token: str
    secret: str | None = None


class WeComReceiver(_Receiver):
    """A WeCom (企业微信) group robot: markdown message; its ``key`` is a named secret."""

    kind: Literal["wecom"]
    url: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    key: str


class EmailReceiver(_Receiver):
    """Plain-text e-mail over SMTP (STARTTLS when ``starttls``; login when ``username``)."""

    kind: Literal["email"]
    to: list[str] = Field(min_length=1)
    sender: str
    host: str
    port: int = Field(25, gt=0, lt=65536)
    starttls: bool = False
    username: str | None = None
    password: str | None = None  # the name of a secret, never the password


class SmsReceiver(_Receiver):
    """An SMS gateway that takes JSON: ``body`` is the request's template, its string values
    may hold ``$phones``, ``$text``, ``$segment``, ``$segments`` (``string.Template``); one
    request per segment of at most ``segment_chars`` characters."""

    kind: Literal["sms"]
    url: str
    phones: list[str] = Field(min_length=1)
    body: dict[str, Any] = Field(default_factory=lambda: {"mobiles": "$phones", "content": "$text"})
    segment_chars: int = Field(70, ge=10, le=70)
    api_key: str | None = None  # the name of a secret, sent as ``Authorization: Bearer``


Receiver = Annotated[
    WebhookReceiver | DingTalkReceiver | WeComReceiver | EmailReceiver | SmsReceiver,
    Field(discriminator="kind"),
]
SECRET_FIELDS = ("secret", "token", "key", "password", "api_key")


class NotifyConfig(_Strict):
    """Receivers, the route tree and the resolved secrets (kept out of reprs)."""

    receivers: list[Receiver] = Field(min_length=1)
    route: RootRoute
    secrets: dict[str, str] = Field(default_factory=dict, repr=False, exclude=True)

    @model_validator(mode="after")
    def _references(self) -> NotifyConfig:
        names = [r.name for r in self.receivers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"receiver names must be unique: {', '.join(dup)}")
        for route in walk(self.route):
            if route.receiver is not None and route.receiver not in names:
                raise ValueError(f"route receiver {route.receiver!r} is not a receiver: {names}")
        for receiver in self.receivers:
            for field in SECRET_FIELDS:
                ref = getattr(receiver, field, None)
                if ref is not None and ref not in self.secrets:
                    raise ValueError(
                        f"receiver {receiver.name}: secret {ref!r} ({field}) is not set; "
                        f'add it to RISKLOOP_NOTIFY_SECRETS, e.g. {{"{ref}": "..."}}'
                    )
        return self

    def receiver(self, name: str) -> Any:
        """The receiver called ``name`` (``KeyError`` if none)."""
        for r in self.receivers:
            if r.name == name:
                return r
        raise KeyError(name)

    def secret(self, name: str | None) -> str | None:
        """The secret a receiver field names (``None`` stays ``None``); validation made it exist."""
        return None if name is None else self.secrets[name]


def walk(route: Route) -> list[Route]:
    """The route and all routes below it, depth first."""
    out = [route]
    for child in route.routes:
        out += walk(child)
    return out


def parse_config(text: str, secrets: dict[str, str], name: str = "notify.yaml") -> NotifyConfig:
    """Validate YAML text; :class:`NotifyConfigError` with every problem, no traceback."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NotifyConfigError(f"{name}: not YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise NotifyConfigError(f"{name}: expected a mapping with receivers and route")
    try:
        return NotifyConfig.model_validate({**data, "secrets": secrets})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise NotifyConfigError(f"{name}: {problems}") from None


def load_config(path: Path, secrets: dict[str, str]) -> NotifyConfig:
    """Read and validate ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NotifyConfigError(f"cannot read the notification config {path}: {exc}") from exc
    return parse_config(text, secrets, name=str(path))


def from_settings(settings: Settings) -> NotifyConfig | None:
    """The worker's config: ``notify_config`` (relative to the project if not found as given)
    with ``notify_secrets``; None when notifications are off."""
    path = settings.notify_config
    if path is None:
        return None
    if not path.exists() and not path.is_absolute():
        path = PROJECT_ROOT / path
    secrets = {k: v.get_secret_value() for k, v in settings.notify_secrets.items()}
    return load_config(path, secrets)
