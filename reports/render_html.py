"""The report as one print-friendly HTML file (Jinja2, everything escaped, chart inline)."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from reports.document import INDICATOR_HEADERS, Report

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "html.j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=False,
    )


def render_html(report: Report, chart_png: bytes | None) -> bytes:
    """The report as UTF-8 HTML; units' texts are escaped, never trusted as markup."""
    chart_uri = (
        "data:image/png;base64," + base64.b64encode(chart_png).decode("ascii") if chart_png else ""
    )
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(report=report, headers=INDICATOR_HEADERS, chart_uri=chart_uri)
    )
    return html.encode("utf-8")
