"""The notification queue's tests again on PostgreSQL, and two workers claiming at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from sinks.migrate import migrate
from sinks.notify.queue import NotificationQueue
from sinks.sql import SqlStore, make_engine
from tests.integration.conftest import private_database
from tests.unit.loop.notify.factories import T, intent
from tests.unit.loop.notify.test_queue import (  # noqa: F401 (collected here with the PG store)
    test_a_leased_row_is_not_claimed_by_a_second_worker,
    test_a_replayed_intent_is_queued_once_and_never_reset_after_sending,
    test_a_tasks_story_lists_its_own_and_its_warnings_notifications,
    test_an_operator_brings_failed_notifications_forward_and_it_is_audited,
    test_failures_are_audited_retried_at_their_time_and_counted_in_the_backlog,
    test_nothing_is_claimed_before_its_group_wait,
    test_the_last_send_of_a_group_is_known_for_group_interval,
)

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def store() -> Iterator[SqlStore]:
    with private_database() as url:
        migrate(url)
        s = SqlStore(make_engine(url))
        yield s
        s.close()


def test_workers_claiming_at_the_same_time_never_hold_the_same_row(store: SqlStore) -> None:
    store.write([intent(n) for n in range(200)])
    queues = [NotificationQueue(store, f"w{k}", limit=60) for k in range(4)]
    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(lambda q: q.claim(T), queues))
    held = [p.intent_id for c in claims for p in c.pending]
    assert len(held) == len(set(held))
    assert len(held) > 0
