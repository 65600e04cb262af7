"""The report as Markdown, every unit-supplied text escaped so it stays text."""

from __future__ import annotations

import re

from reports.document import INDICATOR_HEADERS, Block, Para, ParaKind, Part, Report, Slot

# Inline characters Markdown (CommonMark, GFM tables) would read as markup or raw HTML.
_INLINE = re.compile(r"([\\`*_\[\]<>#|~&!])")
# What would start a list, a setext heading or a quote at the start of a line.
_LINE_START = re.compile(r"^(\s*|\s*\d+)([-+=>.)])")


def escape(text: str) -> str:
    """Text that renders as itself: no links, emphasis, tables or HTML from a unit's words."""
    lines = []
    for line in text.split("\n"):
        line = _INLINE.sub(r"\\\1", line)
        line = _LINE_START.sub(r"\1\\\2", line)
        lines.append(line)
    return "  \n".join(lines)  # a hard line break, as in the other formats


def _table(report: Report) -> list[str]:
    out = [
        "| " + " | ".join(INDICATOR_HEADERS) + " |",
        "|" + "|".join(["---:", ":---", ":---:", "---:", "---:", "---:", "---:"]) + "|",
    ]
    for r in report.indicator_rows:
        cells = (r.stt, r.name, r.unit_of_measure, r.goal, r.period, r.to_date, r.percent)
        out.append("| " + " | ".join(escape(c).replace("  \n", " ") for c in cells) + " |")
    return [*out, ""]


def _block(block: Block, report: Report, chart_name: str | None) -> list[str]:
    if isinstance(block, Part):
        out = ["#" * (block.level + 1) + " " + escape(block.heading), ""]
        for child in block.blocks:
            out += _block(child, report, chart_name)
        return out
    if isinstance(block, Slot):
        if block.name == "indicator_table":
            return _table(report)
        if block.name == "chart" and chart_name:
            return [f"![Biểu đồ tiến độ thực hiện các chỉ tiêu]({chart_name})", ""]
        return []
    assert isinstance(block, Para)
    text = escape(block.text)
    if block.kind is ParaKind.BULLET:
        return [f"- {text}", ""]
    if block.kind is ParaKind.SUB:
        return [f"    - {text}", ""]
    if block.kind in (ParaKind.NOTE, ParaKind.PLACEHOLDER):
        return [f"*{text}*", ""]
    return [text, ""]


def render_markdown(report: Report, chart_name: str | None = None) -> bytes:
    """The report as UTF-8 Markdown; `chart_name` is the PNG file written next to it, if any."""
    out = [
        " / ".join(escape(x) for x in (report.governing_body, *report.agency_lines) if x),
        "",
        escape(report.number_line),
        "",
        "**CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM**  ",
        "**Độc lập - Tự do - Hạnh phúc**",
        "",
        f"*{escape(report.place_date)}*",
        "",
        f"# {escape(report.title)}",
        "",
        f"**{escape(report.summary)}**",
        "",
    ]
    for block in report.body:
        out += _block(block, report, chart_name)
    out += [f"**{escape(line)}**  " for line in report.signer_title_lines]
    out += ["", f"**{escape(report.signer_name)}**", "", "***Nơi nhận:***", ""]
    out += [escape(entry) + "  " for entry in report.distribution]
    return ("\n".join(out).rstrip() + "\n").encode("utf-8")
