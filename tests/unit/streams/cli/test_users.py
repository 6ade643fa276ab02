"""``riskloop users token``: a token the API's default JWKS verifies, naming the person asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt

from config.settings import PROJECT_ROOT, Settings
from loop.identity import Policy, Principal, decide


def users(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    return subprocess.run(
        [sys.executable, "-m", "streams", "users", "token", *args],
        cwd=PROJECT_ROOT,
        env={**env, "RISKLOOP_DEV__STATE_DIR": str(state)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_minted_token_verifies_against_the_dev_jwks(tmp_path: Path) -> None:
    done = users(
        tmp_path,
        "--sub",
        "u-li",
        "--name",
        "李明",
        "--role",
        "handler",
        "--role",
        "lead",
        "--department",
        "hz_market",
        "--region",
        "3301",
        "--ttl",
        "30m",
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    s = Settings(_env_file=None, dev={"state_dir": tmp_path})  # type: ignore[call-arg]
    keys = jwt.PyJWKSet.from_json(Path(s.jwks_source).read_text(encoding="utf-8"))
    who = decide(token, keys, Policy(issuer=s.auth.issuer, audience=s.auth.audience))
    assert isinstance(who, Principal), who
    assert (who.sub, who.name, who.department, who.regions) == (
        "u-li",
        "李明",
        "hz_market",
        ("3301",),
    )
    assert {r.value for r in who.roles} == {"handler", "lead"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 1800
    key = tmp_path / "auth" / "dev-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "auth").stat().st_mode & 0o777 == 0o700
    # a second token comes from the same key: the JWKS the API holds keeps verifying
    again = users(tmp_path, "--sub", "u-2", "--name", "王", "--role", "staff", "--department", "d")
    assert isinstance(
        decide(again.stdout.strip(), keys, Policy(issuer=s.auth.issuer, audience=s.auth.audience)),
        Principal,
    )


def test_mistakes_are_one_line_not_a_traceback(tmp_path: Path) -> None:
    for args, words in (
        (["--role", "boss", "--department", "d"], "unknown role boss"),
        (["--role", "staff", "--department", "d", "--ttl", "soon"], "--ttl"),
        (["--role", "staff", "--department", "d e"], "department"),
        (["--role", "staff", "--department", "d", "--region", "33x"], "regions"),
    ):
        done = users(tmp_path, "--sub", "u1", "--name", "n", *args)
        assert done.returncode == 1, done.stdout
        assert words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
