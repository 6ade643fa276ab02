"""Re-keying: a rule's entity that is not the event's key goes to the entity's partition.

Source topics are keyed by USCC, equipment code or plate, but some rules keep their window
under another entity: ``complaints.repeat_address`` by address (a complaint without a USCC is
keyed by its id), ``trucks.overspeed_repeated`` by the truck's company. Evaluated where the
event landed, such a window is split across partitions (three complaints at one address under
three keys never meet) and its warning lives where no feedback or tick finds it.

So the source agent asks the rule engine which entity each rule keeps state under; rules whose
entity hashes to the event's own partition are evaluated there, and for every other entity one
:class:`~schemas.records.RekeyedEvent` goes to ``riskloop.rekeyed`` keyed by that entity (Kafka's
murmur2, like every producer of ours), where the ``rekeyed`` agent evaluates exactly those rules
and raises their warnings on the entity's partition — the internal repartition topic Kafka
Streams puts before an aggregation on a new key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aiokafka.partitioner import murmur2

from schemas.records import Reason, RekeyedEvent

if TYPE_CHECKING:
    from rules.engine import EventContext, RuleEngine


@lru_cache(maxsize=1 << 12)
def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives ``key``.

    Asked for every entity of every rule of every event (~4 times an event), and aiokafka's
    murmur2 is pure Python: the answers for the last 4,096 keys are kept. Not more: the
    bench's skewed stream asks ~2,100 distinct keys in 10,000 events, an event asks the same
    few keys several times, and with 100,000 distinct entities 65,536 answers held 17.6 MB
    (issue #16, bench/memory_composition.py).

    >>> partition_of("abc", 4)
    3
    """
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions  # aiokafka is untyped


def split(
    engine: RuleEngine,
    source: str,
    event: dict[str, Any],
    *,
    partition: int,
    partitions: int,
    origin: str,
    based_on: list[Reason] | None = None,
    context: EventContext | None = None,
) -> tuple[set[str], list[RekeyedEvent]]:
    """The rules to leave out here, and the events to send to other partitions (one per
    entity that lives elsewhere). ``context``: the record's CEL context, if the caller built
    it (``RuleEngine.context``: the same one then serves ``evaluate``)."""
    foreign = {
        rule: entity
        for rule, entity in engine.entities(source, event).items()
        if partition_of(entity, partitions) != partition
    }
    if not foreign:
        return set(), []
    skip = set(foreign)  # evaluated there, or (its condition refusing the event) nowhere
    elsewhere: dict[str, list[str]] = {}
    for rule in engine.concerned(source, event, skip, context=context):
        elsewhere.setdefault(foreign[rule], []).append(rule)
    out = [
        RekeyedEvent(
            source=source,
            entity=entity,
            rules=rules,
            event=event,
            based_on=list(based_on or []),
            origin=origin,
        )
        for entity, rules in elsewhere.items()
    ]
    return skip, out
