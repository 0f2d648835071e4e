"""Settings of the API process (CITYPULSE_* variables, on top of the stack's)."""

from __future__ import annotations

from functools import lru_cache

from citypulse.config import StackSettings


class ApiSettings(StackSettings):
    worker_stale_after_s: float = 20.0  # a worker heartbeat older than this is down
    ws_client_queue_max: int = 1000  # states buffered per client before conflation
    ws_heartbeat_s: float = 15.0
    health_cache_s: float = 2.0


@lru_cache(maxsize=1)
def get_api_settings() -> ApiSettings:
    return ApiSettings()
