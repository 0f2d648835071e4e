"""Stack-wide settings: where each service listens and where runtime files live.

One pydantic-settings class read from `CITYPULSE_*` environment variables: the `stack`
section of the root settings (citypulse/settings.py). Every process reads it; the other
sections live beside the code they configure.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from citypulse.kafka_nodes import KafkaNode, kafka_nodes
from citypulse.sim_clock import Clock, SimulatedClock, wall_clock

REPO_ROOT = Path(__file__).resolve().parents[1]
SIMULATED_FEEDS = ("population_estimate", "zone_count", "environment_reading")
DEV_DB_PASSWORD = "citypulse-dev"  # noqa: S105 - development default, refused in production


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYPULSE_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    var_dir: Path = REPO_ROOT / "var"
    # CITYPULSE_HA=1: high-availability mode, two sites on this machine (docs/operations.md).
    ha: bool = False

    kafka_host: str = "127.0.0.1"
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    # Set: the clients' bootstrap list as it is (hosts of a real two-site cluster, deploy/kafka/);
    # empty: the address of the node this machine runs, or in HA mode of its three.
    kafka_servers: str = ""
    kafka_version: str = "4.1.1"
    kafka_heap_mb: int = 768
    topic_prefix: str = "citypulse"

    db_host: str = "127.0.0.1"
    db_port: int = 15432
    db_name: str = "citypulse"
    db_user: str = "citypulse"
    db_password: SecretStr = SecretStr(DEV_DB_PASSWORD)
    db_schema: str = "public"
    pg_data_dir: Path | None = None  # default: <var_dir>/pg/data

    # HA mode: site b's PostgreSQL (a hot standby, or the primary after a failover; site a
    # is db_host:db_port) and pg_auto_failover's monitor, which decides the failover.
    db_standby_host: str = ""  # default: db_host (both sites on this machine)
    db_standby_port: int = 15433
    db_monitor_port: int = 15434
    # HA mode: HAProxy listens on api_port and balances the API processes of sites a and b.
    api_port_a: int = 8001
    api_port_b: int = 8002

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Per-message deflate costs ~80 µs per frame and client on the API's one event loop:
    # with it, 5,000 viewers miss the 1 s delivery target (docs/benchmarks.md).
    api_ws_deflate: bool = False

    # Log lines as text or one JSON object each (citypulse/logs.py).
    log_format: Literal["text", "json"] = "text"
    # Where the worker and dispatcher serve /metrics (the API serves its own on api_port).
    # Loopback by default; a Prometheus on another host needs 0.0.0.0 or the site address.
    metrics_host: str = "127.0.0.1"
    # Above the workers' 9464-9479 (CITYPULSE_WORKERS is at most 16); 0: no metrics server.
    dispatch_metrics_port: int = Field(default=9480, ge=0, le=65535)

    worker_id: str = "worker-1"
    # Stream workers `up` starts in the one consumer group. One holds a core at about
    # 16,000-18,000 events/s; two reach 22,000-28,000 on this 2-core machine (docs/benchmarks.md).
    workers: int = Field(default=1, ge=1, le=16)
    # The `up` simulator drives the first `simulate_areas` hotspots of the registry and
    # sends only these event kinds: leaving one out rehearses a feed silent from the start
    # (population_estimate: Seoul's telecom estimates; zone_count; environment_reading).
    simulate_areas: int = Field(default=120, ge=1)
    simulate_feeds: str = "population_estimate,zone_count,environment_reading"
    # A drill (citypulse/cli/drill.py) sets these for the processes it starts: its id, and
    # the simulated clock they read instead of the wall clock (citypulse/sim_clock.py).
    drill_id: str = ""
    clock_sim_start: datetime | None = None
    clock_wall_start: float | None = None
    clock_speed: float = Field(default=1.0, gt=0)

    @field_validator("simulate_feeds")
    @classmethod
    def _known_feeds(cls, value: str) -> str:
        kinds = [k.strip() for k in value.split(",") if k.strip()]
        unknown = sorted(set(kinds) - set(SIMULATED_FEEDS))
        if unknown:
            known = ", ".join(SIMULATED_FEEDS)
            raise ValueError(f"CITYPULSE_SIMULATE_FEEDS: unknown {unknown}, known: {known}")
        return ",".join(kinds)

    @model_validator(mode="after")
    def _no_dev_secret_in_production(self) -> StackSettings:
        if self.env == "production" and self.db_password.get_secret_value() == DEV_DB_PASSWORD:
            raise ValueError("CITYPULSE_DB_PASSWORD must be set in production")
        return self

    @model_validator(mode="after")
    def _clock_both_or_neither(self) -> StackSettings:
        if (self.clock_sim_start is None) != (self.clock_wall_start is None):
            raise ValueError("CITYPULSE_CLOCK_SIM_START and CITYPULSE_CLOCK_WALL_START go together")
        if self.clock_sim_start is not None and self.clock_sim_start.tzinfo is None:
            raise ValueError("CITYPULSE_CLOCK_SIM_START needs a UTC offset")
        return self

    def clock(self) -> Clock:
        """The wall clock, or the drill's simulated one when CITYPULSE_CLOCK_* are set."""
        if self.clock_sim_start is None or self.clock_wall_start is None:
            return wall_clock
        return SimulatedClock(self.clock_sim_start, self.clock_wall_start, self.clock_speed)

    @model_validator(mode="after")
    def _kafka_nodes_fit(self) -> StackSettings:
        self.kafka_nodes  # noqa: B018 - HA mode's derived ports must all differ
        return self

    @property
    def kafka_nodes(self) -> tuple[KafkaNode, ...]:
        """The one Kafka node, or in HA mode the three (citypulse/kafka_nodes.py)."""
        return kafka_nodes(self.ha, self.kafka_host, self.kafka_port, self.kafka_controller_port)

    @property
    def kafka_bootstrap(self) -> str:
        """Every node's address, comma-separated: a client reaches the cluster through
        whichever answers (in HA mode, with any one node down)."""
        if self.kafka_servers.strip():
            return ",".join(s.strip() for s in self.kafka_servers.split(",") if s.strip())
        return ",".join(node.address for node in self.kafka_nodes)

    @property
    def db_conninfo(self) -> str:
        return (
            f"host={self.db_hosts} port={self.db_ports} dbname={self.db_name} "
            f"user={self.db_user} password={self.db_password.get_secret_value()} "
            f"options='-c search_path={self.db_schema},public' application_name=citypulse"
            + self.db_ha_options
        )

    @property
    def db_hosts(self) -> str:
        """libpq's host list: in HA mode both sites, tried in turn."""
        if not self.ha:
            return self.db_host
        return f"{self.db_host},{self.db_standby_host or self.db_host}"

    @property
    def db_ports(self) -> str:
        return f"{self.db_port},{self.db_standby_port}" if self.ha else str(self.db_port)

    @property
    def db_ha_options(self) -> str:
        # Only the writable node will do (a standby answers, then is skipped); a site that
        # does not answer at all is given up after connect_timeout (per host) for the next.
        return " target_session_attrs=read-write connect_timeout=5" if self.ha else ""

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    def topic(self, suffix: str) -> str:
        return f"{self.topic_prefix}.{suffix}"
