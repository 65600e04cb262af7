"""The progress chart: each annual target's achievement (year to date) as a PNG."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import matplotlib
from matplotlib.figure import Figure

from reports.document import ChartPoint
from wording import vietnamese as vi

ON_TRACK = "#2e7d32"
BEHIND = "#c62828"
UNKNOWN = "#9e9e9e"
LIMIT = "#212121"
SHOWN_MAX = 150.0  # longer bars are cut here and labelled with their value


def progress_chart(points: Sequence[ChartPoint], title: str) -> bytes:
    """A horizontal bar per target: % of the annual goal, pro-rata expectation marked; a
    ceiling is a marker against its limit, never a bar to fill."""
    # A bare Figure draws with the Agg canvas, no pyplot and no display; DejaVu Sans ships with
    # matplotlib and covers Vietnamese diacritics.
    with matplotlib.rc_context({"font.family": "DejaVu Sans"}):
        return _draw(points, title)


def _draw(points: Sequence[ChartPoint], title: str) -> bytes:
    # Compact, so the chart fits under the indicator table on the first page where it can.
    height = 0.8 + 0.4 * max(len(points), 1)
    fig = Figure(figsize=(7.5, height), dpi=150)
    ax = fig.add_subplot()
    labels = [textwrap.shorten(p.label, 60, placeholder="…") for p in points]
    labels = [textwrap.fill(label, 34) for label in labels]
    ys = list(range(len(points)))[::-1]
    for y, p in zip(ys, points, strict=True):
        colour = UNKNOWN if p.on_track is None else ON_TRACK if p.on_track else BEHIND
        label = vi.percent(p.percent)
        if p.ceiling:
            # A limit not to pass: the limit as a bar end, the year to date as a marker.
            ax.plot([100, 100], [y - 0.4, y + 0.4], color=LIMIT, lw=3)
            ax.plot(min(p.percent, SHOWN_MAX), y, marker="D", color=colour, markersize=7)
            label += " ngưỡng"
        else:
            ax.barh(y, min(p.percent, SHOWN_MAX), color=colour, height=0.65)
        ax.text(
            min(max(p.percent, p.expected or 0, 100 if p.ceiling else 0), SHOWN_MAX) + 3,
            y,
            label,
            va="center",
            fontsize=8,
        )
        if p.expected is not None:
            ax.plot([p.expected, p.expected], [y - 0.4, y + 0.4], color="#1565c0", lw=2)
    ax.axvline(100, color="#424242", lw=1, ls="--")
    ax.set_yticks(ys, labels, fontsize=8)
    ax.set_xlim(0, SHOWN_MAX + 20)
    ax.set_xticks([0, 25, 50, 75, 100, 125, 150], [f"{x}%" for x in (0, 25, 50, 75, 100, 125, 150)])
    ax.tick_params(axis="x", labelsize=8)
    xlabel = "% kế hoạch năm (lũy kế); vạch xanh: tiến độ cần đạt đến hết kỳ"
    if any(p.ceiling for p in points):
        xlabel += "; ◆: chỉ tiêu không được vượt, so với ngưỡng (vạch đen)"
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_title(title, fontsize=10)
    if not points:
        ax.text(75, 0, "Chưa có chỉ tiêu có số liệu", ha="center", va="center", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
