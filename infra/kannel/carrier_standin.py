"""A tiny SMSC that stands in for the carrier on one machine.

Kannel's bearerbox binds to it over SMPP 3.4 (`smsc = smpp` in kannel.conf), exactly as
it would bind to a carrier. It acknowledges each submit_sm with a message id and, a
moment later, sends a delivery receipt deliver_sm, which Kannel turns into the DLR it
calls our dlr-url with. Kannel's own `loopback` SMSC cannot do this: it only reports
"at SMSC" (type 8) and never a final delivery.

Deterministic outcomes for tests, by destination number:
  ends in 9999 -> submit_sm refused with ESME_RINVDSTADR (Kannel: SMSC reject, 16)
  ends in 0000 -> accepted, then receipt stat:UNDELIV (Kannel: failed, 2)
  anything else -> accepted, then receipt stat:DELIVRD (Kannel: delivered, 1)
Receipts for a receiver that is not bound wait until one binds, as a real SMSC's do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count

from alerts.providers.smpp_pdu import (
    ESM_CLASS_DELIVERY_RECEIPT,
    ESM_CLASS_UDHI,
    Bind,
    BindResp,
    CommandId,
    CommandStatus,
    MessageIdResp,
    Pdu,
    ShortMessage,
    Tlv,
    TlvTag,
    encode,
    response_to,
)
from alerts.providers.smpp_receipt import Receipt, format_receipt
from alerts.providers.smpp_session import SmppLinkError, SmppSession
from alerts.providers.smpp_text import decode_text

log = logging.getLogger("carrier_standin")

REFUSE_SUFFIX = "9999"
UNDELIVERABLE_SUFFIX = "0000"
_STATE = {"DELIVRD": 2, "UNDELIV": 5}
_RECEIVERS = {CommandId.BIND_RECEIVER, CommandId.BIND_TRANSCEIVER}
_BINDS = _RECEIVERS | {CommandId.BIND_TRANSMITTER}


@dataclass(frozen=True, slots=True)
class ReceivedSms:
    message_id: str
    source: str
    destination: str
    text: str
    data_coding: int
    tlvs: tuple[Tlv, ...]


class CarrierStandin:
    def __init__(
        self,
        *,
        system_id: str = "citypulse",
        password: str = "",  # empty: any password
        receipt_delay_s: float = 0.2,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.system_id = system_id
        self.password = password
        self.receipt_delay_s = receipt_delay_s
        self.clock = clock
        self.received: list[ReceivedSms] = []
        self._ids = count(1_000_001)
        self._receivers: list[SmppSession] = []
        self._undelivered: asyncio.Queue[ShortMessage] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (pass 0 for a free one)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        self._spawn(self._deliver_receipts())
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self._receivers):
            await session.close()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Requests from the ESME arrive through SmppSession's handler hook; binds and
        # submits are not deliver_sm, so we read the first PDU (the bind) ourselves.
        from alerts.providers.smpp_session import read_pdu

        try:
            bind = await read_pdu(reader)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            writer.close()
            return
        if bind.command_id not in _BINDS or not isinstance(bind.body, Bind):
            writer.write(encode(response_to(bind, status=CommandStatus.ESME_RINVBNDSTS)))
            writer.close()
            return
        if bind.body.system_id != self.system_id or (
            self.password and bind.body.password != self.password
        ):
            writer.write(encode(response_to(bind, BindResp(), CommandStatus.ESME_RINVPASWD)))
            writer.close()
            return
        writer.write(encode(response_to(bind, BindResp("STANDIN"))))
        session = SmppSession(reader, writer, self._handle_request)
        log.info("bound %s as %s", bind.body.system_id, CommandId(bind.command_id).name)
        if bind.command_id in _RECEIVERS:
            self._receivers.append(session)
        await session.closed.wait()
        if session in self._receivers:
            self._receivers.remove(session)

    async def _handle_request(self, pdu: Pdu) -> tuple[int, MessageIdResp] | int:
        raise NotImplementedError  # replaced per session below
