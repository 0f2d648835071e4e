"""python -m alerts.watchdog: look every interval, text what flipped, keep state on disk.

It talks to the SMS gateway directly (not through the outbox): the database, the worker
or the dispatcher being down is exactly when it must still be heard.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from alerts.providers.base import DeliveryReport, OutgoingSms, SmsProvider
from alerts.providers.settings import build_provider
from alerts.watchdog import decide
from alerts.watchdog.probes import FeedProbe, heartbeats
from citypulse.domain.phones import mask_phone
from citypulse.settings import Settings
from citypulse.topics import CITY_EVENTS

log = logging.getLogger("alerts.watchdog")


def load_state(path: Path) -> decide.WatchState:
    try:
        return decide.from_json(json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, AttributeError):
        return decide.WatchState()


def save_state(path: Path, state: decide.WatchState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(decide.to_json(state)))
    os.replace(tmp, path)


async def _ignore(report: DeliveryReport) -> None:
    log.info("delivery report for %s: %s", report.message_id, report.status)


async def send_owed(state: decide.WatchState, provider: SmsProvider) -> decide.WatchState:
    for n in decide.notices(state, socket.gethostname()):
        result = await provider.send(OutgoingSms(n.message_id, n.to, n.text))
        if result.accepted or not result.retryable:
            if not result.accepted:
                log.error("gateway refused %s for %s: %s", n.kind, mask_phone(n.to), result.error)
            state = decide.told(state, n.check, n.to)
        else:
            log.warning("gateway unavailable (%s); will retry", result.error)
    return state


async def run(stop: threading.Event) -> None:
    config = Settings.from_env()
    stack, wd = config.stack, config.watchdog
    path = wd.state_file or stack.run_dir / "watchdog.json"
    provider = build_provider(config.sms, _ignore)
    feed = FeedProbe(
        stack.kafka_bootstrap, CITY_EVENTS.name(stack.topic_prefix), wd.probe_timeout_s
    )
    thresholds = wd.thresholds()
    log.info("watchdog: %s via %s to %d number(s)", thresholds, provider.name, len(wd.numbers))
    state = load_state(path)
    try:
        while not stop.is_set():
            sightings = await asyncio.to_thread(heartbeats, stack.db_conninfo, wd.probe_timeout_s)
            total = await asyncio.to_thread(feed.total) if thresholds["feed"] > 0 else None
            now = time.time()
            sightings["feed"] = decide.feed_sighting(state.feed_total, total, now)
            new = decide.step(state, sightings, now, thresholds, wd.numbers, total)
            for name, c in new.checks.items():
                if c.down != state.checks.get(name, decide.CheckState()).down:
                    log.warning("%s is %s", name, "DOWN" if c.down else "back")
            new = await send_owed(new, provider)
            if new != state:
                save_state(path, new)
            state = new
            await asyncio.to_thread(stop.wait, wd.interval_s)
    finally:
        feed.close()
        await provider.aclose()


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("kafka").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the password
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    asyncio.run(run(stop))
    return 0


if __name__ == "__main__":
    sys.exit(main())
