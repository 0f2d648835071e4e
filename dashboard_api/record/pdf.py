"""The record as a PDF (fpdf2, with the Nanum Gothic font for Hangul). Pure: bytes out.

A4 portrait: a heading, what the record covers, the alerts in it, then the timeline as a
table whose heading repeats on every page; page numbers in the footer. The font comes
from Debian's fonts-nanum (scripts/bootstrap.sh installs it); without it there is no
PDF (PdfFontMissing), since a record whose Korean prints as boxes helps nobody.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from dashboard_api.record.entries import kst
from dashboard_api.record.timeline import Record

FONT_DIRS = (Path("/usr/share/fonts/truetype/nanum"), Path("/usr/share/fonts/nanum"))
FONT = "NanumGothic"
TIME_W, LINE = 28.0, 3.6  # mm
KIND_KO = {
    "crowd": "인파",
    "decision": "판단",
    "acknowledgement": "확인",
    "comment": "의견",
    "resolution": "종료",
    "action": "조치",
    "notification": "대기",
    "sms": "문자",
    "delivery": "수신",
}


class PdfFontMissing(RuntimeError):
    """No Nanum Gothic font on this machine (Debian: fonts-nanum)."""


def font_files() -> tuple[Path, Path]:
    for folder in FONT_DIRS:
        regular, bold = folder / f"{FONT}.ttf", folder / f"{FONT}Bold.ttf"
        if regular.is_file():
            return regular, bold if bold.is_file() else regular
    raise PdfFontMissing(f"{FONT}.ttf not found in {', '.join(map(str, FONT_DIRS))}")


class _Document(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7)
        self.cell(0, 8, f"CityPulse · {self.page_no()}/{{nb}}", align="C")


def record_pdf(record: Record) -> bytes:
    regular, bold = font_files()
    pdf = _Document(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(record.title)
    pdf.set_creator("CityPulse")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font(FONT, "", str(regular))
    pdf.add_font(FONT, "B", str(bold))
    pdf.add_page()
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(
        0, 7, f"사후 기록 · Incident record — {record.title}", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font(FONT, size=8.5)
    pdf.multi_cell(
        0, 4.5,
        f"기간 Period: {kst(record.start)} – {kst(record.end)}\n"
        f"지역 Areas: {', '.join(record.areas)}\n"
        f"작성 Generated: {kst(record.generated_at)} by {record.generated_by}\n"
        + "".join(f"※ {n}\n" for n in record.notes),
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    pdf.ln(2)
    if record.alerts:
        _alerts_table(pdf, record)
        pdf.ln(3)
    _timeline_table(pdf, record)
    return bytes(pdf.output())


def _alerts_table(pdf: FPDF, record: Record) -> None:
    pdf.set_font(FONT, size=7.5)
    heading = FontFace(emphasis="BOLD", fill_color=(230, 233, 238))
    with pdf.table(
        col_widths=(12, 44, 20, 26, 38, 46), text_align="LEFT", line_height=3.8,
        headings_style=heading, wrapmode=WrapMode.CHAR,
    ) as table:  # fmt: skip
        table.row(["경보", "지역 Area", "단계 Stage", "규칙 Rule", "열림 Opened", "확인·종료"])
        for a in record.alerts:
            done = [a["status"]]
            if a["acknowledged_at"]:
                done.append(f"확인 {a['acknowledged_by']} {kst(a['acknowledged_at'])}")
            if a["resolved_at"]:
                done.append(f"종료 {a['resolved_by']} {kst(a['resolved_at'])}")
            table.row([
                a["alert"],
                f"{a['name_ko']} ({a['area_code']}{' / ' + a['zone_id'] if a['zone_id'] else ''})"
                f"\n{a['name_en']} · {a['district']}",
                f"{a['stage_ko']} (최고 {a['peak_stage_ko']})",
                a["rule"],
                kst(a["opened_at"]),
                "\n".join(done),
            ])  # fmt: skip


def _timeline_table(pdf: FPDF, record: Record) -> None:
    """Time, then kind, alert, who and what as one wrapped block. Lines are broken here and
    drawn with `cell`: fpdf2's own line breaking re-measures the line at every character,
    which made a 5,000-entry record take minutes."""
    pdf.set_font(FONT, "B", 7.5)
    pdf.set_fill_color(230, 233, 238)
    pdf.cell(TIME_W, 5, "시각 Time (KST)", border=1, fill=True)
    pdf.cell(0, 5, "종류 · 경보 · 누가 — 내용  Kind · alert · who — what", border=1, fill=True,
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.set_font(FONT, size=7)
    width = pdf.w - pdf.l_margin - pdf.r_margin - TIME_W - 1
    bottom = pdf.h - pdf.b_margin
    measured: dict[str, float] = {}  # the same words come back entry after entry
    for e in record.entries:
        where = f"A{e.alert_id}" if e.alert_id else e.area_code
        text = f"{KIND_KO.get(e.kind, e.kind)} {e.kind} · {where} · {e.who} — {e.text}"
        lines = wrap(pdf, text, width, measured)
        if pdf.get_y() + LINE * min(len(lines), 4) > bottom:
            pdf.add_page()
        pdf.cell(TIME_W, LINE, kst(e.at).removesuffix(" KST"))
        for line in lines:
            if pdf.get_y() + LINE > bottom:
                pdf.add_page()
            pdf.set_x(pdf.l_margin + TIME_W)
            pdf.cell(width, LINE, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    if not record.entries:
        pdf.cell(0, LINE, "기록 없음 · nothing stored for this period")


def wrap(pdf: FPDF, text: str, width: float, measured: dict[str, float] | None = None) -> list[str]:
    """Greedy word wrap by the current font's widths; a word wider than a line (a long
    Hangul run, a URL) is cut by characters. Newlines in the text are kept."""
    lines: list[str] = []
    measured = {} if measured is None else measured  # word -> width, in the current font

    def width_of(word: str) -> float:
        if word not in measured:
            measured[word] = pdf.get_string_width(word)
        return measured[word]

    space = width_of(" ")
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for word in paragraph.split(" "):
            w = width_of(word)
            if line and used + space + w <= width:
                line, used = f"{line} {word}", used + space + w
                continue
            if line:
                lines.append(line)
            line, used = "", 0.0
            while w > width:  # cut an over-long word
                cut = 1
                while cut < len(word) and pdf.get_string_width(word[: cut + 1]) <= width:
                    cut += 1
                lines.append(word[:cut])
                word = word[cut:]
                w = pdf.get_string_width(word)
            line, used = word, w
        lines.append(line)
    return lines
