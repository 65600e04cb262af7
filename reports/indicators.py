"""The report's indicator table and chart, and each target's result in words."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from plans.vocabulary import TargetKind
from reports.document import NO_DATA, ChartPoint, IndicatorRow, clean
from reports.figures import Figure, TargetSpec, Value
from reports.goals import GoalSense, goal_sense
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


# A ceiling (a limit not to pass) kept or passed: never "đạt …%" of it, never "tiến độ".
CEILING_WORDS = {True: "trong ngưỡng", False: "vượt ngưỡng"}


def standing(fig: Figure) -> str | None:
    """The target's standing in words, by its goal's sense (reports.goals); the sentence, the
    table and the workbook all say it this way."""
    if fig.on_track is None:
        return None
    if goal_sense(fig.target) is GoalSense.CEILING:
        return CEILING_WORDS[True] if fig.on_track else f"{CEILING_WORDS[False]}, không đạt"
    if fig.expected_percent is not None:
        return "đạt tiến độ" if fig.on_track else "chậm so với tiến độ"
    return "đạt chỉ tiêu" if fig.on_track else "chưa đạt chỉ tiêu"


def against_goal(fig: Figure) -> str:
    """How the year to date stands against the annual goal, e.g. ", đạt 23,1% kế hoạch năm
    (1.300 lao động trở lên)" or ", vượt ngưỡng kế hoạch năm (không quá 10 ổ dịch) 5 ổ dịch"."""
    spec, to_date = fig.target, fig.to_date
    if goal_sense(spec) is not GoalSense.CEILING:
        if fig.percent_of_goal is None:
            return ""
        return f", đạt {vi.percent(fig.percent_of_goal)} kế hoạch năm ({goal_words(spec)})"
    if fig.on_track is None or spec.goal_number is None or not isinstance(to_date, Decimal):
        return ""
    text = f", {CEILING_WORDS[fig.on_track]} kế hoạch năm ({goal_words(spec)})"
    if not fig.on_track and to_date > spec.goal_number:
        return f"{text} {quantity(to_date - spec.goal_number, spec.unit_of_measure)}"
    allowance = _allowance(fig)
    if fig.on_track and allowance is not None and to_date > allowance:
        pace = quantity(allowance, spec.unit_of_measure)
        text += f" nhưng cao hơn mức bình quân đến hết kỳ ({pace})"
    return text


def _allowance(fig: Figure) -> Decimal | None:
    """A ceiling's pro-rata share to date (3 of 12 a year by the end of March)."""
    if fig.expected_percent is None or fig.target.goal_number is None:
        return None
    return fig.target.goal_number * fig.expected_percent / 100


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
    text += against_goal(fig)
    if goal_sense(spec) is GoalSense.CEILING:
        text += ", không đạt" if fig.on_track is False else ""
    elif fig.on_track is not None:
        text += f"; {standing(fig)}"
        if fig.on_track is False and fig.expected_percent is not None:
            text += f" (cần đạt {vi.percent(fig.expected_percent)} kế hoạch năm đến hết kỳ)"
    if fig.note:
        text += f". {fig.note}"
    return text + "."


def behind_sentence(fig: Figure) -> str:
    """A target behind schedule or past its ceiling, in short: what it reached against what
    it needed."""
    spec = fig.target
    if spec.kind == TargetKind.YES_NO:
        return f"{spec.name}: chưa thực hiện."
    if not isinstance(fig.to_date, Decimal):
        return f"{spec.name}: chưa có số liệu."
    reached = quantity(fig.to_date, spec.unit_of_measure)
    if goal_sense(spec) is GoalSense.CEILING:
        return f"{spec.name}: lũy kế {reached}{against_goal(fig)}, không đạt."
    if fig.percent_of_goal is not None:
        reached += f" ({vi.percent(fig.percent_of_goal)} kế hoạch năm)"
    if fig.expected_percent is not None:
        return (
            f"{spec.name}: lũy kế {reached}, thấp hơn tiến độ cần đạt "
            f"({vi.percent(fig.expected_percent)} kế hoạch năm)."
        )
    return f"{spec.name}: {reached}, chưa đạt chỉ tiêu {goal_words(spec)}."


def percent_cell(fig: Figure) -> str:
    """The table's "% so KH": the share of the goal; a ceiling's standing instead (a ceiling
    is not a quantity to fill, so "150%" of it would read as an achievement)."""
    if goal_sense(fig.target) is GoalSense.CEILING:
        words = standing(fig)
        return words[0].upper() + words[1:] if words else ""
    return vi.percent(fig.percent_of_goal) if fig.percent_of_goal is not None else ""


def indicator_rows(figures: Sequence[Figure]) -> tuple[IndicatorRow, ...]:
    """One row of the indicator table per target, numbered in order."""
    rows = []
    for i, fig in enumerate(figures, start=1):
        spec = fig.target
        ceiling = goal_sense(spec) is GoalSense.CEILING
        rows.append(
            IndicatorRow(
                stt=str(i),
                code=spec.code,
                name=spec.name,
                unit_of_measure=spec.unit_of_measure or "",
                goal=goal_cell(spec),
                period=value_cell(spec, fig.period),
                to_date=value_cell(spec, fig.to_date),
                percent=percent_cell(fig),
                goal_number=spec.goal_number,
                period_value=fig.period,
                to_date_value=fig.to_date,
                percent_value=None if ceiling else fig.percent_of_goal,
                on_track=fig.on_track,
            )
        )
    return tuple(rows)


def chart_points(figures: Sequence[Figure]) -> tuple[ChartPoint, ...]:
    """The chart's points: each target's percent of its goal, and where it should be; a
    ceiling's point is the share of the limit used, drawn as a marker, not a bar."""
    points = []
    for fig in figures:
        if fig.target.kind == TargetKind.YES_NO and fig.target.goal_text in ("yes", "no"):
            done = fig.on_track is True
            points.append(ChartPoint(fig.target.name, 100.0 if done else 0.0, None, fig.on_track))
        elif fig.percent_of_goal is not None:
            expected = float(fig.expected_percent) if fig.expected_percent is not None else None
            ceiling = goal_sense(fig.target) is GoalSense.CEILING
            points.append(
                ChartPoint(
                    fig.target.name, float(fig.percent_of_goal), expected, fig.on_track, ceiling
                )
            )
    return tuple(points)
