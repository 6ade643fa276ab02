"""A real ``riskloop worker`` plus two test agents that crash on the record ``b"crash"``.

Used by tests/integration/test_health.py: production agents are written not to crash on a bad
record, so the test brings its own. ``crash_restarted`` keeps Faust's default supervisor (the
crashed actor is replaced); ``crash_forfeit`` uses Faust's ``ForfeitOneForOneSupervisor`` (a
crashed actor stays dead), which is what a worker looks like when an agent is down for good.

Run as ``python -m tests.integration.crashing_worker <topic>`` with the worker's environment.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from mode.supervisors import ForfeitOneForOneSupervisor

from config.settings import Settings
from streams import logs
from streams.admin import create_topics
from streams.runner import make_worker

if TYPE_CHECKING:
    import faust


class CalendarUnavailable(Exception):
    """The crash seen in production, by name."""


def main(topic_name: str) -> None:
    settings = Settings()
    logs.configure(settings)
    create_topics(settings)
    worker = make_worker(settings)
    app = worker.app
    topic = app.topic(
        topic_name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )

    async def crash_on_poison(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            if value == b"crash":
                raise CalendarUnavailable("no working-day calendar for 2027")

    app.agent(topic, name="crash_restarted")(crash_on_poison)
    app.agent(topic, name="crash_forfeit", supervisor_strategy=ForfeitOneForOneSupervisor)(
        crash_on_poison
    )
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1])
