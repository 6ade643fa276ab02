"""``riskloop dev up|down|status``: the local Kafka, Redis and PostgreSQL of this checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from config.settings import PROJECT_ROOT
from infra import stack
from streams.cli.common import console, settings

app = typer.Typer(
    help="Start, stop and inspect the local infrastructure (Kafka, Redis, PostgreSQL).",
    no_args_is_help=True,
)

Services = Annotated[
    list[str] | None, typer.Argument(help="services (default: all): kafka redis postgres")
]


@app.command()
def up(services: Services = None) -> None:
    """Start the services (idempotent; recovers after a crash) and wait until they answer.

    The dev stack's dead-letter key is made here too (kept like the passwords, 0600), so a
    worker on it seals rejected originals from the first one."""
    from infra.secrets import ensure_secret

    dev = settings().dev
    for line in stack.up(dev, services):
        console.print(line)
    ensure_secret(dev, "deadletter")


@app.command()
def down(services: Services = None) -> None:
    """Stop the services this checkout started (by pid file); nothing else is touched."""
    for line in stack.down(settings().dev, services):
        console.print(line)


@app.command()
def status() -> None:
    """Show each service's state; exit 1 if any is not healthy."""
    healthy = True
    for name, (ok, text) in stack.status(settings().dev).items():
        healthy &= ok
        console.print(f"{name:<9} {'healthy' if ok else 'DOWN':<8} {text}")
    if not healthy:
        raise typer.Exit(1)


@app.command("compose-env")
def compose_env(
    path: Annotated[
        Path, typer.Option(help="the dotenv file docker compose reads (next to the compose file)")
    ] = PROJECT_ROOT / ".env",
) -> None:
    """Generate the passwords docker-compose.yml requires into .env (0600); kept if present."""
    from infra.secrets import COMPOSE_SECRETS, ensure_env_file

    added = ensure_env_file(path, COMPOSE_SECRETS)
    kept = [name for name in COMPOSE_SECRETS if name not in added]
    if added:
        console.print(f"{path}: generated {', '.join(added)}")
    if kept:
        console.print(f"{path}: kept {', '.join(kept)}")


@app.command("kafka-secure")
def kafka_secure(
    stop: Annotated[bool, typer.Option("--stop", help="stop the secured broker")] = False,
) -> None:
    """Start (or --stop) a second, secured broker: SASL/SCRAM-SHA-512 and ACLs, beside the
    plain one, in plaintext, over TLS (its own dev CA) and over TLS with client certificates.
    Principals admin, riskloop and intake; passwords in <state_dir>/secrets."""
    from infra import kafka_secure as secure
    from infra.secrets import ensure_secret

    s = settings()
    dev = s.dev
    passwords = {name: ensure_secret(dev, f"kafka-{name}") for name in secure.PRINCIPALS}  # type: ignore[arg-type]
    sk = secure.SecureKafka(
        root=dev.state_dir / "kafka-secure",
        port=dev.kafka_secure_port,
        controller_port=dev.kafka_secure_controller_port,
        tls_port=dev.kafka_secure_tls_port,
        mtls_port=dev.kafka_secure_mtls_port,
        passwords=passwords,
    )
    if stop:
        console.print(
            "secured kafka stopped" if secure.stop(sk) else "secured kafka was not running"
        )
        return
    pid = secure.start(dev, sk)
    secure.apply_acls(sk, secure.acl_bindings(s.topics, s.app_id))
    certs = [sk.client_certificate(name)[0] for name in ("riskloop", "intake")]
    console.print(
        f"secured kafka on {sk.bootstrap} (pid {pid}), SASL_PLAINTEXT {secure.MECHANISM}, "
        f"SASL_SSL on {sk.tls_bootstrap} (CA {sk.tls.ca_file}) and SSL with client "
        f"certificates on 127.0.0.1:{sk.mtls_port} ({', '.join(c.name for c in certs)} and "
        f"their .key beside the CA); "
        f"passwords: {dev.secret_file('kafka-riskloop').parent}/kafka-<principal>.password"
    )
