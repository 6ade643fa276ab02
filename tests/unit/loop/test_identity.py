"""Hostile tokens are refused with their reason; a good one names the person (issue #19)."""

from __future__ import annotations

import base64
import doctest
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from infra.devkey import ALGORITHM, DevKey, key_id
from loop import identity
from loop.identity import Policy, Principal, Refusal, Role, claims_for, decide, principal_of

if TYPE_CHECKING:
    from pathlib import Path

POLICY = Policy(issuer="riskloop-dev", audience="riskloop")
LI = Principal(
    sub="u-li",
    name="李明",
    roles=frozenset({Role.handler}),
    department="hz_market",
    regions=("3301",),
)


@pytest.fixture
def key(tmp_path: Path) -> DevKey:
    k = DevKey(tmp_path / "auth")
    k.ensure()
    return k


def keys_of(k: DevKey) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_json(k.jwks.read_text())


def claims(**changes: Any) -> dict[str, Any]:
    base = claims_for(
        LI,
        issuer="riskloop-dev",
        audience="riskloop",
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
    )
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(k: DevKey, body: dict[str, Any], **headers: Any) -> str:
    private = k.ensure()
    return jwt.encode(
        body, private, algorithm=ALGORITHM, headers={"kid": key_id(private), **headers}
    )


def refused(outcome: Principal | Refusal, status: int, words: str) -> None:
    assert isinstance(outcome, Refusal), outcome
    assert outcome.status == status, outcome
    assert words in outcome.reason, outcome


def test_a_good_token_names_the_person(key: DevKey) -> None:
    who = decide(signed(key, claims()), keys_of(key), POLICY)
    assert who == LI
    assert isinstance(who, Principal)
    assert who.actor == "李明 <u-li>"


def test_minted_by_the_dev_key_and_verified_by_its_jwks(key: DevKey) -> None:
    token = key.mint(
        LI,
        issuer="riskloop-dev",
        audience="riskloop",
        now=datetime.now(UTC),
        ttl=timedelta(minutes=5),
    )
    assert decide(token, keys_of(key), POLICY) == LI
    assert oct(key.private.stat().st_mode & 0o777) == "0o600"
    assert "d" not in json.loads(key.jwks.read_text())["keys"][0]  # public half only


def test_no_token_is_401(key: DevKey) -> None:
    refused(decide(None, keys_of(key), POLICY), 401, "missing bearer token")


def test_expired(key: DevKey) -> None:
    old = int((datetime.now(UTC) - timedelta(hours=2)).timestamp())
    token = signed(key, claims(iat=old, nbf=old, exp=old + 600))
    refused(decide(token, keys_of(key), POLICY), 401, "expired")


def test_not_yet_valid(key: DevKey) -> None:
    later = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    refused(decide(signed(key, claims(nbf=later)), keys_of(key), POLICY), 401, "not valid yet")


def test_signed_by_another_key(key: DevKey, tmp_path: Path) -> None:
    other = DevKey(tmp_path / "other")
    forged = jwt.encode(
        claims(), other.ensure(), algorithm=ALGORITHM, headers={"kid": key_id(key.ensure())}
    )
    refused(decide(forged, keys_of(key), POLICY), 401, "signature does not verify")
    unknown_kid = signed(other, claims())
    refused(decide(unknown_kid, keys_of(key), POLICY), 401, "key id (kid) is not in the trusted")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], body: dict[str, Any], secret: bytes | None) -> str:
    """A token assembled by hand, as an attacker would (PyJWT refuses to make these)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    mac = b"" if secret is None else hmac.new(secret, signing_input.encode(), "sha256").digest()
    return f"{signing_input}.{b64(mac)}"


def test_alg_none(key: DevKey) -> None:
    kid = key_id(key.ensure())
    for alg in ("none", "None", "NONE"):
        token = forged({"alg": alg, "kid": kid, "typ": "JWT"}, claims(), None)
        refused(decide(token, keys_of(key), POLICY), 401, "is not allowed")


def test_hs256_signed_with_the_public_key_is_refused(key: DevKey) -> None:
    """The classic confusion: the public key, known to all, used as an HMAC secret."""
    public_pem = (
        key.ensure()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    token = forged({"alg": "HS256", "kid": key_id(key.ensure())}, claims(), public_pem)
    refused(decide(token, keys_of(key), POLICY), 401, "'HS256' is not allowed")


def test_a_key_of_the_wrong_type_for_the_algorithm(key: DevKey) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": key_id(key.ensure())})
    refused(decide(token, keys_of(key), POLICY), 401, "is not a RS256 key")


def test_wrong_audience_and_issuer(key: DevKey) -> None:
    refused(decide(signed(key, claims(aud="other-app")), keys_of(key), POLICY), 401, "audience")
    refused(decide(signed(key, claims(iss="evil-sso")), keys_of(key), POLICY), 401, "issued by")


@pytest.mark.parametrize("missing", ["exp", "aud", "iss", "sub"])
def test_missing_registered_claims(key: DevKey, missing: str) -> None:
    body = claims()
    del body[missing]
    refused(decide(signed(key, body), keys_of(key), POLICY), 401, f"no {missing} claim")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"name": None}, "name: missing"),
        ({"department": None}, "department: missing"),
        ({"roles": None}, "roles"),
        ({"roles": ["chief"]}, "roles"),  # no role RiskLoop knows
        ({"regions": ["33019x"]}, "regions.0"),
        ({"name": " "}, "name"),
        ({"sub": "a" * 61}, "sub"),
    ],
)
def test_claims_that_do_not_name_a_person(key: DevKey, change: dict[str, Any], words: str) -> None:
    refused(decide(signed(key, claims(**change)), keys_of(key), POLICY), 403, words)


def test_garbage_is_a_refusal_not_a_crash(key: DevKey) -> None:
    for token in ("abc", "a.b.c", "\udcff\udcfe", "中文", "e30.e30.", "x" * 5000):
        refused(decide(token, keys_of(key), POLICY), 401, "")


def test_several_keys_and_no_kid(key: DevKey, tmp_path: Path) -> None:
    other = DevKey(tmp_path / "b")
    other.ensure()
    two = {
        "keys": [
            *json.loads(key.jwks.read_text())["keys"],
            *json.loads(other.jwks.read_text())["keys"],
        ]
    }
    token = jwt.encode(claims(), key.ensure(), algorithm=ALGORITHM)  # no kid
    refused(decide(token, jwt.PyJWKSet.from_dict(two), POLICY), 401, "no key id")
    assert decide(token, keys_of(key), POLICY) == LI  # one key: it is the one


def test_policies_never_allow_none_or_hmac() -> None:
    for algorithms in (("none",), ("HS256",), ("ES256", "HS512"), ()):
        with pytest.raises(ValueError, match="algorithms must be"):
            Policy(issuer="i", audience="a", algorithms=algorithms)


def test_unknown_roles_are_ignored_when_one_is_known() -> None:
    who = principal_of({**claims(), "roles": ["handler", "sso-admin"]})
    assert isinstance(who, Principal)
    assert who.roles == {Role.handler}


def test_ec_key_curve_mismatch_is_refused(key: DevKey) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    token = jwt.encode(claims(), p384, algorithm="ES384", headers={"kid": key_id(key.ensure())})
    refused(
        decide(
            token,
            keys_of(key),
            Policy(issuer="riskloop-dev", audience="riskloop", algorithms=("ES256", "ES384")),
        ),
        401,
        "",
    )


def test_doctests() -> None:
    assert doctest.testmod(identity).failed == 0
