"""Seoul's comfort levels (AREA_CONGEST_LVL), calmest first."""

from __future__ import annotations

from typing import Literal

ComfortLabel = Literal["여유", "보통", "약간 붐빔", "붐빔"]
COMFORT_LEVELS: tuple[ComfortLabel, ...] = ("여유", "보통", "약간 붐빔", "붐빔")
