"""The record's PDF renders (poppler's pdftoppm draws a page that is not blank) and reads
back with the alert's area and the Korean stage name (pdftotext): the Hangul is text in
an embedded font, not boxes. poppler-utils comes with scripts/bootstrap.sh."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dashboard_api.record.pdf import record_pdf
from dashboard_api.record.timeline import Sources
from tests.unit.dashboard_api.record.record_factories import record, sources


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} missing: run scripts/bootstrap.sh (Debian poppler-utils)"
    return path


def _ink_fraction(pgm: bytes) -> float:
    """Share of pixels darker than near-white in a binary PGM (P5) page image."""
    assert pgm.startswith(b"P5")
    fields = pgm.split(maxsplit=4)  # P5, width, height, maxval, pixels
    pixels = fields[4]
    return sum(1 for p in pixels if p < 200) / len(pixels)


def test_the_pdf_renders_a_page_with_ink_and_its_text_reads_back(tmp_path: Path) -> None:
    pdf = tmp_path / "record.pdf"
    pdf.write_bytes(record_pdf(record()))
    assert pdf.read_bytes().startswith(b"%PDF-")
    first_page = ["-gray", "-r", "50", "-f", "1", "-l", "1"]
    subprocess.run([_tool("pdftoppm"), *first_page, str(pdf), str(tmp_path / "p")], check=True)
    (page,) = tmp_path.glob("p*.pgm")
    ink = _ink_fraction(page.read_bytes())
    assert 0.005 < ink < 0.5, ink  # text and table lines, not a blank or black page
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdf), "-"], check=True, timeout=60,
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    for expected in ("이태원 관광특구", "POI004", "경계", "심각", "A12", "delivery report"):
        assert expected in text, expected
    assert "+821055512347" not in text  # an operator's record: masked


@pytest.mark.parametrize("n", [0, 400])
def test_an_empty_and_a_long_record_both_render(n: int, tmp_path: Path) -> None:
    src = sources()
    many = [{**src.readings[0], "known_at": r["known_at"]} for r in src.readings] * (n // 3)
    rec = record(src=Sources(alerts=src.alerts if n else [], readings=many))
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(record_pdf(rec))
    info = subprocess.run(
        [_tool("pdfinfo"), str(pdf)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages == 1 if n == 0 else pages > 3
