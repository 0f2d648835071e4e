"""Install, format, start and stop a single-node Apache Kafka (KRaft) on loopback.

The broker jars come from Maven Central through `infra/kafka/pom.xml` and are copied to
`<var>/kafka/lib/<version>/`; the broker runs on the machine's Java 17.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from citypulse.config import StackSettings
from citypulse.kafka_nodes import topic_replication
from citypulse.processes import Daemon, ProcessError, port_open, require_port_free, wait_until
from citypulse.topics import ALL_TOPICS, BROKER_MAX_MESSAGE_BYTES, TopicSpec

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
MIN_JAVA = 17


def daemon(settings: StackSettings) -> Daemon:
    return Daemon("kafka", settings.run_dir, settings.log_dir)


def lib_dir(settings: StackSettings) -> Path:
    return settings.var_dir / "kafka" / "lib" / settings.kafka_version


def data_dir(settings: StackSettings) -> Path:
    return settings.var_dir / "kafka" / "data"


def check_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise ProcessError(
            "Kafka needs Java 17 or newer and `java` is not on PATH. "
            "Install it with: apt-get install -y openjdk-17-jre-headless"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)  # noqa: S603
    m = re.search(r'version "(\d+)', out.stderr + out.stdout)
    if m is None or int(m.group(1)) < MIN_JAVA:
        raise ProcessError(f"Kafka needs Java {MIN_JAVA}+; found: {out.stderr.strip()[:120]}")
    return java


def install(settings: StackSettings) -> Path:
    """Resolve the broker jars with Maven unless this version is already in place."""
    target = lib_dir(settings)
    marker = target / ".complete"
    if marker.exists():
        return target
    check_java()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ProcessError(
            "Resolving Kafka needs Maven and `mvn` is not on PATH. "
            "Install it with: apt-get install -y maven"
        )
    target.mkdir(parents=True, exist_ok=True)
    log.info("resolving Apache Kafka %s from Maven Central", settings.kafka_version)
    cmd = [
        mvn, "-q", "-B", "-f", str(HERE / "pom.xml"),
        f"-Dkafka.version={settings.kafka_version}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={target}", "-DincludeScope=runtime",
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if res.returncode != 0 or not any(target.glob("kafka_2.13-*.jar")):
        raise ProcessError(
            "Could not download Apache Kafka from Maven Central "
            f"(mvn exit {res.returncode}). Check that Maven Central is reachable and "
            f"CITYPULSE_KAFKA_VERSION={settings.kafka_version} exists.\n"
            + (res.stdout + res.stderr)[-2000:]
        )
    marker.write_text(settings.kafka_version)
    return target


def server_properties(settings: StackSettings) -> Path:
    props = settings.var_dir / "kafka" / "server.properties"
    props.parent.mkdir(parents=True, exist_ok=True)
    host, port, cport = settings.kafka_host, settings.kafka_port, settings.kafka_controller_port
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{host}:{cport}",
                f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}",
                f"advertised.listeners=PLAINTEXT://{host}:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={data_dir(settings)}",
                # One node: every internal topic has a single replica.
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "group.initial.rebalance.delay.ms=0",
                # Topics are declared in citypulse/topics.py and created explicitly.
                "auto.create.topics.enable=false",
                "num.partitions=4",
                # The producers' max request size is set from the same constant (topics.py).
                f"message.max.bytes={BROKER_MAX_MESSAGE_BYTES}",
                "log.retention.check.interval.ms=60000",
                "log.cleaner.backoff.ms=5000",
                "",
            ]
        )
    )
    return props


def _classpath(settings: StackSettings) -> str:
    return f"{lib_dir(settings)}/*"


def new_cluster_id() -> str:
    """A random KRaft cluster id. One that starts with '-' would be read by kafka-storage's
    argument parser as an option (1 in 64 ids; it failed a test set-up once), so, as
    Kafka's own Uuid.randomUuid does, draw again."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def format_storage(settings: StackSettings, java: str) -> None:
    if (data_dir(settings) / "meta.properties").exists():
        return  # formatted before: keep the data
    data_dir(settings).mkdir(parents=True, exist_ok=True)
    cluster_id = new_cluster_id()
    cmd = [
        java, "-cp", _classpath(settings), "kafka.tools.StorageTool", "format",
        "-t", cluster_id, "-c", str(server_properties(settings)), "--ignore-formatted",
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if res.returncode != 0:
        raise ProcessError(f"Formatting Kafka storage failed:\n{(res.stdout + res.stderr)[-2000:]}")


def require_ports_free(settings: StackSettings) -> None:
    require_port_free(settings.kafka_host, settings.kafka_port, "Kafka", "CITYPULSE_KAFKA_PORT")
    require_port_free(
        settings.kafka_host,
        settings.kafka_controller_port,
        "Kafka controller",
        "CITYPULSE_KAFKA_CONTROLLER_PORT",
    )


def prepare(settings: StackSettings) -> list[str]:
    """Install the jars, write the properties, format the storage once; return the argv
    that runs the broker in the foreground until SIGTERM (a clean, controlled shutdown)."""
    java = check_java()
    install(settings)
    props = server_properties(settings)
    format_storage(settings, java)
    return [
        java, f"-Xmx{settings.kafka_heap_mb}m", f"-Xms{settings.kafka_heap_mb // 2}m",
        "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={HERE / 'log4j2.yaml'}",
        "-cp", _classpath(settings), "kafka.Kafka", str(props),
    ]  # fmt: skip


def is_ready(settings: StackSettings) -> bool:
    nodes = settings.kafka_nodes  # in HA mode any of the three will do
    return any(port_open(n.host, n.port) for n in nodes) and _broker_ready(settings)


def start(settings: StackSettings, timeout_s: float = 90.0) -> int:
    """Start the broker detached with a pid file (tests, `citypulse kafka start`; `up`
    runs the same argv under supervisord instead)."""
    d = daemon(settings)
    if (pid := d.pid()) is not None:
        return pid
    require_ports_free(settings)
    argv = prepare(settings)
    pid = d.start(argv, marker=argv[-1])
    try:
        wait_until(
            lambda: is_ready(settings), timeout_s, "Kafka", f"See {d.log_file}:\n{d.log_tail()}"
        )
    except ProcessError:
        d.stop(5)
        raise
    return pid


def _broker_ready(settings: StackSettings) -> bool:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=3000
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def stop(settings: StackSettings) -> bool:
    return daemon(settings).stop(timeout_s=60)


def ensure_topics(
    settings: StackSettings, specs: tuple[TopicSpec, ...] = ALL_TOPICS, prefix: str | None = None
) -> list[str]:
    """Create the project's topics if missing; return their names. Idempotent."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    prefix = prefix or settings.topic_prefix
    replicas, ha_config = topic_replication(settings.ha)  # HA: 3 replicas, 2 in sync
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=20000)
    try:
        existing = set(admin.list_topics())
        missing = [s for s in specs if s.name(prefix) not in existing]
        for spec in missing:
            # Another process may create it in between: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                config = {**spec.config(), **ha_config}
                admin.create_topics(
                    [NewTopic(spec.name(prefix), spec.partitions, replicas, topic_configs=config)]
                )
        return [s.name(prefix) for s in specs]
    finally:
        admin.close()


def delete_topics(settings: StackSettings, names: list[str]) -> None:
    from kafka import KafkaAdminClient
    from kafka.errors import UnknownTopicOrPartitionError

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=20000)
    try:
        admin.delete_topics(names)
    except UnknownTopicOrPartitionError:
        pass
    finally:
        admin.close()
