import base64
from unittest import mock

from infra.kafka import broker


def test_a_cluster_id_never_starts_with_a_dash() -> None:
    # The first draw encodes to '-...' (0xf8 >> 2 = 62, urlsafe '-'); the second does not.
    dashed = mock.Mock(bytes=bytes([0xF8]) + bytes(15))
    plain = mock.Mock(bytes=bytes(16))
    with mock.patch.object(broker.uuid, "uuid4", side_effect=[dashed, plain]):
        cluster_id = broker.new_cluster_id()
    assert cluster_id == base64.urlsafe_b64encode(bytes(16)).rstrip(b"=").decode()
    assert len(cluster_id) == 22
