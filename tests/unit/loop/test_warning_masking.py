"""What a warning change sends is masked (loop/decide/warnings.py ``warning_messages``): the
alerts topic and the SQL copy carry no phone, ID or card number and no house number, however
the raw text reached the warning — a rule's values, a model score's label, the event's address —
and on every later change too, when the masked parts of the alert are reused rather than
masked again (schemas/validation/pii.py ``_masked_part``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from loop.decide import Context
from loop.decide.warnings import change_warnings, changes_by_entity
from loop.subject import Subject
from schemas.hits import RuleHit
from schemas.records import Alert, Level
from schemas.validation.pii import find_personal_numbers

from .conftest import ROUTING, T0

if TYPE_CHECKING:
    from loop.loop_config import LoopConfig
    from loop.messages import Message

Hit = Callable[..., RuleHit]

PHONE = "13812345678"
ID_NUMBER = "110101199003071234"
RAW = f"联系人电话{PHONE}，身份证{ID_NUMBER}"
ADDRESS = "西湖区文三路90号3幢501室"
SUBJECT = Subject(name="某某餐饮店", address=ADDRESS, text=f"食堂：电话{PHONE} 反映卫生差")


def _sent(messages: list[Message]) -> list[str]:
    """Every alert a change sends, as the topic or the SQL sink would write it."""
    out = []
    for m in messages:
        if m.role in ("alerts", "alerts_shadow"):
            out.append(str(m.value))
        elif m.sink == "alert" and m.record is not None:
            out.append(m.record.model_dump_json())
    return out


def _decide(
    hits: list[RuleHit], config: LoopConfig, state: object = None, minutes: int = 0
) -> tuple[object, list[str], list[Alert]]:
    c = Context(config=config, now=T0 + timedelta(minutes=minutes), routing=ROUTING)
    (changes,) = changes_by_entity(hits, [], c, subject=SUBJECT).values()
    decision = change_warnings(state, changes, c)  # type: ignore[arg-type]
    return decision.state, _sent(decision.messages), decision.alerts


def test_no_alert_sent_carries_a_raw_number_or_house_number(
    make_hit: Hit, config: LoopConfig
) -> None:
    state = None
    for n in range(4):  # later changes reuse the masked reasons and evidence of earlier ones
        hit = make_hit(level=Level.orange, values={"note": RAW, "n": n})
        state, sent, alerts = _decide([hit], config, state, minutes=n)
        assert sent, "each hit changes the warning and records it in SQL"
        assert any(RAW in str(a.reasons) for a in alerts)  # the raw text did reach the alert
        for text in sent:
            assert find_personal_numbers(text) == []
            assert PHONE not in text
            assert ID_NUMBER not in text
            assert "90号" not in text  # the house, cut to the road
            assert "501室" not in text
            assert "文三路" in text  # ... and the road kept


def test_the_state_keeps_the_raw_values_the_alerts_mask(make_hit: Hit, config: LoopConfig) -> None:
    """Masking is what leaves, not what is kept: the warning (and its checkpoint) keeps the
    values as they fired, and the task command's brief alert is the raw one, as before."""
    state, sent, _ = _decide([make_hit(values={"note": RAW})], config)
    assert PHONE in str(state)
    assert all(PHONE not in text for text in sent)
