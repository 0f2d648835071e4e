"""Websocket fan-out of one API process: N clients on /ws/live, 100 area updates/s.

The server is the API's own /ws/live route and AreaStateHub in one uvicorn process, fed
in process at --rate states/s over the 120 hotspots (no Kafka, so the figure is the
fan-out alone). Each state carries its send time; probe clients (every 10th) record
delivery latency per state. One deliberately slow client connects and never reads: its
queue must stay bounded (conflated per area) and the others must not slow down.
Clients run in separate processes from the server.

    .venv/bin/python bench/ws_fanout.py [--quick] [--clients 1000,5000] [--seconds 20]

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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

PROBE_EVERY = 10


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve(port: int, rate: float) -> None:
    """The API process: /ws/live from dashboard_api, fed `rate` states per second."""
    import uvicorn
    from fastapi import FastAPI

    from dashboard_api.api.routes import live
    from dashboard_api.live.hub import AreaStateHub
    from sensors.registry import load_hotspots

    codes = [h.code for h in load_hotspots()]
    hub = AreaStateHub("unused", "unused", {h.code: h.district for h in load_hotspots()})
    app = FastAPI()
    app.include_router(live.router)
    app.state.hub = hub

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
        queues = [len(c.queue) for c in hub.clients]
        return {
            "rss_kb": rss_kb,
            "clients": len(hub.clients),
            "max_pending": max(queues or [0]),
            "conflated": hub.conflated_total(),
            "published": hub.states_received,
        }

    @app.on_event("startup")
    async def start_feed() -> None:
        app.state.feed = asyncio.create_task(feed())

    _raise_fd_limit()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=16384)


async def _clients(port: int, count: int, first: int, seconds: float, out: Any) -> None:
    url = f"ws://127.0.0.1:{port}/ws/live?zones=false"
    latencies: list[float] = []
    measuring = {"on": False}
    received, connected = [0], [0]
    gate = asyncio.Semaphore(100)  # handshakes in flight

    async def client(i: int) -> None:
        async with gate:
            ws = await connect(url, open_timeout=300, max_size=None, ping_interval=None)
        connected[0] += 1
        probe = (first + i) % PROBE_EVERY == 0
        async for frame in ws:
            if not (probe and measuring["on"]):
                continue
            now = time.time()
            body = json.loads(frame)
            for item in body.get("items", []):
                if item.get("kind") == "state":
                    latencies.append(now - item["state"]["sent_at"])
                    received[0] += 1

    tasks = [asyncio.create_task(client(i)) for i in range(count)]
    while connected[0] < count:
        if any(t.done() for t in tasks):  # a connection failed: report it, do not hang
            failed = next(t for t in tasks if t.done())
            raise RuntimeError(f"client failed: {failed.exception()!r}")
        await asyncio.sleep(0.2)
    out.put(("connected", count))
    await asyncio.sleep(2)  # settle after the connection storm
    measuring["on"] = True
    await asyncio.sleep(seconds)
    measuring["on"] = False
    out.put(("done", latencies, received[0]))
    for t in tasks:
        t.cancel()


def client_process(port: int, count: int, first: int, seconds: float, out: Any) -> None:
    _raise_fd_limit()
    asyncio.run(_clients(port, count, first, seconds, out))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(clients: int, rate: float, seconds: float, procs: int) -> dict[str, Any]:
    connect_timeout_s = 60 + clients * 0.1
    port = _free_port()
    argv = [sys.executable, __file__, "--serve", str(port), "--rate", str(rate)]
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
        slow = await connect(f"ws://127.0.0.1:{port}/ws/live?zones=false", max_queue=1,
                             ping_interval=None, max_size=None)  # fmt: skip  # never read
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        share = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
        workers = [
            ctx.Process(target=client_process, args=(port, n, sum(share[:i]), seconds, out))
            for i, n in enumerate(share)
        ]
        for w in workers:
            w.start()
        began = time.monotonic()
        for _ in workers:  # a worker whose clients cannot connect reports no figures
            await asyncio.to_thread(out.get, True, connect_timeout_s)
        connect_s = time.monotonic() - began
        await asyncio.sleep(2 + seconds / 2)
        during = httpx.get(f"{base}/bench/stats", timeout=10).json()
        latencies: list[float] = []
        received = 0
        for _ in workers:
            _, lat, n = await asyncio.to_thread(out.get, True, seconds + 60)
            latencies += lat
            received += n
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
        "connect_s": round(connect_s, 1),
        "p50_s": round(q[49], 3),
        "p99_s": round(q[98], 3),
        "max_s": round(max(latencies, default=float("nan")), 3),
        "states_per_client_per_s": round(received / probes / seconds, 1),
        "rss_mb": round(during["rss_kb"] / 1024, 1),
        "kb_per_client": round((during["rss_kb"] - before["rss_kb"]) / clients, 1),
        "slow_client_max_pending": during["max_pending"],
        "conflated": during["conflated"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 clients, 8 s")
    parser.add_argument("--clients", default="1000,5000")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.rate)
        return
    _raise_fd_limit()
    counts = [1000] if args.quick else [int(c) for c in args.clients.split(",")]
    seconds = 8.0 if args.quick else args.seconds
    results = []
    for n in counts:
        try:
            r = asyncio.run(run(n, args.rate, seconds, args.procs))
        except queue.Empty:
            print(f"{n} clients: the clients could not all connect in time (see above)")
            results.append({"clients": n, "failed": 1})
            continue
        results.append(r)
        print(
            f"{n} clients at {args.rate:.0f} states/s: p50 {r['p50_s']} s, p99 {r['p99_s']} s, "
            f"{r['states_per_client_per_s']} states/s per client, {r['kb_per_client']} KB "
            f"per client, slow client pending {r['slow_client_max_pending']}"
        )
    summary = {f"{k}_{r['clients']}": v for r in results for k, v in r.items() if k != "clients"}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
