"""supervisord event listener: counts restarts and retries programs it gave up on.

A restart is a STARTING that follows EXITED (the program died after running) or BACKOFF
(it died while starting); a start from STOPPED is an operator's or the first one, not a
restart. supervisord marks a program FATAL after `startretries` failed starts; on every
TICK_60 the listener starts FATAL programs again, so a crash loop backs off to one try a
minute instead of stopping for good. Counts go to a JSON file `citypulse status` reads.

usage (from supervisord.conf): python -m citypulse.cli.restart_listener <counts-file>
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from supervisor import childutils

RESTART_FROM = frozenset({"EXITED", "BACKOFF"})


def parse_payload(payload: str) -> dict[str, str]:
    """The `key:value key:value` header line of a PROCESS_STATE event body."""
    first = payload.split("\n", 1)[0]
    return dict(item.split(":", 1) for item in first.split() if ":" in item)


def counted(counts: Mapping[str, int], event: str, body: Mapping[str, str]) -> dict[str, int]:
    """`counts` after one event: +1 for the program when the event is a restart."""
    new = dict(counts)
    name = body.get("processname")
    if event == "PROCESS_STATE_STARTING" and name and body.get("from_state") in RESTART_FROM:
        new[name] = new.get(name, 0) + 1
    return new


def save(path: Path, counts: Mapping[str, int]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(sorted(counts.items()))))
    os.replace(tmp, path)  # `status` never reads half a file


def retry_fatal(rpc: Any) -> list[str]:
    started = []
    for info in rpc.supervisor.getAllProcessInfo():
        if info["statename"] == "FATAL":
            rpc.supervisor.startProcess(f"{info['group']}:{info['name']}", False)
            started.append(info["name"])
    return started


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    counts: dict[str, int] = {}
    rpc = childutils.getRPCInterface(os.environ)
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        event = headers.get("eventname", "")
        try:
            if event.startswith("PROCESS_STATE_"):
                new = counted(counts, event, parse_payload(payload))
                if new != counts:
                    counts = new
                    save(path, counts)
            elif event == "TICK_60":
                for name in retry_fatal(rpc):
                    sys.stderr.write(f"restart-listener: {name} was FATAL; started again\n")
        except Exception as exc:  # a listener that dies stops every event; log and go on
            sys.stderr.write(f"restart-listener: {type(exc).__name__}: {exc}\n")
        sys.stderr.flush()
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
