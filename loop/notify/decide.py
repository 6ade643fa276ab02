"""What deserves a person's phone buzzing, decided without sending anything.

Two feeds, both already decided elsewhere in the loop and not derived again here:

* a warning record (``loop.warnings``): a red one that is new or escalated notifies the
  responsible department; a still-red warning with a notified change again at most once per
  ``repeat_interval`` of its route (``red:repeat:<n>``, counted from its first sighting);
  shadow, historical and silenced warnings never notify;
* a supervision step (``loop.supervision``): 催办 is "deadline approaching" for the department
  (its timing is ``reminder_at`` in config/loop.yaml), 督办 "deadline passed"; a 督办 of the
  sign-for phase means nobody signed for the task in time, so it goes to the department's lead
  and the supervisor too, and 通报 goes to all three.

Each intent is keyed by (warning or task id, receiver, step): the same decision made again (a
redelivered event, a restart, a timer noticing late) yields the same ``intent_id``, which the
queue stores once (sinks/notify/queue.py), so a person is told once.

>>> from datetime import UTC, datetime
>>> intent_id("task-1", "hz_lead", "sign:supervision:20261202T1030") == intent_id(
...     "task-1", "hz_lead", "sign:supervision:20261202T1030")
True
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from loop.notify.routing import Labels, group_key, resolve
from schemas.notification import NotificationIntent
from schemas.records import Alert, AlertState, Level, SupervisionEvent, SupervisionKind, Task
from schemas.validation.pii import mask_address

if TYPE_CHECKING:
    from loop.notify.config import NotifyConfig

_NEWS = {AlertState.new, AlertState.escalated}
_LIVE = {AlertState.new, AlertState.escalated, AlertState.updated}
_CN_KIND = {
    "warning": "红色预警",
    "deadline_approaching": "时限将至（催办）",
    "deadline_overdue": "已超时（督办）",
    "sign_escalation": "超时未签收（督办升级）",
    "notice": "通报",
}


def intent_id(subject_id: str, receiver: str, step: str) -> str:
    """The queue's key: one per (warning or task, receiver, step)."""
    digest = hashlib.sha256(f"{subject_id}\x1f{receiver}\x1f{step}".encode()).hexdigest()
    return f"ntf-{digest[:32]}"


def pages(alert: Alert) -> bool:
    """Whether a warning record is one people are paged for: red, live, notified, real.

    Silenced, suppressed and resolved records, shadow ones (a model on trial) and historical
    ones (a backfill) never page anyone."""
    return (
        alert.level is Level.red
        and alert.state in _LIVE
        and alert.notify
        and not alert.shadow
        and not alert.historical
    )


def subject_line(name: str | None, address: str | None, entity: str) -> str:
    """Who a notification is about, for a phone: the name and the address to the road (a
    robot's chat is no place for a house number), else the entity id.

    >>> subject_line("某餐馆", "西湖区文三路90号", "9133…"), subject_line(None, None, "浙A12345")
    ('某餐馆 · 西湖区文三路**号', '浙A12345')
    """
    masked = mask_address(address) if address else None
    return " · ".join(x for x in (name, masked) if x) or entity


def for_alert(
    alert: Alert, department: str, config: NotifyConfig, now: datetime
) -> list[NotificationIntent]:
    """Intents for one published warning record (empty for all but red ones that matter)."""
    if not pages(alert):
        return []
    labels: Labels = {
        "kind": "warning",
        "level": alert.level.value,
        "source": alert.source,
        "region": alert.region_code or "",
        "department": department,
        "audience": "department",
        "subject": alert.alert_id,
    }
    where = subject_line(alert.entity_name, alert.entity_address, alert.entity)
    text = "\n".join(
        line
        for line in (
            f"{alert.title}（{alert.source}，{alert.region_code or '地区未知'}）",
            f"对象：{where}",
            f"首次发现：{alert.first_seen.isoformat()}，共 {alert.occurrences} 次",
            f"变化：{'；'.join(alert.changes)}" if alert.changes else "",
            f"预警编号：{alert.alert_id}",
        )
        if line
    )
    intents = []
    for route in resolve(config.route, labels):
        if alert.state in _NEWS:
            step = "red"
        else:
            n = int((alert.last_seen - alert.first_seen).total_seconds() // route.repeat_interval)
            if route.repeat_interval <= 0 or n < 1:
                continue
            step = f"red:repeat:{n}"
        intents.append(
            NotificationIntent(
                intent_id=intent_id(alert.alert_id, route.receiver, step),
                subject_id=alert.alert_id,
                receiver=route.receiver,
                step=step,
                kind="warning",
                audience="department",
                group_key=group_key(route, labels),
                created_at=now,
                due_at=now + timedelta(seconds=route.group_wait),
                group_interval=route.group_interval,
                level=alert.level.value,
                department=department,
                title=f"【红色预警】{alert.title}",
                text=text,
                correlation_id=alert.correlation_id,
            )
        )
    return intents


def for_supervision(
    event: SupervisionEvent, task: Task, phase: str, config: NotifyConfig, now: datetime
) -> list[NotificationIntent]:
    """Intents for one 催办/督办/通报 step of ``task`` in ``phase`` (``sign`` or ``dispose``)."""
    if event.kind is SupervisionKind.reminder:
        kind, audiences = "deadline_approaching", ["department"]
    elif event.kind is SupervisionKind.supervision and phase == "sign":
        kind, audiences = "sign_escalation", ["department", "lead", "supervisor"]
    elif event.kind is SupervisionKind.supervision:
        kind, audiences = "deadline_overdue", ["department", "lead"]
    else:
        kind, audiences = "notice", ["department", "lead", "supervisor"]
    what = "签收" if phase == "sign" else "处置"
    title = f"【{_CN_KIND[kind]}】{task.title}"
    text = "\n".join(
        (
            f"任务 {task.task_id}（{task.department}，{task.level.value}）",
            f"{what}时限：{event.deadline.isoformat()}",
            f"对象：{subject_line(task.entity_name, task.entity_address, task.entity)}",
            f"当前状态：{task.state.value}",
        )
    )
    step = f"{phase}:{event.kind.value}:{event.deadline:%Y%m%dT%H%M%S}"
    intents: dict[str, NotificationIntent] = {}
    for audience in audiences:
        labels: Labels = {
            "kind": kind,
            "level": task.level.value,
            "source": task.source or "",  # "" on a task from before Task v6
            "region": task.region_code or "",
            "department": task.department,
            "audience": audience,
            "subject": task.task_id,
        }
        for route in resolve(config.route, labels):
            iid = intent_id(task.task_id, route.receiver, step)
            intents.setdefault(
                iid,
                NotificationIntent(
                    intent_id=iid,
                    subject_id=task.task_id,
                    receiver=route.receiver,
                    step=step,
                    kind=kind,
                    audience=audience,
                    group_key=group_key(route, labels),
                    created_at=now,
                    due_at=now + timedelta(seconds=route.group_wait),
                    group_interval=route.group_interval,
                    level=task.level.value,
                    department=task.department,
                    title=title,
                    text=text,
                    correlation_id=task.correlation_id,
                ),
            )
    return list(intents.values())
