"""The live feed's fan-out: each wall gets what its person may see, and a slow wall cannot
grow the console's memory."""

from __future__ import annotations

from config.settings import Settings
from console.live import QUEUE_SIZE, LiveFeed
from schemas.records import Level
from tests.people import PEOPLE
from tests.unit.sinks.factories import make_alert


def feed() -> LiveFeed:
    return LiveFeed(Settings(_env_file=None), centre="risk_centre")  # type: ignore[call-arg]


async def test_each_wall_gets_the_warnings_of_its_regions_only() -> None:
    live = feed()
    hz, nb, chief = (live.subscribe(PEOPLE[w]) for w in ("hz_staff", "nb_staff", "supervisor"))
    told = live.publish(make_alert(1, level=Level.red, region_code="330105"))
    assert told == 2
    assert hz.queue.get_nowait()["alert_id"] == "fp-1.1"
    assert chief.queue.qsize() == 1
    assert nb.queue.empty()
    assert live.publish(make_alert(2, level=Level.yellow, region_code="330105")) == 0
    live.unsubscribe(hz)
    assert live.publish(make_alert(3, level=Level.red, region_code="330105")) == 1


async def test_a_wall_that_stops_reading_keeps_only_the_newest() -> None:
    live = feed()
    slow = live.subscribe(PEOPLE["supervisor"])
    for n in range(QUEUE_SIZE + 5):
        live.publish(make_alert(n, level=Level.red))
    assert slow.queue.qsize() == QUEUE_SIZE
    assert slow.queue.get_nowait()["alert_id"] == "fp-5.1"
