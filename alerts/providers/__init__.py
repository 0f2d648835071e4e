"""SMS providers: the edge between the alert outbox and a carrier.

The dispatcher needs only `SmsProvider.send`, `OutgoingSms`, `SubmitResult`,
`DeliveryReport` and a `ReportSink`; `build_provider` picks the configured gateway.
"""

from alerts.providers.base import (
    DeliveryReport,
    DeliveryStatus,
    OutgoingSms,
    ReportSink,
    SmsProvider,
    SubmitResult,
)

__all__ = [
    "DeliveryReport",
    "DeliveryStatus",
    "OutgoingSms",
    "ReportSink",
    "SmsProvider",
    "SubmitResult",
]
