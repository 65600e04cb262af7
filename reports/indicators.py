"""The report's indicator table and chart, and each target's result in words."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from plans.vocabulary import TargetKind
from reports.document import NO_DATA, ChartPoint, IndicatorRow, clean
from reports.figures import Figure, TargetSpec, Value
from wording import vietnamese as vi

_COMPARATOR_SYMBOL = {">=": "≥ ", ">": "> ", "<=": "≤ ", "<": "< ", "=": "", None: ""}
_COMPARATOR_WORDS = {
    ">=": "{} trở lên",
    ">": "trên {}",
    "<=": "không quá {}",
    "<": "dưới {}",
    "=": "{}",
    None: "{}",
}


def quantity(value: Decimal, unit_of_measure: str | None) -> str:
    """A number with its unit of measure (a percentage with two decimals)."""
    if unit_of_measure == "%":
        return vi.percent(value, 2)
    return f"{vi.number(value)} {unit_of_measure}".strip() if unit_of_measure else vi.number(value)


def goal_cell(spec: TargetSpec) -> str:
    """The year's goal as the indicator table writes it ("≥ 300")."""
    if spec.goal_number is not None:
        return _COMPARATOR_SYMBOL.get(spec.comparator, "") + vi.number(spec.goal_number)
    if spec.kind == TargetKind.YES_NO and spec.goal_text in ("yes", "no"):
        return "Thực hiện" if spec.goal_text == "yes" else "Không thực hiện"
    return spec.goal_text or ""


def goal_words(spec: TargetSpec) -> str:
    """The year's goal in words ("300 lao động trở lên")."""
    if spec.goal_number is None:
        return spec.goal_text or ""
    pattern = _COMPARATOR_WORDS.get(spec.comparator, "{}")
    return pattern.format(quantity(spec.goal_number, spec.unit_of_measure))


def value_cell(spec: TargetSpec, value: Value) -> str:
    """A figure as the indicator table writes it; no figure is NO_DATA."""
    if value is None:
        return NO_DATA
    if isinstance(value, bool):
        return "Đã thực hiện" if value else "Chưa thực hiện"
    if isinstance(value, Decimal):
        return vi.number(value, 2)
    return clean(str(value))


def figure_sentence(fig: Figure) -> str:
    """One target's result in words, e.g. "...: lũy kế 300 lao động, đạt 23,1% kế hoạch năm"."""
    spec = fig.target
    name = spec.name
    if spec.kind == TargetKind.YES_NO:
        if fig.to_date is None:
            return f"{name}: chưa có đơn vị báo cáo."
        return f"{name}: {'đã thực hiện' if fig.to_date else 'chưa thực hiện'}."
    if spec.kind == TargetKind.TEXT:
        texts = [f"{u.unit_name}: {clean(str(u.to_date))}" for u in fig.by_unit if u.to_date]
        return f"{name}: {'; '.join(texts) if texts else 'chưa có đơn vị báo cáo'}."
    if not isinstance(fig.to_date, Decimal):
        note = f" {fig.note}" if fig.note else ""
        return f"{name}: chưa có số liệu tổng hợp.{note}"
    if spec.aggregation == "sum":
        period = (
            quantity(fig.period, spec.unit_of_measure)
            if isinstance(fig.period, Decimal)
            else "chưa có số liệu"
        )
        text = f"{name}: thực hiện trong kỳ {period}; lũy kế từ đầu năm " + quantity(
            fig.to_date, spec.unit_of_measure
        )
    else:
        text = f"{name}: {quantity(fig.to_date, spec.unit_of_measure)}"
        if fig.period is None:
            text += " (số liệu kỳ trước; trong kỳ chưa có báo cáo)"
    if fig.percent_of_goal is not None:
        text += f", đạt {vi.percent(fig.percent_of_goal)} kế hoạch năm ({goal_words(spec)})"
    if fig.on_track is not None:
        if fig.expected_percent is not None:
            text += (
                "; đạt tiến độ"
                if fig.on_track
                else f"; chậm so với tiến độ (cần đạt {vi.percent(fig.expected_percent)} "
                "kế hoạch năm đến hết kỳ)"
            )
        else:
            text += "; đạt chỉ tiêu" if fig.on_track else "; chưa đạt chỉ tiêu"
    if fig.note:
        text += f". {fig.note}"
    return text + "."


def behind_sentence(fig: Figure) -> str:
    """A target behind schedule, in short: what it reached against what it needed."""
    spec = fig.target
    if spec.kind == TargetKind.YES_NO:
        return f"{spec.name}: chưa thực hiện."
    if not isinstance(fig.to_date, Decimal):
        return f"{spec.name}: chưa có số liệu."
    reached = quantity(fig.to_date, spec.unit_of_measure)
    if fig.percent_of_goal is not None:
        reached += f" ({vi.percent(fig.percent_of_goal)} kế hoạch năm)"
    if fig.expected_percent is not None:
        return (
            f"{spec.name}: lũy kế {reached}, thấp hơn tiến độ cần đạt "
            f"({vi.percent(fig.expected_percent)} kế hoạch năm)."
        )
    return f"{spec.name}: {reached}, chưa đạt chỉ tiêu {goal_words(spec)}."


def indicator_rows(figures: Sequence[Figure]) -> tuple[IndicatorRow, ...]:
    """One row of the indicator table per target, numbered in order."""
    rows = []
    for i, fig in enumerate(figures, start=1):
        spec = fig.target
        rows.append(
            IndicatorRow(
                stt=str(i),
                code=spec.code,
                name=spec.name,
                unit_of_measure=spec.unit_of_measure or "",
                goal=goal_cell(spec),
                period=value_cell(spec, fig.period),
                to_date=value_cell(spec, fig.to_date),
                percent=vi.percent(fig.percent_of_goal) if fig.percent_of_goal is not None else "",
                goal_number=spec.goal_number,
                period_value=fig.period,
                to_date_value=fig.to_date,
                percent_value=fig.percent_of_goal,
                on_track=fig.on_track,
            )
        )
    return tuple(rows)


def chart_points(figures: Sequence[Figure]) -> tuple[ChartPoint, ...]:
    """The chart's bars: each target's percent of its goal, and where it should be."""
    points = []
    for fig in figures:
        if fig.target.kind == TargetKind.YES_NO and fig.target.goal_text in ("yes", "no"):
            done = fig.on_track is True
            points.append(ChartPoint(fig.target.name, 100.0 if done else 0.0, None, fig.on_track))
        elif fig.percent_of_goal is not None:
            expected = float(fig.expected_percent) if fig.expected_percent is not None else None
            points.append(
                ChartPoint(fig.target.name, float(fig.percent_of_goal), expected, fig.on_track)
            )
    return tuple(points)
