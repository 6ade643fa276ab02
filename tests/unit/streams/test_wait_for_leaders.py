"""streams.admin.wait_for_leaders against a fake AdminClient: what it waits for and what it
hands back (the bench refuses to measure on topics it returns; create_topics goes on)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from streams.admin import wait_for_leaders


class _Admin:
    """Answers list_topics with the metadata of the next call in ``answers`` (then the last)."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def list_topics(self, timeout: float) -> SimpleNamespace:
        self.calls += 1
        topics = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return SimpleNamespace(topics=topics)


def _topic(*leaders: int, error: object = None) -> SimpleNamespace:
    parts = {i: SimpleNamespace(leader=leader) for i, leader in enumerate(leaders)}
    return SimpleNamespace(error=error, partitions=parts)


def test_returns_nothing_once_every_partition_has_a_leader() -> None:
    admin = _Admin(
        {"a": _topic(-1, 1)},  # one partition still without a leader
        {"a": _topic(1, 1), "b": _topic(1)},
    )
    assert wait_for_leaders(cast("Any", admin), ["a", "b"], timeout=5) == set()
    assert admin.calls == 2


def test_returns_the_topics_still_without_a_leader_after_the_timeout() -> None:
    admin = _Admin({"a": _topic(1), "b": _topic(-1), "c": _topic(1, error="LEADER_NOT_AVAILABLE")})
    assert wait_for_leaders(cast("Any", admin), ["a", "b", "c", "d"], timeout=0.3) == {
        "b",
        "c",
        "d",
    }
