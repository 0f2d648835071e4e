"""The page's stage colours: Korea's crisis-level hues, readable labels, and still told
apart by colour-blind readers (simulated with Machado et al. 2009, severity 1)."""

from __future__ import annotations

import colorsys
import itertools
import math
import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[3] / "dashboard_api" / "web"
MAP_JS = (WEB / "map.js").read_text()
CSS = (WEB / "style.css").read_text()
STAGE_COLORS = dict(
    re.findall(r'(\w+): "(#[0-9a-f]{6})"', MAP_JS.split("STAGE_COLORS = ")[1].split("}")[0])
)
CSS_VARS = dict(re.findall(r"--([a-z]+): (#[0-9a-f]{6})", CSS))
# Hue ranges in degrees: 관심 blue, 주의 yellow, 경계 orange, 심각 red (reds near 0 as negative).
NATIONAL_HUES = {
    "attention": (195, 235),
    "caution": (40, 58),
    "alert": (18, 36),
    "serious": (-12, 8),
}
CVD = {
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "tritanopia": (
        (1.255528, -0.076749, -0.178779),
        (-0.078411, 0.930809, 0.147602),
        (0.004733, 0.691367, 0.303900),
    ),
}


def rgb(hex_colour: str) -> tuple[float, ...]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))


def linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(lin: tuple[float, ...]) -> float:
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(tuple(map(linear, rgb(c)))) for c in (a, b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def lab(lin: tuple[float, ...]) -> tuple[float, float, float]:
    r, g, b = lin
    x, y, z = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.9505,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.089,
    )

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return (116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z)))


def seen_with(matrix: tuple[tuple[float, ...], ...], colour: str) -> tuple[float, ...]:
    lin = tuple(map(linear, rgb(colour)))
    return tuple(
        max(0.0, min(1.0, sum(m * c for m, c in zip(row, lin, strict=True)))) for row in matrix
    )


@pytest.mark.parametrize("stage", sorted(NATIONAL_HUES))
def test_stage_colours_are_the_national_hues(stage: str) -> None:
    h, s, _ = colorsys.rgb_to_hsv(*rgb(STAGE_COLORS[stage]))
    degrees = h * 360 - 360 if h * 360 > 300 else h * 360
    lo, hi = NATIONAL_HUES[stage]
    assert lo <= degrees <= hi and s > 0.6, (stage, STAGE_COLORS[stage], degrees)


def test_map_and_css_use_the_same_colours() -> None:
    assert set(STAGE_COLORS) == {"normal", "attention", "caution", "alert", "serious"}
    for stage, colour in STAGE_COLORS.items():
        assert CSS_VARS[stage] == colour, stage


@pytest.mark.parametrize("stage", ["normal", "attention", "caution", "alert", "serious"])
def test_stage_chip_text_is_readable(stage: str) -> None:
    rule = re.search(rf"\.chip\.stage-{stage}[^{{]*\{{([^}}]*)\}}", CSS)
    assert rule, stage
    text = re.search(r"(?<!-)color: (#[0-9a-f]{3,6})", rule.group(1))
    colour = text.group(1) if text else CSS_VARS["text"]
    colour = "#" + "".join(c * 2 for c in colour[1:]) if len(colour) == 4 else colour
    assert contrast(STAGE_COLORS[stage], colour) >= 4.5, (stage, colour)


@pytest.mark.parametrize("kind", sorted(CVD))
def test_stages_stay_apart_for_colour_blind_readers(kind: str) -> None:
    colours = {**STAGE_COLORS, "nodata": CSS_VARS["nodata"]}
    seen = {s: lab(seen_with(CVD[kind], c)) for s, c in colours.items()}
    for a, b in itertools.combinations(seen, 2):
        assert math.dist(seen[a], seen[b]) >= 12, (kind, a, b)  # CIE76 ΔE
