"""The API process's cyclic garbage collector: short full collections with many clients.

Why: a full (generation 2) collection walks every tracked object, about 93 per websocket
connection (uvicorn, Starlette, websockets, asyncio). At 10,000 clients that is 930,000
objects and a pause of the event loop of 0.94 s (bench/ws_fanout.py with a gc.callbacks
timer, docs/benchmarks.md): every client's frames wait that long, and issue 18's p99 of
1 s is missed whenever such a pause falls in the window. CPython starts a full collection
whenever the objects that survived since the last one reach a quarter of the old
generation, so a growing heap gets them at every 25 % of growth, each longer than the
last.

What this does: objects that survived a full collection are moved out of the collector's
reach (gc.freeze) at most every FREEZE_EVERY_S, so a full collection walks only what was
allocated since, not the whole heap. The cost of freezing: a frozen object is freed by
reference counting as before, but a reference cycle of frozen objects is never collected,
and a closed connection leaves about 57 objects in cycles (measured). So everything is
thawed (gc.unfreeze) once as many clients have left as are connected (at least
MIN_CHURN), and at least every THAW_EVERY_S for whatever else was frozen while in use:
the next full collection then walks everything once, as every one did before, collects
what was left, and what survives is frozen again. What leaks between thaws is bounded
by that churn and that time (tests/unit/dashboard_api/test_gcpolicy.py churns
connections to show it). Not the growth of the frozen set: a connection storm grows it
with live objects, and a thaw then would cost the long pauses this is here to avoid.

Called by the API's lifespan (dashboard_api/main.py) and by bench/ws_fanout.py, never at
import: it is process-wide.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

OLDEST = 2  # CPython's generations: 0, 1 and 2
FREEZE_EVERY_S = 5.0
MIN_CHURN = 1000  # clients
THAW_EVERY_S = 3600.0


class GcPolicy:
    """Installed once per process, from start-up; uninstall() leaves gc as it was."""

    def __init__(
        self,
        departed: Callable[[], int],
        present: Callable[[], int],
        *,
        freeze_every_s: float = FREEZE_EVERY_S,
        min_churn: float = MIN_CHURN,
        thaw_every_s: float = THAW_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """departed: clients that have left since start (a counter); present: connected."""
        self._departed, self._present = departed, present
        self.freeze_every_s = freeze_every_s
        self.min_churn = min_churn
        self.thaw_every_s = thaw_every_s
        self._clock = clock
        self._last_freeze = self._last_thaw = 0.0
        self._departed_at_thaw = 0
        self._thawed = False  # unfrozen; the next full collection walks everything
        self.freezes = 0
        self.thaws = 0
        self.installed = False

    def install(self) -> None:
        if self.installed:
            return
        # What start-up built (modules, routes, settings) lives as long as the process.
        gc.collect()
        gc.freeze()
        self._last_freeze = self._last_thaw = self._clock()
        self._departed_at_thaw = self._departed()
        gc.callbacks.append(self._after_collection)
        self.installed = True

    def uninstall(self) -> None:
        if not self.installed:
            return
        gc.callbacks.remove(self._after_collection)
        gc.unfreeze()
        self.installed = False

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        # Runs inside the collector, right after a collection: gc.collect() would do
        # nothing here, but freeze and unfreeze only move the generations' lists.
        if phase != "stop" or info["generation"] != OLDEST:
            return
        if self._thawed:  # this collection walked everything: what survived is live
            gc.freeze()
            self._thawed = False
            self._last_freeze = self._clock()
            self.freezes += 1
            return
        now = self._clock()
        if now - self._last_freeze < self.freeze_every_s:
            return
        self._last_freeze = now
        churn = self._departed() - self._departed_at_thaw
        if (
            churn > max(self.min_churn, self._present())
            or now - self._last_thaw >= self.thaw_every_s
        ):
            gc.unfreeze()  # into the old generation, which the next full collection walks
            self._thawed = True
            self._last_thaw = now
            self._departed_at_thaw = self._departed()
            self.thaws += 1
            return
        gc.freeze()
        self.freezes += 1
