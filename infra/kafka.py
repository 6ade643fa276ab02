"""A real single-node Apache Kafka broker (KRaft, no ZooKeeper) from Maven Central jars.

There is no Docker engine and no Debian Kafka package on these machines, but Java 17 and Maven
are, and Maven Central has Kafka's own jars. ``infra/kafka/pom.xml`` names them; Maven copies
them into a git-ignored cache once, and every later start costs nothing. See
../shared/docs/KAFKA.md for why 3.9.1 and why these properties.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from infra.errors import InfraError
from infra.process import ServiceProcess, ensure_port_free, port_open

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from config.settings import DevStackSettings

POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
MARKER_CLASS = "kafka.Kafka"

LOG4J = """\
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaBroker=INFO
log4j.logger.kafka.server.KafkaRaftServer=INFO
"""


def _home(dev: DevStackSettings) -> Path:
    return dev.state_dir / "kafka"


def jars_dir(dev: DevStackSettings) -> Path:
    """The cache of Kafka's runtime jars, one folder per Kafka version: a version change
    fetches anew instead of mixing two versions' jars on one class path.
    """
    return dev.state_dir / f"kafka-jars-{dev.kafka_version}"


def pid_file(dev: DevStackSettings) -> Path:
    """Where the broker's pid is kept: ``dev down`` stops only a process this names and whose
    command line names our server.properties."""
    return _home(dev) / "kafka.pid"


def marker(dev: DevStackSettings) -> str:
    """What identifies our broker's command line: its own server.properties path."""
    return str(_home(dev) / "server.properties")


def _process(dev: DevStackSettings) -> ServiceProcess:
    log_file = _home(dev) / "logs" / "server.out"
    return ServiceProcess("kafka", "Kafka", pid_file(dev), log_file, marker(dev))


def require_tools() -> tuple[str, str]:
    """Paths of ``java`` and ``mvn``, or one line saying exactly what to install."""
    java, mvn = shutil.which("java"), shutil.which("mvn")
    missing = [name for name, path in (("java", java), ("mvn", mvn)) if path is None]
    if missing:
        raise InfraError(
            f"{' and '.join(missing)} not found: the local Kafka broker needs Java 17 and Maven; "
            "install them with `apt-get install -y openjdk-17-jre-headless maven`"
        )
    assert java
    assert mvn
    return java, mvn


def fetch_jars(dev: DevStackSettings) -> Path:
    """Copy Kafka's runtime jars from Maven Central into the cache (once)."""
    target = jars_dir(dev)
    done = target / ".complete"
    if done.exists():
        return target
    _, mvn = require_tools()
    target.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={target}",
        f"-Dkafka.version={dev.kafka_version}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not any(target.glob("kafka_2.13-*.jar")):
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise InfraError(
            f"Maven could not fetch Kafka {dev.kafka_version} jars from Maven Central: "
            + " | ".join(tail)
        )
    done.write_text(dev.kafka_version)
    return target


ONE_NODE = """\
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
"""
"""Broker settings of every single-node dev broker (plain and secured): one replica of each
internal topic, no rebalance delay, two threads on a two-core machine."""


def combined_node(
    protocol: str, port: int, controller_port: int, also: Mapping[str, int] | None = None
) -> str:
    """The listener part of every dev broker's server.properties (plain and secured): one node
    that is broker and controller at once, on loopback, its clients and brokers on ``protocol``
    at ``port``, the controller on ``controller_port``; ``also``: more client listeners, a
    protocol (the listener's name too) and its port each, e.g. ``{"SASL_SSL": 9096}``.

    >>> print(combined_node("PLAINTEXT", 9092, 9093).splitlines()[3])
    listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
    >>> lines = combined_node("SASL_PLAINTEXT", 9094, 9095, {"SASL_SSL": 9096}).splitlines()
    >>> print(lines[4]); print(lines[7])
    advertised.listeners=SASL_PLAINTEXT://127.0.0.1:9094,SASL_SSL://127.0.0.1:9096
    listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
    """
    clients = {protocol: port, **(also or {})}
    served = ",".join(f"{name}://127.0.0.1:{p}" for name, p in clients.items())
    mapped = ",".join(f"{name}:{name}" for name in clients)
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners={served},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners={served}
inter.broker.listener.name={protocol}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:{protocol},{mapped}
"""


def write_config(dev: DevStackSettings) -> Path:
    """server.properties and log4j.properties for a combined broker+controller on loopback."""
    root = _home(dev)
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    listeners = combined_node("PLAINTEXT", dev.kafka_port, dev.kafka_controller_port)
    props = f"""\
{listeners}log.dirs={root / "data"}
{ONE_NODE}auto.create.topics.enable=true
log.retention.hours=168
log.segment.bytes=67108864
"""
    (root / "server.properties").write_text(props)
    (root / "log4j.properties").write_text(LOG4J)
    return root / "server.properties"


def _cluster_id(root: Path) -> str:
    path = root / "cluster.id"
    if path.exists():
        return path.read_text().strip()
    cid = "-"
    while cid.startswith("-"):  # as Kafka's own Uuid.randomUuid: "-…" reads as an option
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    path.write_text(cid)
    return cid


def format_storage(java: str, jars: Path, root: Path, *extra: str, what: str = "Kafka") -> None:
    """Format the KRaft metadata log under ``root`` (a no-op once formatted); ``extra``
    arguments go to ``kafka-storage format`` (the secured broker's SCRAM users)."""
    cmd = [
        java,
        "-cp",
        f"{jars}/*",
        f"-Dlog4j.configuration=file:{root / 'log4j.properties'}",
        "kafka.tools.StorageTool",
        "format",
        f"--cluster-id={_cluster_id(root)}",
        "-c",
        str(root / "server.properties"),
        "--ignore-formatted",
        *extra,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InfraError(f"formatting {what} storage failed: {proc.stderr.strip()[-300:]}")


def broker_command(
    java: str, jars: Path, root: Path, heap: str, jvm_flags: Sequence[str]
) -> list[str]:
    """``java … kafka.Kafka <root>/server.properties``: a dev broker with its logs and log4j
    config under ``root`` and a fixed ``heap``; ``jvm_flags`` choose its collector and JIT."""
    return [
        java,
        f"-Xms{heap}",
        f"-Xmx{heap}",
        *jvm_flags,
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={root / 'logs'}",
        f"-Dlog4j.configuration=file:{root / 'log4j.properties'}",
        "-cp",
        f"{jars}/*",
        MARKER_CLASS,
        str(root / "server.properties"),
    ]


def probe(bootstrap: str, timeout: float = 2.0) -> bool:
    """True if a real Kafka AdminClient can list the broker's topics."""
    from confluent_kafka.admin import AdminClient

    host, _, port = bootstrap.split(",", maxsplit=1)[0].rpartition(":")
    if not port_open(int(port), host or "127.0.0.1"):
        return False
    try:
        admin = AdminClient(
            {"bootstrap.servers": bootstrap, "socket.timeout.ms": 1500, "log_level": 0}
        )
        admin.list_topics(timeout=timeout)
    except Exception:
        return False
    return True


def running(dev: DevStackSettings) -> int | None:
    """Our broker's pid if it is running."""
    return _process(dev).running()


def start(dev: DevStackSettings) -> str:
    """Start the broker unless ours already runs; wait until it answers. Returns a status line."""
    bootstrap = f"127.0.0.1:{dev.kafka_port}"
    if running(dev):
        _wait_ready(dev)
        return f"kafka already running on {bootstrap}"
    java, _ = require_tools()
    ensure_port_free(dev.kafka_port, "Kafka")
    ensure_port_free(dev.kafka_controller_port, "the Kafka controller")
    jars = fetch_jars(dev)
    write_config(dev)
    root = _home(dev)
    format_storage(java, jars, root)
    argv = broker_command(java, jars, root, dev.kafka_heap, ["-XX:+UseG1GC"])
    pid = _process(dev).spawn(argv)
    _wait_ready(dev, pid)
    return f"kafka started on {bootstrap} (pid {pid})"


def _wait_ready(dev: DevStackSettings, pid: int | None = None) -> None:
    """Until an AdminClient gets an answer; with ``pid``, a broker that exits fails at once."""
    _process(dev).wait_ready(
        lambda: probe(f"127.0.0.1:{dev.kafka_port}"), timeout=dev.start_timeout, pid=pid
    )


def stop(dev: DevStackSettings) -> str:
    """Stop our broker and drop its pid file; says which pid stopped or that none ran.
    A minute's grace, not the usual 30 s: a broker's clean shutdown flushes its logs first.
    """
    return _process(dev).stop(timeout=60)


def status(dev: DevStackSettings) -> tuple[bool, str]:
    """(healthy, one line) for ``riskloop dev status``: healthy means an AdminClient got
    an answer, not merely that our process is alive.
    """
    bootstrap = f"127.0.0.1:{dev.kafka_port}"
    return _process(dev).status(lambda: probe(bootstrap), bootstrap)
