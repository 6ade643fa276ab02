"""Who is asking: a signed JWT turned into a :class:`Principal`, or refused with the reason.

A risk centre is run by named people, so the API believes only what a key it trusts signed:
the person (``sub``, ``name``), their ``roles``, their ``department`` and the region-code
prefixes they cover (``regions``). The keys come from a JWKS (a province's SSO publishes one;
``riskloop users token`` signs with a local dev key and writes its JWKS beside it), so this
module never reads a file or the network: :func:`decide` is a pure function of the token, the
key set and the policy, and every hostile token is a unit test.

Refused, each with its reason: no token, a token that is not a JWT, ``alg: none`` or any
algorithm off the allow-list (HS256 included: a public key must never become an HMAC secret),
a key id the set does not hold, a bad signature, an expired token (``exp`` is required), a
token not yet valid, the wrong issuer or audience, and claims that do not name a person
(:func:`principal_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from config.settings import JWT_ALGORITHMS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

PERSON_MAX = 60
"""``sub`` and ``name`` each; ``name <sub>`` then fits the audit trail's 128-character actor."""


class Role(StrEnum):
    """What a person may do (issue #19); a token may carry several."""

    staff = "staff"  # reads the warnings of their regions
    handler = "handler"  # a department's handler: signs, disposes its department's tasks
    lead = "lead"  # a department's lead: as a handler
    supervisor = "supervisor"  # the risk centre: arbitrates, closes, reopens; sees everything
    modeller = "modeller"  # publishes rule packs and models
    operator = "operator"  # silences, operations


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: 401 (no usable token) or 403 (a person, but not allowed)."""

    status: int
    reason: str


@dataclass(frozen=True)
class Policy:
    """What a token must satisfy besides its signature: issuer, audience, algorithms, leeway."""

    issuer: str
    audience: str
    algorithms: tuple[str, ...] = ("ES256", "RS256")
    leeway: float = 30.0

    def __post_init__(self) -> None:
        unsafe = set(self.algorithms) - JWT_ALGORITHMS
        if unsafe or not self.algorithms:
            raise ValueError(
                f"algorithms must be some of {', '.join(sorted(JWT_ALGORITHMS))}; "
                f"not {', '.join(sorted(unsafe)) or 'none at all'}"
            )


PersonText = Annotated[
    str, StringConstraints(min_length=1, max_length=PERSON_MAX, pattern=r"^[^\x00<>]*\S[^\x00<>]*$")
]
Department = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
RegionPrefix = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}([0-9]{2}){0,2}$")]


class Principal(BaseModel):
    """The authenticated person a request acts as; ``actor`` is what the audit trail records."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: PersonText
    name: PersonText
    roles: frozenset[Role] = Field(min_length=1)
    department: Department
    regions: tuple[RegionPrefix, ...] = ()

    @property
    def actor(self) -> str:
        """``name <sub>``, like a commit's author: readable, and unique by its ``sub``.

        >>> Principal(sub="u-li", name="李明", roles={"handler"}, department="hz_market").actor
        '李明 <u-li>'
        """
        return f"{self.name} <{self.sub}>"

    def is_person(self, text: str) -> bool:
        """Does ``text`` name this person (their ``sub``, ``name`` or ``actor``)?"""
        return text.strip() in {self.sub, self.name, self.actor}

    def has(self, *roles: Role) -> bool:
        """Whether the person holds any of ``roles`` (one is enough)."""
        return not self.roles.isdisjoint(roles)


def principal_of(claims: Mapping[str, Any]) -> Principal | Refusal:
    """The person verified claims name, or a 403 naming what is missing or malformed.

    Roles a token carries that RiskLoop does not know are ignored (an SSO has others); at least
    one known role is required.

    >>> principal_of({"sub": "u1", "name": "王芳", "roles": ["staff"], "department": "hz_market",
    ...               "regions": ["3301"]}).regions
    ('3301',)
    >>> principal_of({"sub": "u1", "roles": ["staff"], "department": "hz_market"}).reason
    'token claims rejected: name: missing'
    """
    roles = claims.get("roles")
    known = [r for r in roles if r in Role.__members__] if isinstance(roles, list) else roles
    try:
        return Principal.model_validate({**claims, "roles": known})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {'missing' if e['type'] == 'missing' else e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)[:5]
        )
        return Refusal(403, f"token claims rejected: {problems}")


def decide(token: str | None, keys: jwt.PyJWKSet, policy: Policy) -> Principal | Refusal:
    """The person a bearer token names, or the refusal: the whole decision, without I/O."""
    if token is None:
        return Refusal(401, "missing bearer token (Authorization: Bearer <JWT>)")
    claims = verify(token, keys, policy)
    return claims if isinstance(claims, Refusal) else principal_of(claims)


def verify(token: str, keys: jwt.PyJWKSet, policy: Policy) -> dict[str, Any] | Refusal:
    """The claims of a token signed by one of ``keys`` and satisfying ``policy``; else a 401."""
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError):  # ValueError: a header that is not UTF-8
        return Refusal(401, "the bearer token is not a JWT")
    alg = header.get("alg")
    if alg not in policy.algorithms:
        return Refusal(401, f"token algorithm {str(alg)[:20]!r} is not allowed")
    key = _key_for(header.get("kid"), alg, keys)
    if isinstance(key, Refusal):
        return key
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key.key,
            algorithms=[alg],
            audience=policy.audience,
            issuer=policy.issuer,
            leeway=policy.leeway,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        return Refusal(401, "the token has expired")
    except jwt.InvalidAudienceError:
        return Refusal(401, f"the token is not for this audience ({policy.audience})")
    except jwt.InvalidIssuerError:
        return Refusal(401, f"the token was not issued by {policy.issuer}")
    except jwt.MissingRequiredClaimError as exc:
        return Refusal(401, f"the token has no {exc.claim} claim")
    except jwt.InvalidSignatureError:
        return Refusal(401, "the token's signature does not verify")
    except jwt.ImmatureSignatureError:
        return Refusal(401, "the token is not valid yet")
    except (jwt.PyJWTError, ValueError) as exc:
        return Refusal(401, f"the token is invalid: {type(exc).__name__}")
    return claims


def _key_for(kid: object, alg: str, keys: jwt.PyJWKSet) -> jwt.PyJWK | Refusal:
    """The key ``kid`` names (or the only key, when the token names none) that fits ``alg``."""
    candidates = [k for k in keys.keys if kid is None or k.key_id == kid]
    if kid is None and len(candidates) > 1:
        return Refusal(401, "the token names no key id (kid) and the key set has several")
    if not candidates:
        return Refusal(401, "the token's key id (kid) is not in the trusted key set")
    key = candidates[0]
    if key.algorithm_name != alg and type(key.Algorithm) is not _algorithm_type(alg):
        return Refusal(401, f"key {key.key_id} is not a {alg} key")
    return key


def _algorithm_type(alg: str) -> type:
    return type(jwt.get_algorithm_by_name(alg))


def covers(regions: Sequence[str], region_code: str) -> bool:
    """Does one of the prefixes cover ``region_code``?

    >>> covers(("3301",), "330106"), covers(("3301",), "330206")
    (True, False)
    """
    return any(region_code.startswith(prefix) for prefix in regions)


def claims_for(
    who: Principal, *, issuer: str, audience: str, now: datetime, ttl: timedelta
) -> dict[str, Any]:
    """The claims of a token naming ``who``, valid from ``now`` for ``ttl`` (what an SSO issues).

    >>> from datetime import UTC
    >>> c = claims_for(Principal(sub="u1", name="王芳", roles={"staff"}, department="d"),
    ...                issuer="i", audience="a", now=datetime(2026, 1, 1, tzinfo=UTC),
    ...                ttl=timedelta(hours=1))
    >>> c["exp"] - c["iat"], c["roles"]
    (3600, ['staff'])
    """
    if ttl <= timedelta(0):
        raise ValueError("a token's lifetime must be positive")
    issued = int(now.timestamp())
    return {
        "iss": issuer,
        "aud": audience,
        "sub": who.sub,
        "name": who.name,
        "roles": sorted(r.value for r in who.roles),
        "department": who.department,
        "regions": list(who.regions),
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(ttl.total_seconds()),
    }
