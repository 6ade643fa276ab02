"""Which receivers a notification goes to: Alertmanager's route tree, as a pure function.

A notification carries labels (kind, level, source, region, department, audience). The tree is
walked from the root: the first child whose ``match`` fits is taken (and its own children
searched), unless it says ``continue: true``, in which case the next siblings are tried too; a
node none of whose children fit is itself the match. A child inherits receiver, grouping and
timings it does not set. As in Alertmanager, the root always matches.

>>> from loop.notify.config import RootRoute
>>> tree = RootRoute.model_validate({"receiver": "centre", "routes": [
...     {"match": {"level": "red", "region": "3301"}, "receiver": "hz", "group_wait": "5s"}]})
>>> [(m.receiver, m.group_wait) for m in resolve(tree, {"level": "red", "region": "330106"})]
[('hz', 5.0)]
>>> [m.receiver for m in resolve(tree, {"level": "red", "region": "330206"})]
['centre']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loop.notify.config import Match, RootRoute, Route

Labels = dict[str, str]


@dataclass(frozen=True)
class Matched:
    """A route that fits, with what it inherited resolved."""

    receiver: str
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    repeat_interval: float
    path: str  # "0.2.1": which route, so two routes to one receiver group apart


def matches(match: Match, labels: Labels) -> bool:
    """Every field the match sets fits the labels (a missing label fits nothing)."""
    for field in ("kind", "level", "source", "department", "audience"):
        wanted = getattr(match, field)
        if wanted is not None and labels.get(field) not in wanted:
            return False
    if match.region is not None:
        region = labels.get("region") or ""
        if not any(region.startswith(prefix) for prefix in match.region):
            return False
    return True


def resolve(root: RootRoute, labels: Labels) -> list[Matched]:
    """Every route the labels end at (more than one only through ``continue``), in order."""
    top = Matched(
        root.receiver,
        tuple(root.group_by),
        root.group_wait,
        root.group_interval,
        root.repeat_interval,
        "0",
    )
    return _descend(root, top, labels)


def _descend(route: Route, here: Matched, labels: Labels) -> list[Matched]:
    found: list[Matched] = []
    for i, child in enumerate(route.routes):
        if not matches(child.match, labels):
            continue
        found += _descend(child, _inherit(child, here, f"{here.path}.{i}"), labels)
        if not child.continue_:
            break
    return found or [here]


def _inherit(child: Route, parent: Matched, path: str) -> Matched:
    def pick(value: float | None, default: float) -> float:
        return default if value is None else value

    return Matched(
        receiver=child.receiver or parent.receiver,
        group_by=parent.group_by if child.group_by is None else tuple(child.group_by),
        group_wait=pick(child.group_wait, parent.group_wait),
        group_interval=pick(child.group_interval, parent.group_interval),
        repeat_interval=pick(child.repeat_interval, parent.repeat_interval),
        path=path,
    )


def group_key(matched: Matched, labels: Labels) -> str:
    """Notifications with the same key are sent together (one message per receiver)."""
    values = ",".join(f"{name}={labels.get(name, '')}" for name in matched.group_by)
    return f"{matched.path}|{values}"
