"""The broker applies the project's size limit (issue 13): a record just under it is taken,
one just over it is refused by the broker itself, while the producer, whose own limit is
higher (citypulse/topics.py), sends both: no record is under the broker's limit but over
a producer's."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer
from kafka.errors import MessageSizeTooLargeError

from citypulse.config import StackSettings
from citypulse.topics import BROKER_MAX_MESSAGE_BYTES, PRODUCER_MAX_REQUEST_BYTES
from tests.integration.support import topic_names

pytestmark = pytest.mark.integration


def test_the_broker_takes_records_to_its_limit_and_refuses_larger(isolated: StackSettings) -> None:
    topic = topic_names(isolated)["dead-letter.v1"]
    producer = KafkaProducer(
        bootstrap_servers=isolated.kafka_bootstrap, acks="all", retries=0,
        max_request_size=PRODUCER_MAX_REQUEST_BYTES,
    )  # fmt: skip
    try:
        # The batch adds about 80 bytes of framing to the value.
        under = producer.send(topic, value=b"u" * (BROKER_MAX_MESSAGE_BYTES - 200))
        assert under.get(timeout=30).offset >= 0
        over = producer.send(
            topic, value=b"o" * (BROKER_MAX_MESSAGE_BYTES + 200)
        )  # not refused here
        with pytest.raises(MessageSizeTooLargeError):
            over.get(timeout=30)  # but by the broker
    finally:
        producer.close()
