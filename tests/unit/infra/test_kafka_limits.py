"""The broker's size limit and the producers' agree (issue 13): a record the broker took
can always be sent on, so none is "under the broker's limit but over the producer's"."""

from __future__ import annotations

from pathlib import Path

from citypulse.config import StackSettings
from citypulse.topics import BROKER_MAX_MESSAGE_BYTES
from infra.kafka.broker import server_properties
from streams.batch import DEAD_LETTER_MAX_DETAIL, DEAD_LETTER_MAX_KEY, DEAD_LETTER_MAX_VALUE
from streams.settings import WorkerSettings
from streams.worker import build_app


def _properties(tmp_path: Path) -> dict[str, str]:
    text = server_properties(StackSettings(var_dir=tmp_path)).read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_the_broker_takes_no_record_the_worker_could_not_send_on(tmp_path: Path) -> None:
    broker_limit = int(_properties(tmp_path)["message.max.bytes"])
    assert broker_limit == BROKER_MAX_MESSAGE_BYTES
    app = build_app(StackSettings(var_dir=tmp_path))
    producer_limit = app.conf.producer_max_request_size
    # The largest record the broker accepts, sent on with a dead letter's headers.
    headers = 8 * 64 + DEAD_LETTER_MAX_DETAIL + DEAD_LETTER_MAX_KEY
    assert producer_limit >= broker_limit + headers
    # and the consumer can fetch any record the broker took
    assert WorkerSettings().consumer_max_fetch_bytes >= broker_limit
    assert broker_limit > DEAD_LETTER_MAX_VALUE  # a dead letter is cut well under it
