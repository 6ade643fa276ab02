"""Auth decisions: a pure function of the header, the role and the configured tokens."""

from __future__ import annotations

import doctest

import pytest
from pydantic import SecretStr

from config.settings import ApiTokens
from streams.api import auth
from streams.api.auth import Role, bearer, decide

TOKENS = ApiTokens(
    modeller=SecretStr("mod-token"), operator=SecretStr("op-token"), department=SecretStr("")
)


@pytest.mark.parametrize(
    ("header", "role", "status"),
    [
        ("Bearer mod-token", Role.modeller, 200),
        ("bearer op-token", Role.operator, 200),  # the scheme is case-insensitive
        (None, Role.operator, 401),
        ("", Role.operator, 401),
        ("Bearer", Role.operator, 401),
        ("Bearer    ", Role.operator, 401),
        ("Basic op-token", Role.operator, 401),
        ("op-token", Role.operator, 401),
        ("Bearer mod-token", Role.operator, 403),  # another role's valid token
        ("Bearer op-token", Role.modeller, 403),
        ("Bearer nope", Role.modeller, 403),
        ("Bearer op-token ", Role.operator, 200),  # trailing space is not part of the token
        ("Bearer op-tokenX", Role.operator, 403),
        ("Bearer \udcff\udcfe", Role.operator, 403),  # bytes not UTF-8, as aiohttp decodes them
        ("Bearer \ud800", Role.operator, 403),
        ("Bearer 中文", Role.operator, 403),
    ],
)
def test_decisions(header: str | None, role: Role, status: int) -> None:
    decision = decide(header, role, TOKENS)
    assert decision.status == status
    assert decision.allowed is (status == 200)
    assert bool(decision.error) is (status != 200)


def test_a_role_without_a_token_cannot_write_whatever_is_sent() -> None:
    for header in ("Bearer ", "Bearer x", "Bearer mod-token", "Bearer op-token"):
        assert not decide(header, Role.department, TOKENS).allowed
    assert decide("Bearer x", Role.department, TOKENS).status == 403
    assert "disabled" in decide("Bearer x", Role.department, TOKENS).error
    assert decide(None, Role.department, TOKENS).status == 401


def test_default_settings_refuse_every_write() -> None:
    for role in Role:
        assert decide("Bearer anything", role, ApiTokens()).status == 403


def test_errors_never_echo_the_configured_token() -> None:
    for header in ("Bearer nope", "Bearer mod-token"):
        decision = decide(header, Role.operator, TOKENS)
        assert "op-token" not in decision.error


def test_bearer_parsing() -> None:
    assert bearer("Bearer abc") == "abc"
    assert bearer("BEARER abc") == "abc"
    assert bearer("Token abc") is None
    assert bearer(None) is None


def test_doctests() -> None:
    assert doctest.testmod(auth).failed == 0
