"""The consolidated report as plain data: parts and tables, built once, rendered to every format."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.org import Person, Unit
from models.plan import Obligation, Plan, PlanTask
from plans.vocabulary import TargetKind, UnitKind
from reports.figures import (
    Figure,
    Tally,
    TargetSpec,
    Value,
    aggregate,
    period_labels,
    plan_targets,
    read_tally,
    to_date_labels,
)
from reports.gather import (
    DeliverableProgress,
    NarrativeEntry,
    data_window,
    deliverable_progress,
    narratives,
    reporting_states,
)
from schedules.calendar import local_date
from schedules.periods import Cadence, Period, WindowConvention
from status.states import ItemState, ItemStatus
from wording import vietnamese as vi

PLACEHOLDER = "(Chưa có nội dung — cán bộ tổng hợp bổ sung)"
NO_DATA = "-"

# The narrative sections units fill in (obligations' `narrative_sections`).
RESULTS = "Kết quả thực hiện"
DIFFICULTIES = "Khó khăn, vướng mắc"
PROPOSALS = "Đề xuất, kiến nghị"

_COMPARATOR_SYMBOL = {">=": "≥ ", ">": "> ", "<=": "≤ ", "<": "< ", "=": "", None: ""}
_COMPARATOR_WORDS = {
    ">=": "{} trở lên",
    ">": "trên {}",
    "<=": "không quá {}",
    "<": "dưới {}",
    "=": "{}",
    None: "{}",
}
# Characters XML 1.0 (DOCX, XLSX) cannot carry; a pasted narrative may contain them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


class ReportError(ValueError):
    """The report cannot be compiled as asked (no plan, a period outside the plan's year...)."""


def clean(text: str) -> str:
    """User text as plain, XML-safe text with Unix line ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("", text).strip()


# --- the document tree -----------------------------------------------------------------------


class ParaKind(StrEnum):
    BODY = "body"  # justified, first-line indent
    BULLET = "bullet"  # "- ..."
    SUB = "sub"  # "+ ..."
    NOTE = "note"  # italic
    PLACEHOLDER = "placeholder"  # left for the officer to write, visibly empty


_MARKERS = {ParaKind.BULLET: "- ", ParaKind.SUB: "+ "}


@dataclass(frozen=True)
class Para:
    """A paragraph; `text` may hold line breaks ("\\n")."""

    text: str
    kind: ParaKind = ParaKind.BODY

    @property
    def display(self) -> str:
        return _MARKERS.get(self.kind, "") + self.text


@dataclass(frozen=True)
class Slot:
    """Where the indicator table or the chart goes."""

    name: str  # "indicator_table" or "chart"


@dataclass(frozen=True)
class Part:
    """A numbered part: level 1 "I.", level 2 "1.", level 3 "a)"."""

    level: int
    label: str
    title: str
    blocks: tuple[Block, ...]

    @property
    def heading(self) -> str:
        if self.level == 1:
            return f"{self.label}. {self.title.upper()}"
        if self.level == 2:
            return f"{self.label}. {self.title}"
        return f"{self.label}) {self.title}"


Block = Para | Part | Slot


@dataclass(frozen=True)
class IndicatorRow:
    """One row of the indicator table, as text and as numbers."""

    stt: str
    code: str
    name: str
    unit_of_measure: str
    goal: str
    period: str
    to_date: str
    percent: str
    goal_number: Decimal | None
    period_value: Value
    to_date_value: Value
    percent_value: Decimal | None
    on_track: bool | None


INDICATOR_HEADERS = (
    "STT",
    "Chỉ tiêu",
    "ĐVT",
    "Kế hoạch năm",
    "Thực hiện kỳ",
    "Lũy kế",
    "% so KH",
)


@dataclass(frozen=True)
class SheetColumn:
    code: str
    name: str
    unit_of_measure: str


@dataclass(frozen=True)
class SheetRow:
    """One unit's line on an obligation's sheet."""

    unit_code: str
    unit_name: str
    expected: int
    received: int
    late: int
    missing: int
    last_received: date | None
    period: tuple[Value, ...]
    to_date: tuple[Value, ...]


@dataclass(frozen=True)
class ObligationSheet:
    """Each unit's figures for one reporting obligation, and the totals."""

    code: str
    title: str
    columns: tuple[SheetColumn, ...]
    rows: tuple[SheetRow, ...]
    total_period: tuple[Value, ...]
    total_to_date: tuple[Value, ...]


@dataclass(frozen=True)
class ReportingLine:
    """A unit that reported late or not at all, with its dates."""

    unit_name: str
    obligation_title: str
    period_label: str
    deadline_on: date
    received_on: date | None
    working_days: int
    status: str


@dataclass(frozen=True)
class ChartPoint:
    label: str
    percent: float
    expected: float | None
    on_track: bool | None


@dataclass(frozen=True)
class Report:
    """Everything every format shows."""

    plan_code: str
    plan_title: str
    period: str
    period_title: str
    as_of: datetime
    window: tuple[date, date]
    to_date_window: tuple[date, date]
    agency_lines: tuple[str, ...]
    number_line: str
    place_date: str
    title: str
    summary: str
    body: tuple[Block, ...]
    signer_title_lines: tuple[str, ...]
    signer_name: str
    distribution: tuple[str, ...]
    indicator_rows: tuple[IndicatorRow, ...]
    figures: tuple[Figure, ...]
    sheets: tuple[ObligationSheet, ...]
    reporting: tuple[ReportingLine, ...]
    deliverables: tuple[DeliverableProgress, ...]
    narratives: tuple[NarrativeEntry, ...]
    chart: tuple[ChartPoint, ...]

    @property
    def file_stem(self) -> str:
        return f"bao-cao-{self.plan_code}-{self.period}"

    def parts(self) -> list[Part]:
        return [b for b in self.body if isinstance(b, Part)]


# --- wording ---------------------------------------------------------------------------------


def report_number(number: str | None, issuer_abbr: str) -> str:
    """ "Số: 05/BC-UBND"; without a number, blank for the office to fill ("Số:      /BC-UBND")."""
    if number is None or not number.strip():
        return f"Số:      /BC-{issuer_abbr}"
    number = number.strip()
    if not number.isdigit():
        raise ReportError(f"report number {number!r} must be digits, e.g. 05")
    return f"Số: {int(number):02d}/BC-{issuer_abbr}"


def lower_first(text: str) -> str:
    """ "Triển khai ..." -> "triển khai ..."; leaves "UBND ..." alone."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def agency_lines(issuer: Unit) -> tuple[str, ...]:
    """ "Ủy ban nhân dân huyện Cao Lộc" -> ("ỦY BAN NHÂN DÂN", "HUYỆN CAO LỘC")."""
    name = issuer.name.strip()
    prefix = "ủy ban nhân dân "
    if name.lower().startswith(prefix):
        return (name[: len(prefix) - 1].upper(), name[len(prefix) :].upper())
    return (name.upper(),)


def issuer_abbreviation(issuer: Unit) -> str:
    if issuer.kind == UnitKind.COMMITTEE:
        return "UBND"
    return (issuer.short_name or issuer.code).replace(" ", "").upper()


def quantity(value: Decimal, unit_of_measure: str | None) -> str:
    if unit_of_measure == "%":
        return vi.percent(value, 2)
    return f"{vi.number(value)} {unit_of_measure}".strip() if unit_of_measure else vi.number(value)


def goal_cell(spec: TargetSpec) -> str:
    if spec.goal_number is not None:
        return _COMPARATOR_SYMBOL.get(spec.comparator, "") + vi.number(spec.goal_number)
    if spec.kind == TargetKind.YES_NO and spec.goal_text in ("yes", "no"):
        return "Thực hiện" if spec.goal_text == "yes" else "Không thực hiện"
    return spec.goal_text or ""


def goal_words(spec: TargetSpec) -> str:
    if spec.goal_number is None:
        return spec.goal_text or ""
    pattern = _COMPARATOR_WORDS.get(spec.comparator, "{}")
    return pattern.format(quantity(spec.goal_number, spec.unit_of_measure))


def value_cell(spec: TargetSpec, value: Value) -> str:
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


@lru_cache(maxsize=256)  # a province's report names the same few periods thousands of times
def _period_title(label: str) -> str:
    try:
        return Period.parse(label).title_vi
    except ValueError:
        return label


def _unit_period(entry: NarrativeEntry) -> str:
    return f"{entry.unit_name} ({_period_title(entry.period_label)})"


def narrative_paras(entries: Sequence[NarrativeEntry], section: str) -> list[Para]:
    """Each unit's text for a section, as "+ Unit (period): text"; nothing when none gave it."""
    paras = []
    for entry in entries:
        for title, text in entry.sections:
            if title.strip().lower() == section.lower() and clean(text):
                paras.append(Para(f"{_unit_period(entry)}: {clean(text)}", ParaKind.SUB))
    return paras


def other_sections(entries: Sequence[NarrativeEntry]) -> list[Para]:
    """Sections under titles the report has no place for, kept rather than dropped."""
    known = {RESULTS.lower(), DIFFICULTIES.lower(), PROPOSALS.lower()}
    return [
        Para(f"{_unit_period(e)}, {clean(title)}: {clean(text)}", ParaKind.SUB)
        for e in entries
        for title, text in e.sections
        if title.strip().lower() not in known and clean(text)
    ]


def _deliverable_groups(
    progress: Sequence[DeliverableProgress],
) -> dict[str, list[DeliverableProgress]]:
    groups: dict[str, list[DeliverableProgress]] = defaultdict(list)
    for p in progress:
        groups[p.deliverable_code].append(p)
    return groups


def deliverable_sentence(units: Sequence[DeliverableProgress], as_of: datetime) -> str:
    """A deliverable's standing across its units, with dates."""
    first = units[0]
    deadline = vi.date_short(min(u.deadline_on for u in units))
    done = [u for u in units if u.is_done()]
    overdue = [u for u in units if u.is_overdue(as_of)]
    late = [u for u in done if u.done_late()]
    if len(units) == 1:
        head = f"{first.title} ({first.unit_name}; hạn {deadline}): "
        if done:
            assert first.done_on is not None
            text = f"đã hoàn thành ngày {vi.date_short(first.done_on)}"
            return head + text + (" (muộn so với thời hạn)." if late else ".")
        if overdue:
            return head + "chưa hoàn thành, đã quá hạn."
        if first.state is not None:
            return head + "đang thực hiện."
        return head + "chưa đến hạn, chưa có báo cáo tiến độ."
    text = f"{first.title} (hạn {deadline}): {len(done)}/{len(units)} đơn vị đã hoàn thành"
    if late:
        text += "; hoàn thành muộn: " + ", ".join(
            f"{u.unit_name} ({vi.date_short(u.done_on)})" for u in late if u.done_on
        )
    if overdue:
        text += "; quá hạn chưa hoàn thành: " + ", ".join(u.unit_name for u in overdue)
    return text + "."


# --- building the report ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """Everything read from the database, as plain values."""

    plan: Plan
    issuer: Unit
    signer: Person | None
    tasks: list[PlanTask]
    targets: list[TargetSpec]
    figures: list[Figure]
    values: Tally
    states: list[ItemState]
    narratives: list[NarrativeEntry]
    deliverables: list[DeliverableProgress]
    obligations: dict[str, Obligation]
    window: tuple[date, date]
    to_date_window: tuple[date, date]


def _task_targets(task: PlanTask, targets: Sequence[TargetSpec]) -> set[str]:
    by_code = {t.code: t for t in targets}
    codes = {t.code for t in task.targets}
    for code in list(codes):
        spec = by_code.get(code)
        if spec and spec.numerator and spec.denominator:
            codes |= {spec.numerator, spec.denominator}
    return codes


def _task_part(
    label: str,
    task: PlanTask,
    facts: _Facts,
    own_narratives: Sequence[NarrativeEntry],
    deliverables: dict[str, list[DeliverableProgress]],
    as_of: datetime,
) -> Part:
    blocks: list[Block] = []
    leader = task.leader_text or (task.leader.full_name if task.leader else "")
    if leader:
        blocks.append(Para(f"Lãnh đạo phụ trách: {leader}.", ParaKind.BULLET))
    blocks.append(
        Para(f"Đơn vị chủ trì: {task.lead_unit_text or task.lead_unit.name}.", ParaKind.BULLET)
    )
    coordinating = task.coordinating_text or ", ".join(u.name for u in task.coordinating_units)
    if coordinating:
        blocks.append(Para(f"Đơn vị phối hợp: {coordinating.rstrip('.')}.", ParaKind.BULLET))
    codes = {t.code for t in task.targets}
    task_figures = [f for f in facts.figures if f.target.code in codes]
    if task_figures:
        blocks.append(Para("Kết quả thực hiện các chỉ tiêu:", ParaKind.BULLET))
        blocks.extend(Para(figure_sentence(f), ParaKind.SUB) for f in task_figures)
    if deliverables:
        blocks.append(Para("Sản phẩm, công việc có thời hạn:", ParaKind.BULLET))
        blocks.extend(
            Para(deliverable_sentence(units, as_of), ParaKind.SUB)
            for units in deliverables.values()
        )
    blocks.append(Para("Kết quả theo báo cáo của các đơn vị:", ParaKind.BULLET))
    results = narrative_paras(own_narratives, RESULTS)
    blocks.extend(results or [Para(PLACEHOLDER, ParaKind.PLACEHOLDER)])
    return Part(3, label, f"Nhiệm vụ {task.number}: {task.title}", tuple(blocks))


def _reporting_lines(states: Sequence[ItemState], titles: dict[str, str]) -> list[ReportingLine]:
    lines = []
    for s in states:
        if s.status not in (ItemStatus.SUBMITTED_LATE, ItemStatus.OVERDUE):
            continue
        lines.append(
            ReportingLine(
                unit_name=s.unit_name,
                obligation_title=titles.get(s.source_code, s.source_title),
                period_label=s.period_label or "",
                deadline_on=s.deadline_on,
                received_on=local_date(s.first_accepted_at) if s.first_accepted_at else None,
                working_days=s.working_days_overdue,
                status=s.status.value,
            )
        )
    return lines


def _reporting_part(label: str, facts: _Facts) -> Part:
    blocks: list[Block] = []
    by_obligation: dict[str, list[ItemState]] = defaultdict(list)
    for s in facts.states:
        by_obligation[s.source_code].append(s)
    for code, states in by_obligation.items():
        counted = [s for s in states if s.status is not ItemStatus.EXCUSED]
        received = [
            s
            for s in counted
            if s.status in (ItemStatus.SUBMITTED_ON_TIME, ItemStatus.SUBMITTED_LATE)
        ]
        on_time = [s for s in received if s.status is ItemStatus.SUBMITTED_ON_TIME]
        pending = [s for s in counted if s.status in (ItemStatus.OPEN, ItemStatus.NOT_YET_OPEN)]
        text = (
            f"{facts.obligations[code].title}: đã nhận {len(received)}/{len(counted)} báo cáo, "
            f"trong đó đúng hạn {len(on_time)}"
        )
        if pending:
            text += f"; chưa đến hạn {len(pending)}"
        excused = len(states) - len(counted)
        if excused:
            text += f"; được miễn {excused}"
        blocks.append(Para(text + ".", ParaKind.BULLET))
    lines = _reporting_lines(facts.states, {c: o.title for c, o in facts.obligations.items()})
    late = [x for x in lines if x.status == ItemStatus.SUBMITTED_LATE]
    missing = [x for x in lines if x.status == ItemStatus.OVERDUE]
    if late:
        blocks.append(Para("Đơn vị gửi báo cáo muộn:", ParaKind.BULLET))
        blocks.extend(
            Para(
                f"{x.unit_name} ({_period_title(x.period_label)}): hạn "
                f"{vi.date_short(x.deadline_on)}, gửi ngày "
                f"{vi.date_short(x.received_on) if x.received_on else ''} "
                f"(muộn {x.working_days} ngày làm việc).",
                ParaKind.SUB,
            )
            for x in late
        )
    if missing:
        blocks.append(Para("Đơn vị chưa gửi báo cáo:", ParaKind.BULLET))
        blocks.extend(
            Para(
                f"{x.unit_name} ({_period_title(x.period_label)}): hạn "
                f"{vi.date_short(x.deadline_on)}, chưa gửi (quá hạn {x.working_days} "
                "ngày làm việc).",
                ParaKind.SUB,
            )
            for x in missing
        )
    if not facts.states:
        blocks.append(Para("Trong kỳ không có báo cáo nào đến hạn.", ParaKind.BULLET))
    elif not late and not missing:
        blocks.append(Para("Không có đơn vị gửi báo cáo muộn hoặc chưa gửi.", ParaKind.BULLET))
    return Part(2, label, "Tình hình thực hiện chế độ báo cáo của các đơn vị", tuple(blocks))


def _sheets(facts: _Facts, period: Period) -> tuple[ObligationSheet, ...]:
    by_code = {t.code: t for t in facts.targets}
    states_by: dict[str, dict[str, list[ItemState]]] = defaultdict(lambda: defaultdict(list))
    names: dict[str, str] = {}
    for s in facts.states:
        states_by[s.source_code][s.unit_code].append(s)
        names[s.unit_code] = s.unit_name
    sheets = []
    for code, obligation in facts.obligations.items():
        if code not in states_by:
            continue
        columns = [
            by_code[ot.target.code] for ot in obligation.targets if ot.target.code in by_code
        ]
        needed = list(columns)
        for spec in columns:  # a ratio needs its parts even when the report does not carry them
            for part in (spec.numerator, spec.denominator):
                if part and by_code.get(part) and by_code[part] not in needed:
                    needed.append(by_code[part])
        figures = aggregate(needed, facts.values.only(code), period.last_month)
        fig_by = {f.target.code: f for f in figures}
        # Indexed once: a lookup per (unit, column) stays cheap with thousands of units.
        unit_figures = {f.target.code: {u.unit_code: u for u in f.by_unit} for f in figures}
        rows = []
        for unit_code in sorted(states_by[code], key=lambda u: names[u]):
            unit_states = states_by[code][unit_code]
            per_unit = {c.code: unit_figures[c.code].get(unit_code) for c in columns}
            received = [s for s in unit_states if s.first_accepted_at is not None]
            rows.append(
                SheetRow(
                    unit_code=unit_code,
                    unit_name=names[unit_code],
                    expected=len([s for s in unit_states if s.status is not ItemStatus.EXCUSED]),
                    received=len(received),
                    late=len([s for s in unit_states if s.status is ItemStatus.SUBMITTED_LATE]),
                    missing=len([s for s in unit_states if s.status is ItemStatus.OVERDUE]),
                    last_received=max(
                        (local_date(s.first_accepted_at) for s in received if s.first_accepted_at),
                        default=None,
                    ),
                    period=tuple(u.period if u else None for u in per_unit.values()),
                    to_date=tuple(u.to_date if u else None for u in per_unit.values()),
                )
            )
        sheets.append(
            ObligationSheet(
                code=code,
                title=obligation.title,
                columns=tuple(
                    SheetColumn(c.code, c.name, c.unit_of_measure or "") for c in columns
                ),
                rows=tuple(rows),
                total_period=tuple(fig_by[c.code].period for c in columns),
                total_to_date=tuple(fig_by[c.code].to_date for c in columns),
            )
        )
    return tuple(sheets)


def _read_facts(*, session: Session, plan: Plan, period: Period, as_of: datetime) -> _Facts:
    targets = plan_targets(session=session, plan_id=plan.id)
    labels, to_date = period_labels(period), to_date_labels(period)
    values = read_tally(
        session=session, plan_id=plan.id, targets=targets, period=period, as_of=as_of
    )
    figures = aggregate(targets, values, period.last_month)
    tasks = list(
        session.scalars(
            select(PlanTask).where(PlanTask.plan_id == plan.id).order_by(PlanTask.number)
        )
    )
    obligations = {
        o.code: o
        for o in session.scalars(
            select(Obligation).where(Obligation.plan_id == plan.id).order_by(Obligation.id)
        )
    }
    # Nothing due in the period: fall back on the period's Decree 09 window.
    fallback = period.window(WindowConvention.DECREE_09)
    window = data_window(session=session, plan_id=plan.id, labels=labels) or (
        fallback.start,
        fallback.end,
    )
    to_date_window = data_window(session=session, plan_id=plan.id, labels=to_date) or window
    return _Facts(
        plan=plan,
        issuer=plan.issuer,
        signer=plan.signer,
        tasks=tasks,
        targets=targets,
        figures=figures,
        values=values,
        states=reporting_states(session=session, plan_id=plan.id, labels=labels, as_of=as_of),
        narratives=narratives(session=session, plan_id=plan.id, labels=labels, as_of=as_of),
        deliverables=deliverable_progress(session=session, plan_id=plan.id, as_of=as_of),
        obligations=obligations,
        window=window,
        to_date_window=to_date_window,
    )


def _summary(plan: Plan, period: Period) -> str:
    title = lower_first(clean(plan.title))
    if period.cadence is Cadence.YEARLY and str(period.year) in title:
        return f"Kết quả {title}"
    return f"Kết quả {title} {period.title_vi}"


def _distribution(plan: Plan) -> tuple[str, ...]:
    entries = [clean(d).rstrip(";.") for d in plan.distribution if clean(d)]
    entries = [e for e in entries if e.lower() != "lưu: vt"]
    return (*(f"- {e};" for e in entries), "- Lưu: VT.")


def build_report(
    *,
    session: Session,
    plan: Plan,
    period: Period,
    as_of: datetime,
    number: str | None = None,
    doc_date: date | None = None,
) -> Report:
    """The consolidated report of `plan` for `period`, from what units had sent by `as_of`."""
    if as_of.tzinfo is None:
        raise ReportError("as_of must be timezone-aware")
    if period.year != plan.year:
        raise ReportError(
            f"period {period.label} is outside the plan's year {plan.year} ({plan.code})"
        )
    issuer_abbr = issuer_abbreviation(plan.issuer)
    number_line = report_number(number, issuer_abbr)
    facts = _read_facts(session=session, plan=plan, period=period, as_of=as_of)
    doc_date = doc_date or local_date(as_of)

    # Narratives go under the one task whose targets the unit's report carries; a report that
    # carries several tasks' targets (or none) goes under the general part.
    task_codes = {t.code: _task_targets(t, facts.targets) for t in facts.tasks}
    by_task: dict[str | None, list[NarrativeEntry]] = defaultdict(list)
    for entry in facts.narratives:
        matched = [c for c, codes in task_codes.items() if codes & set(entry.target_codes)]
        by_task[matched[0] if len(matched) == 1 else None].append(entry)

    groups = _deliverable_groups(facts.deliverables)

    def due_now(units: list[DeliverableProgress]) -> bool:
        return min(u.deadline_on for u in units) <= period.end or all(u.is_done() for u in units)

    current = {c: u for c, u in groups.items() if due_now(u)}
    upcoming = {c: u for c, u in groups.items() if not due_now(u)}

    task_parts: list[Block] = []
    for i, task in enumerate(facts.tasks, start=1):
        own = {c: u for c, u in current.items() if u[0].task_code == task.code}
        task_parts.append(
            _task_part(vi.letter(i), task, facts, by_task.get(task.code, []), own, as_of)
        )
    n = len(facts.tasks)
    untasked = {c: u for c, u in current.items() if u[0].task_code is None}
    if untasked:
        n += 1
        task_parts.append(
            Part(
                3,
                vi.letter(n),
                "Các công việc khác có thời hạn",
                tuple(
                    Para(deliverable_sentence(u, as_of), ParaKind.BULLET) for u in untasked.values()
                ),
            )
        )
    general = by_task.get(None, [])
    general_paras = narrative_paras(general, RESULTS) + other_sections(facts.narratives)
    if general_paras:
        n += 1
        task_parts.append(
            Part(3, vi.letter(n), "Kết quả chung theo báo cáo của các đơn vị", tuple(general_paras))
        )

    figure_notes = [
        Para(f"{f.target.name}: {f.note}", ParaKind.NOTE) for f in facts.figures if f.note
    ]
    part_one = Part(
        1,
        vi.roman(1),
        "Kết quả thực hiện",
        (
            Part(
                2,
                "1",
                "Kết quả thực hiện các chỉ tiêu",
                (
                    Slot("indicator_table"),
                    Para(
                        f'Ghi chú: "{NO_DATA}" là chưa có số liệu; "% so KH" là lũy kế từ đầu năm '
                        "so với kế hoạch năm.",
                        ParaKind.NOTE,
                    ),
                    *figure_notes,
                    Slot("chart"),
                ),
            ),
            Part(2, "2", "Kết quả thực hiện các nhiệm vụ trọng tâm", tuple(task_parts)),
            _reporting_part("3", facts),
        ),
    )

    behind = [f for f in facts.figures if f.on_track is False]
    overdue = [u for u in groups.values() if any(x.is_overdue(as_of) for x in u)]
    shortcomings: list[Block] = []
    if behind:
        shortcomings.append(
            Para("Các chỉ tiêu chưa đạt tiến độ, chưa đạt kế hoạch:", ParaKind.BULLET)
        )
        shortcomings.extend(Para(behind_sentence(f), ParaKind.SUB) for f in behind)
    if overdue:
        shortcomings.append(Para("Các sản phẩm, công việc quá hạn:", ParaKind.BULLET))
        shortcomings.extend(Para(deliverable_sentence(u, as_of), ParaKind.SUB) for u in overdue)
    difficulties = narrative_paras(facts.narratives, DIFFICULTIES)
    shortcomings.append(Para("Khó khăn, vướng mắc theo báo cáo của các đơn vị:", ParaKind.BULLET))
    shortcomings.extend(difficulties or [Para(PLACEHOLDER, ParaKind.PLACEHOLDER)])
    part_two = Part(
        1,
        vi.roman(2),
        "Tồn tại, hạn chế và nguyên nhân",
        (
            Part(2, "1", "Tồn tại, hạn chế", tuple(shortcomings)),
            Part(2, "2", "Nguyên nhân", (Para(PLACEHOLDER, ParaKind.PLACEHOLDER),)),
        ),
    )

    next_steps: list[Block] = []
    if upcoming:
        next_steps.append(
            Para("Các sản phẩm, công việc đến hạn trong thời gian tới:", ParaKind.BULLET)
        )
        next_steps.extend(
            Para(deliverable_sentence(u, as_of), ParaKind.SUB) for u in upcoming.values()
        )
    next_steps.append(Para(PLACEHOLDER, ParaKind.PLACEHOLDER))
    proposals = narrative_paras(facts.narratives, PROPOSALS)
    part_three = Part(
        1,
        vi.roman(3),
        "Nhiệm vụ, giải pháp thời gian tới; kiến nghị, đề xuất",
        (
            Part(2, "1", "Nhiệm vụ, giải pháp thời gian tới", tuple(next_steps)),
            Part(
                2,
                "2",
                "Kiến nghị, đề xuất",
                (
                    Para("Kiến nghị, đề xuất của các đơn vị:", ParaKind.BULLET),
                    *(proposals or [Para(PLACEHOLDER, ParaKind.PLACEHOLDER)]),
                ),
            ),
        ),
    )

    issuer = plan.issuer
    plan_ref = "Kế hoạch" + (f" số {clean(plan.number)}" if plan.number else "")
    if plan.issued_on:
        plan_ref += f" ngày {vi.date_short(plan.issued_on)}"
    opening = Para(
        f"Thực hiện {plan_ref} của {issuer.name} về việc {lower_first(clean(plan.title))}, "
        f"{issuer.name} báo cáo kết quả thực hiện {period.title_vi} như sau:"
    )
    start, end = facts.window
    ytd_start, ytd_end = facts.to_date_window
    window_note = Para(
        f"Số liệu trong kỳ từ ngày {vi.date_short(start)} đến ngày {vi.date_short(end)}; "
        f"lũy kế từ ngày {vi.date_short(ytd_start)} đến ngày {vi.date_short(ytd_end)}; "
        f"tổng hợp từ báo cáo của các đơn vị nhận được đến {vi.time_and_date(as_of)}.",
        ParaKind.NOTE,
    )
    closing = Para(f"Trên đây là báo cáo kết quả thực hiện {period.title_vi} của {issuer.name}./.")
    signer_title = clean(plan.signer_title or "")
    return Report(
        plan_code=plan.code,
        plan_title=clean(plan.title),
        period=period.label,
        period_title=period.title_vi,
        as_of=as_of,
        window=facts.window,
        to_date_window=facts.to_date_window,
        agency_lines=agency_lines(issuer),
        number_line=number_line,
        place_date=f"{clean(plan.place)}, {vi.date_long(doc_date)}",
        title="BÁO CÁO",
        summary=_summary(plan, period),
        body=(opening, window_note, part_one, part_two, part_three, closing),
        signer_title_lines=tuple(
            line.strip().upper() for line in signer_title.split("\n") if line.strip()
        ),
        signer_name=facts.signer.full_name if facts.signer else "",
        distribution=_distribution(plan),
        indicator_rows=indicator_rows(facts.figures),
        figures=tuple(facts.figures),
        sheets=_sheets(facts, period),
        reporting=tuple(
            _reporting_lines(facts.states, {c: o.title for c, o in facts.obligations.items()})
        ),
        deliverables=tuple(facts.deliverables),
        narratives=tuple(facts.narratives),
        chart=chart_points(facts.figures),
    )
