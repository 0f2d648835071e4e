"""One bound SMPP connection: framing, sequence numbers, request/response matching,
enquire_link keepalive and answers to what the SMSC sends us.

The provider (smpp.py) decides what to submit; this module only moves PDUs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from itertools import count

from alerts.providers.smpp_pdu import (
    Body,
    CommandId,
    CommandStatus,
    Empty,
    Pdu,
    PduError,
    decode,
    encode,
    pdu_length,
    response_to,
)

log = logging.getLogger(__name__)

# Answers a request the peer sent (deliver_sm to an ESME, bind/submit_sm to an SMSC);
# None means "not supported here" and is answered with generic_nack.
RequestHandler = Callable[[Pdu], Awaitable[Pdu | None]]


class SmppLinkError(ConnectionError):
    """The link is down or the peer did not answer in time."""


async def read_pdu(reader: asyncio.StreamReader) -> Pdu:
    head = await reader.readexactly(4)
    rest = await reader.readexactly(pdu_length(head) - 4)
    return decode(head + rest)


class SmppSession:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_request: RequestHandler,
        *,
        response_timeout_s: float = 10.0,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_request = on_request
        self._timeout = response_timeout_s
        self._sequence = count(1)
        self._pending: dict[int, asyncio.Future[Pdu]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = asyncio.Event()
        self._spawn(self._read_loop())

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        on_request: RequestHandler,
        *,
        connect_timeout_s: float = 5.0,
        response_timeout_s: float = 10.0,
    ) -> SmppSession:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), connect_timeout_s
        )
        return cls(reader, writer, on_request, response_timeout_s=response_timeout_s)

    @property
    def is_open(self) -> bool:
        return not self.closed.is_set()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def request(self, command_id: int, body: Body | None = None) -> Pdu:
        """Send a request PDU and wait for its response (or generic_nack)."""
        if self.closed.is_set():
            raise SmppLinkError("SMPP link is closed")
        seq = next(self._sequence)
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        self._pending[seq] = future
        try:
            await self._write(Pdu(command_id, seq, 0, body or Empty()))
            return await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except TimeoutError as exc:
            raise SmppLinkError(f"no response to 0x{command_id:08x} in {self._timeout}s") from exc
        finally:
            self._pending.pop(seq, None)

    async def _write(self, pdu: Pdu) -> None:
        try:
            self._writer.write(encode(pdu))
            await self._writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            await self.close()
            raise SmppLinkError(f"SMPP write failed: {exc}") from exc

    async def _read_loop(self) -> None:
        try:
            while True:
                pdu = await read_pdu(self._reader)
                if pdu.is_response:
                    future = self._pending.get(pdu.sequence_number)
                    if future is not None and not future.done():
                        future.set_result(pdu)
                    continue
                # Answered in its own task so a slow report sink never stalls our submits
                self._spawn(self._answer_quietly(pdu))
        except (asyncio.IncompleteReadError, ConnectionError, PduError) as exc:
            log.info("SMPP link closed: %s", exc or type(exc).__name__)
        finally:
            await self.close()

    async def _answer_quietly(self, pdu: Pdu) -> None:
        with contextlib.suppress(SmppLinkError):
            await self._answer(pdu)

    async def _answer(self, pdu: Pdu) -> None:
        if pdu.command_id == CommandId.ENQUIRE_LINK:
            await self._write(response_to(pdu))
        elif pdu.command_id == CommandId.UNBIND:
            await self._write(response_to(pdu))
            await self.close()
        else:
            answer = await self._on_request(pdu)
            if answer is None:
                answer = Pdu(
                    CommandId.GENERIC_NACK, pdu.sequence_number, CommandStatus.ESME_RINVCMDID
                )
            await self._write(answer)

    async def keepalive(self, interval_s: float) -> None:
        """enquire_link every interval_s; a missing answer closes the link."""
        while not self.closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closed.wait(), interval_s)
                return
            try:
                await self.request(CommandId.ENQUIRE_LINK)
            except SmppLinkError:
                log.warning("SMPP enquire_link unanswered; closing the link")
                await self.close()

    def start_keepalive(self, interval_s: float) -> None:
        self._spawn(self.keepalive(interval_s))

    async def unbind(self) -> None:
        with contextlib.suppress(SmppLinkError):
            await self.request(CommandId.UNBIND)
        await self.close()

    async def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(SmppLinkError("SMPP link closed"))
        self._writer.close()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._writer.wait_closed()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
