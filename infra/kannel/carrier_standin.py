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

A phone's reply (an MO message) is injected with `inject_mo(var_dir, sender, text)`: a
file in <var_dir>/carrier_mo/ that the stand-in sends to Kannel as a deliver_sm, as a
carrier delivers a subscriber's SMS to our short code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from alerts.providers.smpp_pdu import (
    DATA_CODING_DEFAULT,
    ESM_CLASS_DELIVERY_RECEIPT,
    ESM_CLASS_UDHI,
    REGISTERED_DELIVERY_FINAL,
    Bind,
    BindResp,
    CommandId,
    CommandStatus,
    MessageIdResp,
    Pdu,
    ShortMessage,
    Tlv,
    TlvTag,
    response_to,
)
from alerts.providers.smpp_receipt import Receipt, format_receipt
from alerts.providers.smpp_session import SmppLinkError, SmppSession
from alerts.providers.smpp_text import decode_text, encode_text

log = logging.getLogger("carrier_standin")

REFUSE_SUFFIX = "9999"
UNDELIVERABLE_SUFFIX = "0000"
_MESSAGE_STATE = {"DELIVRD": 2, "UNDELIV": 5}
_RECEIVER_BINDS = {CommandId.BIND_RECEIVER, CommandId.BIND_TRANSCEIVER}
_BINDS = _RECEIVER_BINDS | {CommandId.BIND_TRANSMITTER}
MO_SPOOL = "carrier_mo"
MO_POLL_S = 0.2


def inject_mo(var_dir: Path, sender: str, text: str, to: str = "0215880000") -> Path:
    """Have the stand-in of `var_dir` deliver an SMS from `sender` to Kannel."""
    spool = var_dir / MO_SPOOL
    spool.mkdir(exist_ok=True)
    tmp = spool / f".{uuid.uuid4().hex}"
    tmp.write_text(json.dumps({"from": sender, "to": to, "text": text}), encoding="utf-8")
    return tmp.rename(spool / f"{tmp.name[1:]}.json")


def mo_message(sender: str, to: str, text: str) -> ShortMessage:
    encoded = encode_text(text)
    # Phones send plain digits in the GSM default alphabet, Hangul in UCS-2.
    coding = DATA_CODING_DEFAULT if text.isascii() else encoded.data_coding
    return ShortMessage(
        source_addr=sender,
        destination_addr=to,
        data_coding=coding,
        short_message=encoded.payload,
    )


@dataclass(frozen=True, slots=True)
class ReceivedSms:
    smsc_message_id: str
    source: str
    destination: str
    text: str  # this segment's text, UDH removed
    data_coding: int
    tlvs: tuple[Tlv, ...]


@dataclass(frozen=True, slots=True)
class _PendingReceipt:
    sm: ShortMessage
    due: float  # loop time


class CarrierStandin:
    def __init__(
        self,
        *,
        system_id: str = "citypulse",
        password: str = "",  # empty: any password is accepted
        receipt_delay_s: float = 0.2,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        mo_spool: Path | None = None,
    ) -> None:
        self.mo_spool = mo_spool
        self.system_id = system_id
        self.password = password
        self.receipt_delay_s = receipt_delay_s
        self.clock = clock
        self.received: list[ReceivedSms] = []
        self._ids = count(1_000_001)
        self._receivers: list[SmppSession] = []
        self._receipts: asyncio.Queue[_PendingReceipt] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (pass 0 for a free one)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        self._spawn(self._send_receipts())
        if self.mo_spool is not None:
            self._spawn(self._send_spooled_mo(self.mo_spool))
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self._receivers):
            await session.close()
        for task in list(self._tasks):
            task.cancel()

    async def serve_forever(self, host: str, port: int) -> None:
        await self.start(host, port)
        assert self._server is not None  # noqa: S101 - set by start()
        await self._server.serve_forever()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bound: list[SmppSession] = []  # filled once the bind is accepted

        async def on_request(pdu: Pdu) -> Pdu | None:
            if pdu.command_id in _BINDS and isinstance(pdu.body, Bind):
                return self._bind(pdu, pdu.body, session, bound)
            if not bound:
                return response_to(pdu, status=CommandStatus.ESME_RINVBNDSTS)
            if pdu.command_id == CommandId.SUBMIT_SM and isinstance(pdu.body, ShortMessage):
                return self._submit(pdu, pdu.body)
            return None

        session = SmppSession(reader, writer, on_request)
        await session.closed.wait()
        if session in self._receivers:
            self._receivers.remove(session)

    def _bind(self, pdu: Pdu, bind: Bind, session: SmppSession, bound: list[SmppSession]) -> Pdu:
        if bound:
            return response_to(pdu, BindResp(), CommandStatus.ESME_RALYBND)
        if bind.system_id != self.system_id or (self.password and bind.password != self.password):
            log.warning("bind refused for system_id %r", bind.system_id)
            return response_to(pdu, BindResp(), CommandStatus.ESME_RINVPASWD)
        bound.append(session)
        if pdu.command_id in _RECEIVER_BINDS:
            self._receivers.append(session)
        log.info("bound %s (%s)", bind.system_id, CommandId(pdu.command_id).name)
        return response_to(pdu, BindResp("STANDIN"))

    def _submit(self, pdu: Pdu, sm: ShortMessage) -> Pdu:
        if sm.destination_addr.endswith(REFUSE_SUFFIX):
            return response_to(pdu, MessageIdResp(), CommandStatus.ESME_RINVDSTADR)
        smsc_id = str(next(self._ids))
        payload = sm.short_message
        if sm.esm_class & ESM_CLASS_UDHI and payload:
            payload = payload[payload[0] + 1 :]  # drop the concatenation header
        payload_tlv = sm.tlv(TlvTag.MESSAGE_PAYLOAD)
        if payload_tlv is not None:
            payload = payload_tlv.value
        text = decode_text(sm.data_coding, payload)
        self.received.append(
            ReceivedSms(smsc_id, sm.source_addr, sm.destination_addr, text, sm.data_coding, sm.tlvs)
        )
        log.info("accepted %s for %s (%d chars)", smsc_id, sm.destination_addr[-4:], len(text))
        if sm.registered_delivery & REGISTERED_DELIVERY_FINAL:
            stat = "UNDELIV" if sm.destination_addr.endswith(UNDELIVERABLE_SUFFIX) else "DELIVRD"
            receipt = self._receipt(smsc_id, sm, stat, text)
            due = asyncio.get_running_loop().time() + self.receipt_delay_s
            self._receipts.put_nowait(_PendingReceipt(receipt, due))
        return response_to(pdu, MessageIdResp(smsc_id))

    def _receipt(self, smsc_id: str, sm: ShortMessage, stat: str, text: str) -> ShortMessage:
        stamp = self.clock().strftime("%y%m%d%H%M")
        body = format_receipt(
            Receipt(
                id=smsc_id,
                stat=stat,
                err="000" if stat == "DELIVRD" else "001",
                sub="001",
                dlvrd="001" if stat == "DELIVRD" else "000",
                submit_date=stamp,
                done_date=stamp,
                text=text if text.isascii() else "",
            )
        )
        return ShortMessage(
            source_addr=sm.destination_addr,
            source_addr_ton=sm.dest_addr_ton,
            source_addr_npi=sm.dest_addr_npi,
            destination_addr=sm.source_addr,
            esm_class=ESM_CLASS_DELIVERY_RECEIPT,
            short_message=body.encode("ascii"),
            tlvs=(
                Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, smsc_id),
                Tlv.u8(TlvTag.MESSAGE_STATE, _MESSAGE_STATE[stat]),
            ),
        )

    async def _send_receipts(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            pending = await self._receipts.get()
            await asyncio.sleep(max(0.0, pending.due - loop.time()))
            if not await self._deliver(pending.sm):
                # Nobody bound to receive it (or it was refused): keep it, like an SMSC.
                await asyncio.sleep(0.5)
                self._receipts.put_nowait(_PendingReceipt(pending.sm, loop.time()))

    async def _send_spooled_mo(self, spool: Path) -> None:
        """Each injected reply, oldest first, once a receiver takes it."""
        spool.mkdir(parents=True, exist_ok=True)
        while True:
            for path in sorted(spool.glob("*.json"), key=lambda p: p.stat().st_mtime):
                try:
                    mo = json.loads(path.read_text(encoding="utf-8"))
                    sm = mo_message(str(mo["from"]), str(mo["to"]), str(mo["text"]))
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    log.warning("dropped a malformed MO file %s: %r", path.name, exc)
                    path.unlink(missing_ok=True)
                    continue
                if not await self._deliver(sm):
                    break  # nobody bound: try again on the next poll
                log.info("delivered an MO message from %s", sm.source_addr[-4:])
                path.unlink(missing_ok=True)
            await asyncio.sleep(MO_POLL_S)

    async def _deliver(self, sm: ShortMessage) -> bool:
        for session in list(self._receivers):
            with contextlib.suppress(SmppLinkError):
                resp = await session.request(CommandId.DELIVER_SM, sm)
                if resp.command_status == CommandStatus.ESME_ROK:
                    return True
        return False


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="SMPP carrier stand-in for Kannel")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--system-id", default="citypulse")
    parser.add_argument("--password", default="")
    parser.add_argument("--receipt-delay", type=float, default=0.2)
    parser.add_argument("--var-dir", help="the gateway var dir this stand-in belongs to")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    standin = CarrierStandin(
        system_id=args.system_id,
        password=args.password,
        receipt_delay_s=args.receipt_delay,
        mo_spool=Path(args.var_dir) / MO_SPOOL if args.var_dir else None,
    )
    asyncio.run(standin.serve_forever(args.host, args.port))


if __name__ == "__main__":
    main()
