"""SmppProvider: submits alerts over an SMPP 3.4 transceiver link and turns the SMSC's
delivery receipts (deliver_sm) into DeliveryReports.

Long 'sms' text goes as concatenated segments with sar_* TLVs; 'lms' goes whole in one
message_payload TLV. Every failure to submit is a SubmitResult, classified retryable
(link down, throttled, SMSC busy) or final (bad number, bad text).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from itertools import count
from typing import Literal

from pydantic import SecretStr

from alerts.providers.base import OutgoingSms, ReportSink, SubmitResult
from alerts.providers.clock import Clock, utc_now
from alerts.providers.smpp_pdu import (
    REGISTERED_DELIVERY_FINAL,
    Bind,
    CommandId,
    CommandStatus,
    MessageIdResp,
    Pdu,
    ShortMessage,
    Tlv,
    TlvTag,
    response_to,
)
from alerts.providers.smpp_receipt import report_from_deliver_sm
from alerts.providers.smpp_session import SmppLinkError, SmppSession
from alerts.providers.smpp_text import encode_text, split_segments
from citypulse.domain.phones import mask_phone

log = logging.getLogger(__name__)

# Statuses after which the same message may well go through later.
RETRYABLE_STATUSES = frozenset(
    {
        CommandStatus.ESME_RSYSERR,
        CommandStatus.ESME_RMSGQFUL,
        CommandStatus.ESME_RTHROTTLED,
        CommandStatus.ESME_RX_T_APPN,
        CommandStatus.ESME_RSUBMITFAIL,
        CommandStatus.ESME_RINVBNDSTS,
        CommandStatus.ESME_RUNKNOWNERR,
    }
)
TON_INTERNATIONAL, NPI_ISDN = 1, 1
MAX_REMEMBERED_IDS = 100_000


def is_retryable_status(status: int) -> bool:
    """Known temporary errors and vendor codes we cannot judge (0x400+) are retryable."""
    return status in RETRYABLE_STATUSES or status >= 0x400


def status_name(status: int) -> str:
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08x}"


@dataclass(frozen=True, slots=True)
class SmppConfig:
    host: str
    port: int
    system_id: str
    password: SecretStr
    system_type: str = ""
    source_addr: str = ""  # our sender number as the carrier registered it
    enquire_link_interval_s: float = 30.0
    response_timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    long_sms: Literal["sar", "payload"] = "sar"


class SmppProvider:
    name = "smpp"

    def __init__(self, config: SmppConfig, on_report: ReportSink, *, clock: Clock = utc_now):
        self._config = config
        self._on_report = on_report
        self._clock = clock
        self._session: SmppSession | None = None
        self._bind_lock = asyncio.Lock()
        self._sar_ref = count(1)
        # SMSC message id -> our message id, so receipts find their outbox row
        self._ids: OrderedDict[str, str] = OrderedDict()

    async def connect(self) -> None:
        """Bind now instead of on the first send (so receipts flow from the start)."""
        await self._bound()

    async def _bound(self) -> SmppSession:
        async with self._bind_lock:
            if self._session is not None and self._session.is_open:
                return self._session
            cfg = self._config
            session = await SmppSession.open(
                cfg.host,
                cfg.port,
                self._handle_request,
                connect_timeout_s=cfg.connect_timeout_s,
                response_timeout_s=cfg.response_timeout_s,
            )
            bind = Bind(cfg.system_id, cfg.password.get_secret_value(), cfg.system_type)
            resp = await session.request(CommandId.BIND_TRANSCEIVER, bind)
            if resp.command_status != CommandStatus.ESME_ROK:
                await session.close()
                raise SmppLinkError(f"bind_transceiver refused: {status_name(resp.command_status)}")
            session.start_keepalive(cfg.enquire_link_interval_s)
            self._session = session
            log.info("SMPP bound to %s:%d as %s", cfg.host, cfg.port, cfg.system_id)
            return session

    async def reachable(self) -> bool:
        try:
            await self._bound()
        except (OSError, TimeoutError, SmppLinkError):
            return False
        return True

    async def send(self, message: OutgoingSms) -> SubmitResult:
        try:
            session = await self._bound()
        except (OSError, TimeoutError, SmppLinkError) as exc:
            # Includes a refused bind: wrong credentials are fixed by an operator, after
            # which the same message must still go out.
            return SubmitResult.retry(f"SMPP link unavailable: {exc}")
        first_id: str | None = None
        for sm in self._short_messages(message):
            try:
                resp = await session.request(CommandId.SUBMIT_SM, sm)
            except SmppLinkError as exc:
                return SubmitResult.retry(f"submit_sm not answered: {exc}")
            if resp.command_status != CommandStatus.ESME_ROK:
                error = f"submit_sm refused: {status_name(resp.command_status)}"
                if is_retryable_status(resp.command_status):
                    return SubmitResult.retry(error)
                return SubmitResult.final(error)
            smsc_id = resp.body.message_id if isinstance(resp.body, MessageIdResp) else ""
            self._remember(smsc_id, message.message_id)
            first_id = first_id or smsc_id
        log.info(
            "SMPP accepted %s to %s as %s", message.message_id, mask_phone(message.to), first_id
        )
        return SubmitResult.ok(first_id)

    def _short_messages(self, message: OutgoingSms) -> list[ShortMessage]:
        encoded = encode_text(message.body())
        base = ShortMessage(
            destination_addr=message.to.lstrip("+"),
            dest_addr_ton=TON_INTERNATIONAL,
            dest_addr_npi=NPI_ISDN,
            source_addr=self._config.source_addr,
            registered_delivery=REGISTERED_DELIVERY_FINAL,
            data_coding=encoded.data_coding,
        )
        segments = split_segments(encoded)
        use_payload = message.kind == "lms" or self._config.long_sms == "payload"
        if len(segments) == 1:
            return [replace(base, short_message=segments[0])]
        if use_payload:
            return [replace(base, tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, encoded.payload),))]
        ref = next(self._sar_ref) % 0x10000
        return [
            replace(
                base,
                short_message=segment,
                tlvs=(
                    Tlv.u16(TlvTag.SAR_MSG_REF_NUM, ref),
                    Tlv.u8(TlvTag.SAR_TOTAL_SEGMENTS, len(segments)),
                    Tlv.u8(TlvTag.SAR_SEGMENT_SEQNUM, n),
                ),
            )
            for n, segment in enumerate(segments, start=1)
        ]

    def _remember(self, smsc_id: str, message_id: str) -> None:
        if not smsc_id:
            return
        self._ids[smsc_id] = message_id
        while len(self._ids) > MAX_REMEMBERED_IDS:
            self._ids.popitem(last=False)

    async def _handle_request(self, pdu: Pdu) -> Pdu | None:
        if pdu.command_id != CommandId.DELIVER_SM or not isinstance(pdu.body, ShortMessage):
            return None
        return response_to(pdu, MessageIdResp(""), await self._take_receipt(pdu.body))

    async def _take_receipt(self, sm: ShortMessage) -> int:
        report = report_from_deliver_sm(sm, self._ids.get, self._clock())
        if report is None:
            log.info("SMPP MO message from %s ignored", mask_phone("+" + sm.source_addr))
            return CommandStatus.ESME_ROK
        try:
            await self._on_report(report)
        except Exception:
            # A temporary error makes the SMSC send the receipt again later.
            log.exception("delivery report sink failed for %s", report.provider_message_id)
            return CommandStatus.ESME_RX_T_APPN
        return CommandStatus.ESME_ROK

    async def aclose(self) -> None:
        if self._session is not None:
            with contextlib.suppress(SmppLinkError):
                await self._session.unbind()
            self._session = None
