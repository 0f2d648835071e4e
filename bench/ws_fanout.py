"""Websocket fan-out of one API process: N clients on /ws/live, 100 area updates/s.

The server is the API's own /ws/live route and AreaStateHub in one uvicorn process, fed
in process at --rate states/s over the 120 hotspots (no Kafka, so the figure is the
fan-out alone). Each state carries its send time; probe clients (every 10th) record
delivery latency per state. One deliberately slow client connects first, with a small
receive buffer, and never reads; a burst of large states fills its socket buffers before
the others join, so during the run it is really behind. What it is owed must stay bounded
(one state per area, the newest) and the others must not slow down. Clients run in
separate processes from the server, on the same machine. uvicorn negotiates
permessage-deflate by default, as browsers do; --no-deflate measures without it.

    .venv/bin/python bench/ws_fanout.py [--quick] [--clients 1000,5000] [--seconds 20]
        [--procs 4] [--no-deflate] [--loop uvloop|asyncio]

The last line printed is a JSON object of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import queue
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.client import ClientProtocol  # noqa: E402
from websockets.extensions.permessage_deflate import (  # noqa: E402
    enable_client_permessage_deflate,
)
from websockets.frames import Frame, Opcode  # noqa: E402
from websockets.protocol import State  # noqa: E402
from websockets.uri import parse_uri  # noqa: E402

PROBE_EVERY = 10


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve(port: int, rate: float, deflate: bool, loop: str) -> None:
    """The API process: /ws/live from dashboard_api, fed `rate` states per second."""
    import uvicorn
    from fastapi import FastAPI

    from citypulse.settings import Settings
    from dashboard_api.api.routes import live
    from dashboard_api.core.gcpolicy import GcPolicy
    from dashboard_api.live.hub import AreaStateHub
    from sensors.registry import load_hotspots

    codes = [h.code for h in load_hotspots()]
    hub = AreaStateHub("unused", "unused", {h.code: h.district for h in load_hotspots()})
    app = FastAPI()
    app.include_router(live.router)
    app.state.hub = hub
    # The route reads the API's settings as create_app leaves them: pacing, heartbeats,
    # message limits from the same settings tree and environment as `citypulse up`.
    app.state.api_settings = Settings.from_env().api

    async def feed() -> None:
        tick, n, started = 0.01, 0, time.monotonic()
        while True:
            due = int((time.monotonic() - started) * rate)
            while n < due:
                code = codes[n % len(codes)]
                state = {
                    "scope": "area",
                    "area_code": code,
                    "zone_id": None,
                    "stage": "normal",
                    "density_per_m2": 1.0 + (n % 7) / 10,
                    "people": float(n),
                    "as_of": "2026-06-01T00:00:00+00:00",
                    "sent_at": time.time(),
                }
                hub.publish(code, json.dumps(state).encode())
                n += 1
            await asyncio.sleep(tick)

    @app.get("/bench/stats")
    def stats() -> dict[str, Any]:
        status = Path("/proc/self/status").read_text().splitlines()
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
        # The slow client is the one furthest behind: how many states it has not been
        # sent, and how many keys (at most one state each) it would get when it catches up.
        cursor = min((c.cursor for c in hub.clients), default=hub.seq)
        return {
            "rss_kb": rss_kb,
            "cpu_s": time.process_time(),
            "at": time.monotonic(),
            "clients": len(hub.clients),
            # written by the pacer itself (dashboard_api/live/wire.py), not via send_text
            "direct": sum(c.sink is not None for c in hub.clients),
            "max_lag_states": hub.seq - cursor,
            "max_pending_keys": len(hub.states.newer_than(cursor)),
            "conflated": hub.conflated_total(),
            "published": hub.states_received,
        }

    @app.post("/bench/burst")
    async def burst() -> None:
        """Large states while only the slow client is connected: they overflow its socket
        buffers (several MB on loopback), so during the run it really is behind."""
        pad = "x" * 20_000
        for _ in range(4):
            for code in codes:
                state = {"area_code": code, "zone_id": None, "stage": "normal", "pad": pad}
                hub.publish(code, json.dumps(state).encode())
            await asyncio.sleep(0.3)

    @app.on_event("startup")
    async def start_feed() -> None:
        app.state.feed = asyncio.create_task(feed())
        # As the API's lifespan does once started (dashboard_api/main.py).
        app.state.gc_policy = GcPolicy(lambda: hub.departed, lambda: len(hub.clients))
        app.state.gc_policy.install()

    _raise_fd_limit()
    # The loop, parser and websocket protocol `citypulse up` runs the API with
    # (citypulse/cli/stack.py).
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=16384,
                ws_per_message_deflate=deflate, loop=loop, http="httptools",
                ws="dashboard_api.live.wire:SharedFrameProtocol")  # fmt: skip


class _Viewer(asyncio.Protocol):
    """One dashboard viewer: websockets' sans-I/O client over a plain asyncio protocol.

    The library's asyncio client queues every message and wakes a reader task for it, which
    cost the client processes 1.2-1.4 of the two cores at 10,000 clients, beside the 0.4 the
    server took: the viewers, on their own machines in a control room, starved the server
    here. This reads the same frames with the same library (handshake, framing, pongs,
    permessage-deflate when negotiated) without that per-message machinery; only probes
    parse the JSON of what they receive."""

    def __init__(self, url: str, deflate: bool, probe: bool, stats: _Probes) -> None:
        self.ws = ClientProtocol(
            parse_uri(url),
            max_size=None,
            extensions=enable_client_permessage_deflate(None) if deflate else None,
        )
        self.probe, self.stats = probe, stats
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.parts: list[bytes] = []  # a fragmented text message, as it arrives

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Frame):
                if self.probe and self.stats.measuring:
                    self._measure(event)
            elif not self.opened.done():  # the handshake's response
                if self.ws.state is State.OPEN:
                    self.opened.set_result(None)
                else:
                    self.opened.set_exception(self.ws.handshake_exc or ConnectionError())
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:  # only before connection_made, which sets it
            return
        for chunk in self.ws.data_to_send():
            if chunk:
                transport.write(chunk)
            elif transport.can_write_eof():
                transport.write_eof()

    def _measure(self, frame: Frame) -> None:
        if frame.opcode not in (Opcode.TEXT, Opcode.CONT) or (
            frame.opcode is Opcode.CONT and not self.parts
        ):
            return
        self.parts.append(bytes(frame.data))
        if not frame.fin:
            return
        now = time.time()
        body = json.loads(b"".join(self.parts))
        self.parts = []
        for item in body.get("items", []):
            if item.get("kind") == "state":
                self.stats.latencies.append(now - item["state"]["sent_at"])
                self.stats.received += 1


class _Probes:
    def __init__(self) -> None:
        self.measuring = False
        self.latencies: list[float] = []
        self.received = 0


async def _clients(
    port: int, count: int, first: int, seconds: float, deflate: bool, out: Any
) -> None:
    url = f"ws://127.0.0.1:{port}/ws/live?zones=false"
    stats = _Probes()
    gate = asyncio.Semaphore(100)  # handshakes in flight
    loop = asyncio.get_running_loop()
    viewers: list[_Viewer] = []

    async def client(i: int) -> None:
        async with gate:
            probe = (first + i) % PROBE_EVERY == 0
            _, viewer = await loop.create_connection(
                lambda: _Viewer(url, deflate, probe, stats), "127.0.0.1", port
            )
            viewers.append(viewer)
            await asyncio.wait_for(viewer.opened, 600)

    tasks = [asyncio.create_task(client(i)) for i in range(count)]
    for done in asyncio.as_completed(tasks):
        await done  # a connection that failed is reported, not waited for
    out.put(("connected", count))
    await asyncio.sleep(2)  # settle after the connection storm
    stats.measuring = True
    cpu = time.process_time()
    await asyncio.sleep(seconds)
    stats.measuring = False
    out.put(("done", stats.latencies, stats.received, time.process_time() - cpu))
    for viewer in viewers:
        if viewer.transport is not None:
            viewer.transport.abort()


def client_process(
    port: int, count: int, first: int, seconds: float, deflate: bool, out: Any
) -> None:
    import uvloop

    _raise_fd_limit()
    # uvloop: the standard loop's wake-up per readable socket, in Python, was most of a
    # viewer's cost, and the viewers share the cores the server is measured on.
    uvloop.run(_clients(port, count, first, seconds, deflate, out))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _slow_client(port: int) -> Any:
    """A client that never reads, with a small receive buffer so it falls behind soon."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    url = f"ws://127.0.0.1:{port}/ws/live?zones=false"
    return await connect(url, sock=sock, max_queue=1, ping_interval=None, max_size=None,
                         compression=None)  # fmt: skip


def _loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


async def run(
    clients: int, rate: float, seconds: float, procs: int, deflate: bool, loop: str
) -> dict[str, Any]:
    connect_timeout_s = 60 + clients * 0.1
    port = _free_port()
    argv = [sys.executable, __file__, "--serve", str(port), "--rate", str(rate)]
    argv += ([] if deflate else ["--no-deflate"]) + ["--loop", loop]
    load_before = _loadavg()
    server = subprocess.Popen(argv)
    base = f"http://127.0.0.1:{port}"
    workers: list[Any] = []
    try:
        for _ in range(100):
            try:
                before = httpx.get(f"{base}/bench/stats", timeout=2).json()
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        slow = await _slow_client(port)
        httpx.post(f"{base}/bench/burst", timeout=30)
        await asyncio.sleep(2)  # the feed replaces the large states before clients join
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        share = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
        workers = [
            ctx.Process(
                target=client_process, args=(port, n, sum(share[:i]), seconds, deflate, out)
            )
            for i, n in enumerate(share)
        ]
        for w in workers:
            w.start()
        began = time.monotonic()
        for _ in workers:  # a worker whose clients cannot connect reports no figures
            await asyncio.to_thread(out.get, True, connect_timeout_s)
        connect_s = time.monotonic() - began
        await asyncio.sleep(2)
        start = httpx.get(f"{base}/bench/stats", timeout=10).json()
        await asyncio.sleep(seconds / 2)
        during = httpx.get(f"{base}/bench/stats", timeout=10).json()
        latencies: list[float] = []
        received, client_cpu_s = 0, 0.0
        for _ in workers:
            _, lat, n, cpu_s = await asyncio.to_thread(out.get, True, seconds + 60)
            latencies += lat
            received += n
            client_cpu_s += cpu_s
        for w in workers:
            w.join(10)
        await slow.close()
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
        server.terminate()
        server.wait(10)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 100 else [float("nan")] * 99
    probes = max(1, clients // PROBE_EVERY)
    return {
        "clients": clients,
        "rate_per_s": rate,
        "deflate": deflate,
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
        "connect_s": round(connect_s, 1),
        "p50_s": round(q[49], 3),
        "p99_s": round(q[98], 3),
        "max_s": round(max(latencies, default=float("nan")), 3),
        "states_per_client_per_s": round(received / probes / seconds, 1),
        "server_cpu_cores": round(
            (during["cpu_s"] - start["cpu_s"]) / (during["at"] - start["at"]), 2
        ),
        "clients_cpu_cores": round(client_cpu_s / seconds, 2),
        "rss_mb": round(during["rss_kb"] / 1024, 1),
        "kb_per_client": round((during["rss_kb"] - before["rss_kb"]) / clients, 1),
        "direct_clients": during["direct"],
        "slow_client_lag_states": during["max_lag_states"],
        "slow_client_pending_keys": during["max_pending_keys"],
        "conflated": during["conflated"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 clients, 8 s")
    parser.add_argument("--clients", default="1000,5000")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument(
        "--deflate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="permessage-deflate, as uvicorn and browsers use by default",
    )
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="the server's event loop: uvloop as the API runs; asyncio to compare",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.rate, args.deflate, args.loop)
        return
    _raise_fd_limit()
    counts = [1000] if args.quick else [int(c) for c in args.clients.split(",")]
    seconds = 8.0 if args.quick else args.seconds
    results = []
    for n in counts:
        try:
            r = asyncio.run(run(n, args.rate, seconds, args.procs, args.deflate, args.loop))
        except queue.Empty:
            print(f"{n} clients: the clients could not all connect in time (see above)")
            results.append({"clients": n, "failed": 1})
            continue
        results.append(r)
        print(
            f"{n} clients at {args.rate:.0f} states/s (load {r['loadavg_before']}): "
            f"p50 {r['p50_s']} s, p99 {r['p99_s']} s, "
            f"{r['states_per_client_per_s']} states/s per client, {r['kb_per_client']} KB "
            f"per client, slow client {r['slow_client_lag_states']} states behind "
            f"({r['slow_client_pending_keys']} keys pending), {r['direct_clients']} of "
            f"{n + 1} written directly"
        )
    summary = {f"{k}_{r['clients']}": v for r in results for k, v in r.items() if k != "clients"}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
