"""How long a dead worker's partitions wait: the session timeout reaches Faust (and so the
aiokafka consumer), heartbeats at a tenth of it, and one under Kafka's minimum is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.settings import Settings
from streams.app import faust_config, worker_identity


def test_the_session_timeout_and_its_heartbeat_reach_faust() -> None:
    default = faust_config(Settings(_env_file=None))  # type: ignore[call-arg]
    assert default["broker_session_timeout"] == 15.0
    assert default["broker_heartbeat_interval"] == 1.5
    slow = faust_config(Settings(_env_file=None, session_timeout=45))  # type: ignore[call-arg]
    assert (slow["broker_session_timeout"], slow["broker_heartbeat_interval"]) == (45.0, 4.5)


def test_static_membership_names_the_worker() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert faust_config(s)["consumer_group_instance_id"] == worker_identity(s)


def test_a_timeout_under_the_brokers_minimum_is_refused() -> None:
    with pytest.raises(ValidationError, match="session_timeout"):
        Settings(_env_file=None, session_timeout=3)  # type: ignore[call-arg]
