"""The one settings object of RiskLoop.

Everything configurable lives here, read once from the environment (prefix ``RISKLOOP_``,
nested groups with ``__``, e.g. ``RISKLOOP_TOPICS__ALERTS=alerts``) or a ``.env`` file, frozen,
and passed in explicitly to whatever needs it. No other module reads ``os.environ``: a test
builds a ``Settings(...)`` with exactly what it wants, and two workers in one process can run
with different settings.

>>> s = Settings(kafka_broker="kafka://127.0.0.1:9192")
>>> s.bootstrap_servers
'127.0.0.1:9192'
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.sources import SOURCE_SPECS

if TYPE_CHECKING:
    from collections.abc import Iterator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout's root: defaults for data folders are relative to it, not to the caller's cwd."""

DATASETS_DIR = PROJECT_ROOT.parent / "shared" / "data"
"""The shared developer datasets beside the checkout (``../shared/data``), as CI and developers
have them: the default of ``datasets_dir``."""

WarningLevel = Literal["red", "orange", "yellow", "blue"]
DevService = Literal[
    "redis", "postgres", "deadletter", "kafka-admin", "kafka-riskloop", "kafka-intake"
]
"""The dev stack's generated secrets: the passwords of the services that have one (the plain
Kafka listener and Prometheus have none: loopback; the secured broker's principals do) and the
key dead-letter originals are sealed under."""

_LOOPBACK = {"127.0.0.1", "localhost"}
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@/\s]*@")


def redact_url(value: str) -> str:
    """``value`` with the password of every URL in it replaced by ``***`` (for logs and reprs).

    >>> redact_url("postgresql+psycopg://riskloop:s3cret@db:5432/riskloop")
    'postgresql+psycopg://riskloop:***@db:5432/riskloop'
    >>> redact_url("redis://127.0.0.1:6379/0")
    'redis://127.0.0.1:6379/0'
    """
    return _URL_PASSWORD.sub(r"\1:***@", value)


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TopicSettings(_Group):
    """Topic names (see ARCHITECTURE.md's topic map) and the partition count of new topics."""

    inspections: str = Field(
        SOURCE_SPECS["inspections"].topic, description="inspection results, keyed by USCC"
    )
    complaints: str = Field(
        SOURCE_SPECS["complaints"].topic, description="complaints and reports (12345/12315)"
    )
    equipment: str = Field(
        SOURCE_SPECS["equipment"].topic, description="special-equipment sensor readings"
    )
    trucks: str = Field(
        SOURCE_SPECS["trucks"].topic, description="muck-truck GPS fixes, keyed by plate"
    )
    dispositions: str = Field(
        "tasks.dispositions", description="departments' dispositions of tasks"
    )
    rulepacks: str = Field("control.rulepacks", description="rule-pack versions (compacted)")
    models: str = Field("control.models", description="model versions (compacted)")
    geofences: str = Field("control.geofences", description="fence sets (compacted)")
    silences: str = Field("control.silences", description="silences of warnings (compacted)")
    calendars: str = Field(
        "control.calendars", description="working-day calendars, one notice per year (compacted)"
    )
    alerts: str = Field(
        "alerts",
        description="notified warning changes and moves of state or level, in brief, keyed by fingerprint",
    )
    alerts_shadow: str = Field("alerts.shadow", description="hits of shadow-mode rules and models")
    task_prefix: str = Field("tasks.", description="prefix of each department's task topic")
    task_events: str = Field("tasks.events", description="every task state change (audit trail)")
    supervision: str = Field("supervision", description="催办/督办/通报 events")
    verdicts: str = Field(
        "tasks.verdicts", description="the worker's verdict on each disposition, by task id"
    )
    deadletter: str = Field("deadletter", description="rejected records with reason and bytes")
    status: str = Field("control.status", description="workers' hot-load status records")
    task_commands: str = Field(
        "riskloop.task-commands", description="internal: open a task, keyed by task id"
    )
    feedback: str = Field(
        "riskloop.feedback", description="internal: disposals back to the warning's entity"
    )
    profile_events: str = Field(
        "riskloop.profile-events", description="internal: entity-profile updates by USCC"
    )
    ticks: str = Field("riskloop.ticks", description="internal: timer ticks, one per partition")
    rekeyed: str = Field(
        "riskloop.rekeyed",
        description="internal: events re-keyed to a rule's entity (address, company)",
    )
    nearby: str = Field(
        "riskloop.nearby-complaints",
        description="internal: located food/sanitation complaints, one copy per partition",
    )
    partitions: int = Field(4, ge=1, description="partitions of every data topic we create")
    control_partitions: int = Field(1, ge=1, description="partitions of control topics")

    @classmethod
    def for_run(cls, run: str) -> TopicSettings:
        """Every topic name with the suffix ``-<run>`` (task topics ``tasks-<run>.<dept>``), so
        a test's or a benchmark's worker on the shared broker sees only its own records, not the
        history other runs left there.
        """
        base = cls()
        names = {
            name: f"{value}-{run}"
            for name, value in base.model_dump().items()
            if isinstance(value, str) and name != "task_prefix"
        }
        return base.model_copy(update={**names, "task_prefix": f"tasks-{run}."})

    def sources(self) -> dict[str, str]:
        """Source name → topic name, for every source of ``schemas.sources.SOURCE_SPECS``.

        A source with a field of its name here takes its topic from that field (so
        ``RISKLOOP_TOPICS__TRUCKS`` renames it); one without takes its spec's default topic.
        """
        return {name: getattr(self, name, spec.topic) for name, spec in SOURCE_SPECS.items()}

    def control(self) -> list[str]:
        """The compacted control topics."""
        return [
            self.rulepacks,
            self.models,
            self.geofences,
            self.silences,
            self.calendars,
            self.status,
        ]

    def outputs(self) -> list[str]:
        """Topics RiskLoop writes (task topics per department are added by routing)."""
        return [
            self.alerts,
            self.alerts_shadow,
            self.task_events,
            self.supervision,
            self.verdicts,
            self.deadletter,
            self.task_commands,
            self.feedback,
            self.profile_events,
            self.ticks,
            self.rekeyed,
            self.nearby,
        ]


class DevStackSettings(_Group):
    """The local infrastructure ``riskloop dev up`` starts: where, on which ports, how long to wait."""

    state_dir: Path = Field(
        PROJECT_ROOT / ".riskloop", description="git-ignored data, logs, pids, jars"
    )
    kafka_version: str = Field(
        "3.9.1", description="Apache Kafka version fetched from Maven Central"
    )
    kafka_port: int = Field(9092, description="broker listener port on 127.0.0.1")
    kafka_controller_port: int = Field(9093, description="KRaft controller port on 127.0.0.1")
    kafka_heap: str = Field("512m", description="broker JVM heap (-Xms/-Xmx)")
    kafka_secure_port: int = Field(
        9094, description="SASL/SCRAM listener of the opt-in secured broker (`dev kafka-secure`)"
    )
    kafka_secure_controller_port: int = Field(
        9095, description="KRaft controller port of the opt-in secured broker"
    )
    kafka_secure_tls_port: int = Field(
        9096,
        description="SASL_SSL (SCRAM over TLS) listener of the opt-in secured broker; its dev"
        " CA is `<state_dir>/kafka-secure/tls/ca.pem`",
    )
    kafka_secure_mtls_port: int = Field(
        9097,
        description="SSL listener of the opt-in secured broker that requires client certificates"
        " (mTLS; `CN=<principal>`, issued into `<state_dir>/kafka-secure/tls/<principal>.pem`)",
    )
    redis_port: int = Field(6379, description="Redis port on 127.0.0.1")
    postgres_port: int = Field(5432, description="PostgreSQL port on 127.0.0.1")
    postgres_user: str = Field("riskloop", description="PostgreSQL role created by `dev up`")
    postgres_db: str = Field("riskloop", description="PostgreSQL database created by `dev up`")
    prometheus_port: int = Field(
        9090, description="Prometheus port on 127.0.0.1 (integration tests)"
    )
    start_timeout: float = Field(120.0, gt=0, description="seconds to wait for each service")

    @property
    def postgres_url(self) -> str:
        """SQLAlchemy URL of the dev PostgreSQL, without its password: a ``Settings`` whose
        ``sql_url`` is this finds the generated one itself (:attr:`Settings.sql_secret`)."""
        return (
            f"postgresql+psycopg://{self.postgres_user}@127.0.0.1:{self.postgres_port}/"
            f"{self.postgres_db}"
        )

    def secret_file(self, service: DevService) -> Path:
        """Where ``riskloop dev up`` keeps the generated password of ``service`` (mode 0600)."""
        return self.state_dir / "secrets" / f"{service}.password"

    def secret(self, service: DevService) -> SecretStr | None:
        """The generated password of ``service``; None until ``dev up`` first started it (a
        service started before passwords existed keeps running without one until restarted)."""
        try:
            text = self.secret_file(service).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return SecretStr(text) if text else None

    def serves(self, url: str, service: DevService) -> bool:
        """True when ``url`` is this stack's ``service``: loopback, its port (and role), and
        no password of its own.

        >>> dev = DevStackSettings()
        >>> dev.serves("redis://127.0.0.1:6379/0", "redis")
        True
        >>> dev.serves("redis://cache:6379/0", "redis")
        False
        >>> dev.serves(dev.postgres_url, "postgres"), dev.serves("sqlite:///x.db", "postgres")
        (True, False)
        """
        parts = urlsplit(url)
        if parts.hostname not in _LOOPBACK or parts.password is not None:
            return False
        if service == "redis":
            return parts.scheme == "redis" and (parts.port or 6379) == self.redis_port
        return (
            parts.scheme.startswith("postgresql")
            and (parts.port or 5432) == self.postgres_port
            and parts.username == self.postgres_user
        )


class DeadlineSettings(_Group):
    """Disposal deadlines per level (DOMAIN.md): ``"30m"``, ``"4h"`` or ``"3wd"`` (working days)."""

    sign_red: str = Field("30m", description="red: sign-for (签收) deadline")
    dispose_red: str = Field("2h", description="red: verify and feed back deadline")
    sign_orange: str = Field("4h", description="orange: sign-for deadline")
    dispose_orange: str = Field("24h", description="orange: feed-back deadline")
    sign_yellow: str = Field("1wd", description="yellow: sign-for deadline (working days)")
    dispose_yellow: str = Field("3wd", description="yellow: feed-back deadline")
    sign_blue: str = Field("3wd", description="blue: sign-for deadline")
    dispose_blue: str = Field("7wd", description="blue: feed-back deadline")


JWT_ALGORITHMS = frozenset(
    {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
    }
)
"""Algorithms the API may allow: a signature checked with a public key (never none, never HS*:
a public key read as an HMAC secret lets anyone who has it sign)."""


class AuthSettings(_Group):
    """Who may use the API (issue #19): signed JWTs naming a person, verified with a JWKS."""

    jwks: str = Field(
        "",
        description="the trusted keys: a JWKS file path or an https:// URL (a province SSO's);"
        " unset: the dev key's `<RISKLOOP_DEV__STATE_DIR>/auth/jwks.json` (`riskloop users"
        " token` makes it)",
    )
    issuer: str = Field("riskloop-dev", min_length=1, description="required `iss` of tokens")
    audience: str = Field("riskloop", min_length=1, description="required `aud` of tokens")
    algorithms: tuple[str, ...] = Field(
        ("ES256", "RS256"),
        min_length=1,
        description="allowed signature algorithms (asymmetric only: none and HS* are refused)",
    )
    leeway: float = Field(30.0, ge=0, le=300, description="seconds of clock skew on exp/nbf")

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unsafe = sorted(set(value) - JWT_ALGORITHMS)
        if unsafe:
            raise ValueError(
                f"not allowed: {', '.join(unsafe)} (use {', '.join(sorted(JWT_ALGORITHMS))})"
            )
        return value

    @field_validator("jwks")
    @classmethod
    def _path_or_https(cls, value: str) -> str:
        if "://" in value and not value.startswith("https://"):
            raise ValueError("a JWKS URL must be https:// (or give a file path)")
        return value


class KafkaAuthSettings(_Group):
    """How RiskLoop's own Kafka clients (workers, CLI, console) prove who they are to the
    broker: one principal for all of them, as the ACLs of README "Securing Kafka" expect
    (``streams/kafka_clients.py`` turns this into each client library's settings)."""

    protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = Field(
        "PLAINTEXT",
        description="Kafka security protocol: PLAINTEXT (the dev broker), SASL_PLAINTEXT,"
        " SASL_SSL (production: SASL over TLS) or SSL",
    )
    mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism (with a SASL_* protocol)"
    )
    username: str | None = Field(None, description="SASL principal, e.g. `riskloop`")
    password: SecretStr | None = Field(None, description="its SASL password")
    ca_file: Path | None = Field(
        None,
        description="with SSL/SASL_SSL: the CA certificates (PEM) the brokers' certificates are"
        " checked against; unset: the system's",
    )
    cert_file: Path | None = Field(
        None,
        description="with SSL/SASL_SSL, for brokers that require client certificates (mTLS):"
        " this client's certificate (PEM); with SSL alone the ACLs see the principal the broker"
        " maps it to (e.g. its CN)",
    )
    key_file: Path | None = Field(
        None, description="the private key (PEM, unencrypted; keep it 0600) of `cert_file`"
    )

    @model_validator(mode="after")
    def _complete(self) -> KafkaAuthSettings:
        if self.protocol.startswith("SASL_") and not (self.username and self.password):
            raise ValueError(
                f"protocol {self.protocol} needs RISKLOOP_KAFKA_AUTH__USERNAME and"
                " RISKLOOP_KAFKA_AUTH__PASSWORD"
            )
        if self.ca_file is not None and not self.protocol.endswith("SSL"):
            raise ValueError(f"ca_file is for SSL or SASL_SSL, not {self.protocol}")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file {self.ca_file} is not a file")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        for name, path in (("cert_file", self.cert_file), ("key_file", self.key_file)):
            if path is not None and not self.protocol.endswith("SSL"):
                raise ValueError(f"{name} is for SSL or SASL_SSL, not {self.protocol}")
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {path} is not a file")
        return self

    @property
    def sasl(self) -> bool:
        """Whether the clients authenticate with SASL."""
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        """Whether the connection is TLS."""
        return self.protocol.endswith("SSL")


class EvidenceSettings(_Group):
    """Evidence files of dispositions (现场照片, 检查记录): stored once, named by their SHA-256."""

    dir: Path | None = Field(
        None,
        description="where evidence files are kept, content-addressed; unset:"
        " `<RISKLOOP_DATA_DIR>/evidence`",
    )
    max_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, le=1024**3, description="largest evidence file taken, bytes"
    )


class MemorySettings(_Group):
    """How much memory a worker keeps, on purpose (issue #16: peak RSS < 500 MiB with 100,000
    distinct entities; README "Memory")."""

    hot_bytes: int = Field(
        4 * 1024 * 1024,
        ge=0,
        description="decoded state values kept between checkpoints, counted as their JSON bytes"
        " (a decoded value takes ~2–4× its JSON); the least recently used of the rest are held"
        " as their packed changelog bytes and decoded again when used (8 MiB until 2026-12-06:"
        " README Memory)",
    )
    cold_on_disk: bool = Field(
        True,
        description="keep the cold values' bytes in a SQLite file per partition under"
        " data_dir/cold (a cache the state changelog rebuilds: emptied when a partition is"
        " taken, deleted when it goes) instead of in memory",
    )
    malloc_arenas: int = Field(
        2,
        ge=0,
        description="most glibc malloc arenas (mallopt M_ARENA_MAX, set before the worker's"
        " threads start; glibc's default is 8 per core); 0: glibc's default",
    )
    trim_interval: float = Field(
        10.0,
        ge=0,
        description="seconds between malloc_trim calls giving freed heap pages back to the"
        " system (glibc; ~10 ms a call on a synthetic fragmented 270 MB heap); 0: never",
    )
    gc_young: int = Field(
        50_000,
        ge=0,
        description="allocations between the garbage collector's young-generation collections"
        " once the worker has started (what is alive then is frozen out of its sight,"
        " streams/memory.py); 0: Python's default (700), nothing frozen",
    )
    stream_buffer: int = Field(
        256,
        ge=1,
        description="events Faust reads ahead and holds per agent stream before its agent takes"
        " them (Faust's stream_buffer_maxsize; Faust's default 4096 held ~100 MiB more on a"
        " backlog, README Memory)",
    )
    tick_keys: int = Field(
        1000,
        ge=1,
        description="absence-rule keys one clock tick fires at most; more that are due are fired"
        " by the same tick sent again, each an event of its own, so a checkpoint between them"
        " can make their warnings cold (a tick over 100,000 silent entities held them all"
        " decoded at once, README Memory)",
    )
    dirty_bytes: int = Field(
        2 * 1024 * 1024,
        ge=0,
        description="state changed since the last checkpoint a worker holds decoded, counted as"
        " JSON bytes (each table's recent average): past it the checkpoint is brought forward"
        " before the next event, and a clock tick fires only as many absence keys as fit"
        " (Kafka Streams' cache.max.bytes.buffering; README Memory); 0: no bound",
    )
    poll_records: int = Field(
        64,
        ge=0,
        description="most records one consumer poll hands the worker's agents (Faust's"
        " broker_max_poll_records; its default, unbounded, hands over everything fetched, up to"
        " RISKLOOP_MEMORY__FETCH_BYTES from every partition). Faust's flow control pauses a busy"
        " agent's partitions only between polls; bounded, the pipeline wrote a third fewer"
        " rule-state records per event (README Memory); 0: unbounded",
    )
    fetch_bytes: int = Field(
        256 * 1024,
        ge=64 * 1024,
        description="most bytes aiokafka fetches from one partition at a time (Faust's"
        " consumer_max_fetch_size, default 1 MiB): on a backlog each partition read holds up to"
        " that, as bytes and as the records made of them, until its agent takes them (README"
        " Memory); keep it above the largest input record",
    )


class ConsoleSettings(_Group):
    """The web console (issue #20, ``riskloop console``): where it listens, which worker it asks."""

    host: str = Field("127.0.0.1", description="console HTTP bind address")
    port: int = Field(6070, ge=1, le=65535, description="console HTTP port")
    worker_url: str = Field(
        "",
        description="base URL of the worker API the console asks with each person's own token;"
        " unset: the local worker's `http://<RISKLOOP_WEB_HOST>:<RISKLOOP_WEB_PORT>`",
    )
    backend_timeout: float = Field(
        10.0, gt=0, le=120, description="seconds the console waits for one worker API answer"
    )
    cookie_secure: bool = Field(
        False,
        description="mark the login and CSRF cookies Secure (set it when the console is served"
        " over https behind a proxy)",
    )

    @field_validator("worker_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("worker_url must be an http:// or https:// URL")
        return value.rstrip("/")


class Settings(BaseSettings):
    """All of RiskLoop's configuration. Frozen: build a new one (``model_copy``) to change it."""

    model_config = SettingsConfigDict(
        env_prefix="RISKLOOP_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        frozen=True,
        extra="ignore",
    )

    app_id: str = Field("riskloop", description="Faust app id = Kafka consumer group")
    kafka_broker: str = Field("kafka://127.0.0.1:9092", description="Kafka bootstrap URL(s)")
    kafka_auth: KafkaAuthSettings = Field(default_factory=KafkaAuthSettings)
    schema_registry_url: str | None = Field(
        None, description="Confluent Schema Registry; None = local catalogue"
    )
    wire_format: Literal["json", "avro"] = Field("json", description="what our producers write")
    data_dir: Path = Field(
        PROJECT_ROOT / ".riskloop" / "worker",
        description="the sinks' local outbox and the snapshot key (state is in Kafka)",
    )
    sql_url: str = Field(
        f"sqlite:///{PROJECT_ROOT / '.riskloop' / 'riskloop.db'}",
        description="task store and audit trail (SQLAlchemy URL)",
    )
    sql_password: SecretStr | None = Field(
        None,
        description="password added to sql_url; unset and sql_url is the dev stack's"
        " PostgreSQL: the password `riskloop dev up` generated (.riskloop/secrets)",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="live views and counters")
    redis_password: SecretStr | None = Field(
        None,
        description="Redis password; unset and redis_url is the dev stack's Redis: the"
        " password `riskloop dev up` generated (.riskloop/secrets)",
    )
    web_host: str = Field("127.0.0.1", description="worker HTTP bind address")
    web_port: int = Field(6066, description="worker HTTP port (/metrics, API)")
    api_max_body_bytes: int = Field(
        64 * 1024,
        gt=0,
        description="largest API request body (dispositions, silences, "
        "assignments); larger ones are refused with 413 before they are read",
    )
    api_max_pack_bytes: int = Field(
        1024 * 1024,
        gt=0,
        description="largest rule pack, fence set or calendar POSTed to the API (413 above)",
    )
    log_level: str = Field(
        "INFO",
        description="log level; a `warning` line for each new or escalated warning at `INFO`, "
        "for every warning change at `DEBUG` (the routine ones are not even made below it)",
    )
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="json in production, console on a terminal; auto picks by isatty"
    )
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        "at_least_once",
        description="Faust processing guarantee; keep at_least_once: Faust's exactly_once does"
        " not commit reliably (faust-streaming#517), and the worker's outputs and changelog go"
        " through its own producer (streams/producer.py), outside Faust's transactions",
    )
    dedup_window_seconds: int = Field(7 * 24 * 3600, ge=0, description="source-event dedup window")
    max_event_bytes: int = Field(1_000_000, gt=0, description="larger payloads are dead-lettered")
    max_future_skew_seconds: int = Field(300, ge=0, description="events further ahead are rejected")
    max_event_age_days: int = Field(3650, ge=1, description="events older than this are rejected")
    clock_speed: float = Field(1.0, gt=0, description="worker clock speed-up (tests of deadlines)")
    clock_start: datetime | None = Field(
        None,
        description="ISO-8601 instant the worker's wall clock starts at (drills 演练, tests); "
        "unset: now",
    )
    timer_interval: float = Field(
        5.0, gt=0, description="seconds between supervision/absence timer runs"
    )
    idle_clock_after: float = Field(
        300.0,
        ge=0,
        description="seconds without events before a partition's event clock follows the wall"
        " clock (absence rules, silent trucks); 0: event time only",
    )
    snapshot_interval: float = Field(
        60.0,
        gt=0,
        description="unused since the models are written at each checkpoint"
        " (streams/model_state.py); kept so existing environments still load",
    )
    snapshot_key: SecretStr | None = Field(
        None,
        description="secret HMAC key signing model snapshots (a snapshot that does not verify is"
        " never unpickled); unset: a random key kept in data_dir/snapshot.key (0600). Set the"
        " same key on every worker of an app: partitions, and the models in their checkpoint, move"
        " between workers",
    )
    deadletter_key: SecretStr | None = Field(
        None,
        description="secret the dead-letter topic's original bytes are sealed under (AES-256-GCM,"
        " key derived with HKDF); operators hold it for `riskloop deadletter show --decrypt`."
        " Unset: the dev stack's generated key (.riskloop/secrets/deadletter.password) if there"
        " is one, else originals stay plain and the worker warns at start",
    )
    api_token: SecretStr | None = Field(
        None,
        description="a person's token (`riskloop users token`, or the SSO's): `riskloop tasks"
        " dispose|assign` and `silence add|expire|list` then go through the worker API at"
        " api_url as that person, who the audit trail names (not `--by`/`--actor`) and whose"
        " regions `silence list` shows; unset: they use Kafka directly",
    )
    api_url: str = Field(
        "",
        description="base URL of the worker API the CLI uses with api_token; unset: the"
        " console's worker_url, else the local worker's",
    )
    commit_interval: float = Field(
        1.0, gt=0, description="seconds between offset commits (a crash redoes at most this)"
    )
    sink_wait: float = Field(
        5.0,
        ge=0,
        description="s a checkpoint waits for the SQL/Redis sinks before it goes on "
        "(their rows stay in the local outbox meanwhile)",
    )
    session_timeout: float = Field(
        15.0,
        ge=6.0,
        le=300.0,
        description="seconds the group waits for a silent worker before its partitions move"
        " to the others (Kafka's session.timeout.ms; heartbeats every tenth of it): a dead"
        " worker's warnings wait this long (Faust's 60 s made a failover take 67 s). At least"
        " the broker's minimum, 6 s; a worker whose event loop stalls for longer is taken for"
        " dead",
    )
    commit_every: int = Field(
        10_000,
        gt=0,
        description="commit after this many events, if sooner than commit_interval (each "
        "commit is a checkpoint, which writes every key changed since the last: at 100, a fast "
        "worker checkpointed many times a second; the default commits by time in practice, so "
        "a crash redoes at most commit_interval's events; the models are in the checkpoint, so "
        "nothing is learnt twice)",
    )
    producer_linger: float = Field(
        0.005,
        ge=0,
        le=1.0,
        description="s the worker's producer waits to fill a batch before it sends one"
        " (librdkafka's linger.ms for the outputs and changelog, streams/producer.py; 5 ms is"
        " librdkafka's default). With 0 (a record goes out as soon as librdkafka can): in two"
        " alternated pairs of bench runs the worker was no faster than with aiokafka, with"
        " 5 ms it was in three of three (bench/RESULTS.md 2026-12-06 18:39). Adds up to this"
        " to each hop's latency",
    )
    models_enabled: bool = Field(True, description="run the online models (off: rules only)")
    task_min_level: WarningLevel = Field(
        "yellow", description="lowest warning level that makes a task"
    )
    rule_packs_dir: Path = Field(PROJECT_ROOT / "rules" / "packs", description="shipped rule packs")
    datasets_dir: Path = Field(
        DATASETS_DIR,
        description="the labelled datasets folder (models/EVALUATION.md layout) that `riskloop"
        " models evaluate`, `split` and `report` read when no --data-dir is given",
    )
    notify_config: Path | None = Field(
        None,
        description="notification receivers and routes (config/notify.yaml shape, README:"
        " Notifications); unset: nobody is notified",
    )
    notify_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="JSON object of the secrets notify_config names (webhook keys, robot tokens,"
        " SMTP passwords): never in the file",
    )
    notify_poll_interval: float = Field(
        1.0, gt=0, description="s between the notification sender's looks at its queue"
    )
    notify_retry_initial: float = Field(
        2.0, gt=0, description="s before the first retry of a failed notification (doubling)"
    )
    notify_retry_max: float = Field(
        300.0, gt=0, description="longest s between retries of a failed notification"
    )
    topics: TopicSettings = Field(default_factory=TopicSettings)
    dev: DevStackSettings = Field(default_factory=DevStackSettings)
    deadlines: DeadlineSettings = Field(default_factory=DeadlineSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    control_signing_key: Path | None = Field(
        None,
        description="Ed25519 private key (OpenSSH format, e.g. `ssh-keygen -t ed25519`) signing"
        " the control records this process publishes (CLI) or accepts (API, worker status);"
        " unset: dev.state_dir/keys/control.key, generated 0600 on first use with its public"
        " line in control.key.pub",
    )
    control_trusted_keys: Path | None = Field(
        None,
        description="file of the public keys whose control records workers accept (one"
        " `ssh-ed25519 AAAA… comment` line each); unset: only the control_signing_key's own",
    )

    @property
    def redis_secret(self) -> SecretStr | None:
        """The password the Redis client sends: ``redis_password`` if set, else the dev
        stack's generated one when ``redis_url`` is the dev stack's Redis, else none."""
        if self.redis_password is not None and self.redis_password.get_secret_value():
            return self.redis_password
        return self.dev.secret("redis") if self.dev.serves(self.redis_url, "redis") else None

    @property
    def sql_secret(self) -> SecretStr | None:
        """The password added to ``sql_url``: ``sql_password`` if set, else the dev stack's
        generated one when ``sql_url`` is the dev stack's PostgreSQL, else none."""
        if self.sql_password is not None and self.sql_password.get_secret_value():
            return self.sql_password
        return self.dev.secret("postgres") if self.dev.serves(self.sql_url, "postgres") else None

    @property
    def deadletter_secret(self) -> SecretStr | None:
        """The key dead-letter originals are sealed under: ``deadletter_key`` if set, else the
        one ``riskloop dev up`` generated into the state folder, else none."""
        if self.deadletter_key is not None and self.deadletter_key.get_secret_value():
            return self.deadletter_key
        return self.dev.secret("deadletter")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Secrets are ``SecretStr`` (shown as stars); a password written into a URL field
        (``sql_url``, ``redis_url``, …) is starred too, so a logged repr leaks nothing."""
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if isinstance(value, str) else value

    @property
    def evidence_dir(self) -> Path:
        """Where evidence files are kept: ``evidence.dir``, else ``data_dir/evidence``."""
        return self.evidence.dir or self.data_dir / "evidence"

    @property
    def jwks_source(self) -> str:
        """Where the API's trusted keys are: ``auth.jwks``, else the dev key's JWKS."""
        return self.auth.jwks or str(self.dev.state_dir / "auth" / "jwks.json")

    @field_validator("api_url")
    @classmethod
    def _api_http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("api_url must be an http:// or https:// URL")
        return value

    @property
    def cli_api_url(self) -> str:
        """The worker API the CLI asks with ``api_token``: ``api_url``, else the console's."""
        return self.api_url.rstrip("/") or self.console_worker_url

    @property
    def console_worker_url(self) -> str:
        """The worker API the console asks: ``console.worker_url``, else the local worker's."""
        return self.console.worker_url or f"http://{self.web_host}:{self.web_port}"

    @property
    def bootstrap_servers(self) -> str:
        """``host:port[,host:port]`` for confluent-kafka, from the Faust-style broker URL."""
        parts = []
        for raw in self.kafka_broker.split(";"):
            url = raw.strip()
            parts.append(urlsplit(url).netloc if "://" in url else url)
        return ",".join(parts)

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests, the demo): the original stays frozen."""
        return self.model_copy(update=changes)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, then apply explicit overrides (e.g. CLI flags)."""
    return Settings(**overrides)  # type: ignore[arg-type]


def subprocess_env(s: Settings, base: dict[str, str]) -> dict[str, str]:
    """Environment that makes a ``riskloop`` subprocess use exactly settings ``s``: ``base``
    without its ``RISKLOOP_*`` variables, then every field, nested groups with ``__``, lists and
    dicts as JSON (how pydantic-settings reads complex values), secrets revealed (the caller's
    own: tests and the bench start workers on settings they made)."""
    env = {k: v for k, v in base.items() if not k.startswith("RISKLOOP_")}

    def put(name: str, value: object) -> None:
        if isinstance(value, BaseModel):
            for field in type(value).model_fields:
                put(f"{name}__{field.upper()}", getattr(value, field))
        elif isinstance(value, SecretStr):
            env[name] = value.get_secret_value()
        elif isinstance(value, list | tuple):
            env[name] = json.dumps(list(value))
        elif isinstance(value, dict):
            env[name] = json.dumps(
                {
                    k: v.get_secret_value() if isinstance(v, SecretStr) else v
                    for k, v in value.items()
                }
            )
        elif value is not None:
            env[name] = str(value)

    for field in Settings.model_fields:
        put(f"RISKLOOP_{field.upper()}", getattr(s, field))
    return env


def settings_table() -> str:
    """The README's configuration table, generated from the fields above (a test keeps the
    README equal to it): environment variable, default, meaning."""
    rows = ["| environment variable | default | meaning |", "|---|---|---|"]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name.upper()}__")
                continue
            default = field.get_default(call_default_factory=True)
            if isinstance(default, SecretStr):
                default = "(secret)" if default.get_secret_value() else ""
            if isinstance(default, Path):
                default = _relative(default)
            if isinstance(default, str) and str(PROJECT_ROOT) in default:
                default = default.replace(str(PROJECT_ROOT), ".")
            shown = "" if default is None else str(default)
            rows.append(f"| `{prefix}{name.upper()}` | `{shown}` | {field.description or ''} |")

    walk(Settings, "RISKLOOP_")
    return "\n".join(rows)


def _relative(path: Path) -> str:
    """A default path as the README shows it: relative to the checkout, wherever that is."""
    for root, shown in ((PROJECT_ROOT, "./"), (PROJECT_ROOT.parent, "../")):
        if path.is_relative_to(root):
            return shown + str(path.relative_to(root))
    return str(path)
