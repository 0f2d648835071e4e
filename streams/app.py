"""The Faust application of the stream worker: `faust -A streams.app worker`.

Everything is configured from CITYPULSE_* variables so that tests and parallel stacks run
on their own topics, consumer group and database schema.
"""

from __future__ import annotations

import faust

from streams.settings import WorkerSettings

settings = WorkerSettings()

app = faust.App(
    f"{settings.topic_prefix}-worker",
    broker=f"kafka://{settings.kafka_bootstrap}",
    store="memory://",  # the database is the system of record, not Faust tables
    autodiscover=False,
    web_enabled=False,
    producer_acks=-1,
    producer_linger_ms=5,
    broker_commit_every=1000,
    broker_commit_interval=1.0,
    consumer_auto_offset_reset="earliest",
    stream_buffer_maxsize=20000,
    topic_allow_declare=False,  # topics are declared in citypulse/topics.py
    topic_disable_leader=True,
)

# Imported for their side effect of registering agents and timers on `app`.
from streams import agents  # noqa: E402, F401, I001
from alerts import agents as alert_agents  # noqa: E402, F401
