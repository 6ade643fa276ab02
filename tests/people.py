"""The people of the tests (issue #19) and tokens naming them, signed with a test's own key.

Each test's settings trust the JWKS of a key made in its own folder (``infra.devkey``), so a
token minted here verifies on that test's worker and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from infra.devkey import DevKey
from loop.identity import Principal, Role

if TYPE_CHECKING:
    from config.settings import Settings

CENTRE = "risk_centre"


def person(sub: str, roles: set[Role], department: str, *regions: str) -> Principal:
    return Principal(
        sub=sub, name=f"测试{sub}", roles=frozenset(roles), department=department, regions=regions
    )


PEOPLE: dict[str, Principal] = {
    "hz_handler": person("u-hz-li", {Role.handler}, "hz_market", "3301"),
    "hz_food_handler": person("u-hz-food", {Role.handler, Role.lead}, "hz_market_food", "3301"),
    "nb_handler": person("u-nb-wang", {Role.handler}, "nb_market", "3302"),
    "zj_intake_handler": person("u-zj-zhao", {Role.handler}, "zj_risk_centre_intake", "33"),
    "hz_staff": person("u-hz-staff", {Role.staff}, "hz_market", "3301"),
    "nb_staff": person("u-nb-staff", {Role.staff}, "nb_market", "3302"),
    "supervisor": person("u-chen", {Role.supervisor}, CENTRE, "33"),
    "modeller": person("u-model", {Role.modeller}, CENTRE, "33"),
    "operator": person("u-ops", {Role.operator}, CENTRE, "33"),
}


def key_of(s: Settings) -> DevKey:
    """The key whose JWKS ``s`` trusts (made if missing)."""
    key = DevKey(Path(s.jwks_source).parent)
    key.ensure()
    return key


def token(s: Settings, who: str | Principal, *, ttl: timedelta = timedelta(hours=1)) -> str:
    principal = PEOPLE[who] if isinstance(who, str) else who
    return key_of(s).mint(
        principal, issuer=s.auth.issuer, audience=s.auth.audience, now=datetime.now(UTC), ttl=ttl
    )


def auth(s: Settings, who: str | Principal) -> dict[str, str]:
    """``Authorization`` header of ``who`` for a worker with settings ``s``."""
    return {"Authorization": f"Bearer {token(s, who)}"}
