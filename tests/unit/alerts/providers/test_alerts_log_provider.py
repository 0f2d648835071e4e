"""LogProvider and the shared value types."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from alerts.providers.base import DeliveryReport, OutgoingSms, SmsProvider
from alerts.providers.log_provider import LOG_ONLY_STATUS, LogProvider

NOW = datetime(2025, 12, 24, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"message_id": "1", "to": "01012345678", "text": "x"}, "E.164"),
        ({"message_id": "1", "to": "+82 10 1234", "text": "x"}, "E.164"),
        ({"message_id": "", "to": "+821012345678", "text": "x"}, "message_id"),
        ({"message_id": "1", "to": "+821012345678", "text": ""}, "text"),
    ],
)
def test_outgoing_sms_validates(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        OutgoingSms(**kwargs)  # type: ignore[arg-type]


async def test_log_provider_logs_masked_and_reports_delivered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reports: list[DeliveryReport] = []

    async def sink(report: DeliveryReport) -> None:
        reports.append(report)

    provider = LogProvider(sink, clock=lambda: NOW)
    assert isinstance(provider, SmsProvider)
    with caplog.at_level(logging.INFO, logger="alerts.providers.log_provider"):
        result = await provider.send(OutgoingSms("7", "+821012345678", "[경계] 성수 카페거리"))
        await provider.aclose()
    assert (result.accepted, result.provider_message_id) == (True, "log-1")
    assert reports == [DeliveryReport("7", "delivered", LOG_ONLY_STATUS, NOW, "log-1")]
    assert "+82******5678" in caplog.text and "12345678" not in caplog.text


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({}, "log"),
        ({"CITYPULSE_SMS_PROVIDER": "kannel"}, "kannel"),
        ({"CITYPULSE_SMS_PROVIDER": "smpp"}, "smpp"),
    ],
)
def test_build_provider_from_env(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str
) -> None:
    from alerts.providers.settings import SmsSettings, build_provider

    monkeypatch.delenv("CITYPULSE_SMS_PROVIDER", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    async def sink(report: DeliveryReport) -> None:
        return None

    assert build_provider(SmsSettings(), sink).name == name
