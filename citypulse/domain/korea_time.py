"""Korea Standard Time: UTC+9 all year (no daylight saving since 1988)."""

from __future__ import annotations

from datetime import timedelta, timezone

KST = timezone(timedelta(hours=9), "KST")
