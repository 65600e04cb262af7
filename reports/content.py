"""The consolidated report of a plan for a period: its heading, its three parts, its closing.

The document's data classes are in reports.document; the indicator table and the figures in
words in reports.indicators; the units' texts and the deliverables in reports.narrative; the
late and missing units in reports.reporting_lines; each obligation's sheet in reports.sheets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.orm import Session

from models.plan import Plan, PlanTask
from reports.document import (
    NO_DATA,
    PLACEHOLDER,
    Block,
    Para,
    ParaKind,
    Part,
    Report,
    ReportError,
    Slot,
    clean,
)
from reports.facts import Facts, read_facts
from reports.figures import TargetSpec
from reports.gather import DeliverableProgress, NarrativeEntry
from reports.heading import (
    agency_lines,
    distribution,
    governing_body,
    issuer_abbreviation,
    opening,
    report_number,
    summary,
)
from reports.indicators import behind_sentence, chart_points, figure_sentence, indicator_rows
from reports.narrative import (
    DIFFICULTIES,
    PROPOSALS,
    RESULTS,
    deliverable_groups,
    deliverable_sentence,
    narrative_paras,
    other_sections,
)
from reports.reporting_lines import reporting_lines, reporting_part
from reports.sheets import obligation_sheets
from schedules.calendar import local_date
from schedules.periods import Period
from wording import vietnamese as vi

# A deliverable's standing on each unit that owes it, by deliverable code.
Deliverables = dict[str, list[DeliverableProgress]]


def build_report(
    *,
    session: Session,
    plan: Plan,
    period: Period,
    as_of: datetime,
    number: str | None = None,
    doc_date: date | None = None,
    recipients: Sequence[str] | None = None,
) -> Report:
    """The consolidated report of `plan` for `period`, from what units had sent by `as_of`.

    The document is dated `doc_date` (the as-of day by default) and may not be dated before
    its as-of day; `recipients` replace the plan's distribution list (Nơi nhận).
    """
    if as_of.tzinfo is None:
        raise ReportError("Thời điểm tổng hợp phải kèm múi giờ.")
    if period.year != plan.year:
        raise ReportError(f"Kỳ {period.label} nằm ngoài năm {plan.year} của kế hoạch {plan.code}.")
    doc_date = doc_date or local_date(as_of)
    check_dated_after(as_of, doc_date)
    number_line = report_number(number, issuer_abbreviation(plan.issuer))
    facts = read_facts(session=session, plan=plan, period=period, as_of=as_of)
    groups = deliverable_groups(facts.deliverables)
    current = {c: u for c, u in groups.items() if _in_period(u, period)}
    upcoming = {c: u for c, u in groups.items() if not _in_period(u, period)}
    body = (
        Para(opening(plan, period)),
        _window_note(facts, as_of),
        _results_part(facts, current, as_of),
        _shortcomings_part(facts, groups, as_of),
        _next_steps_part(facts, upcoming, as_of),
        Para(f"Trên đây là báo cáo kết quả thực hiện {period.title_vi} của {plan.issuer.name}./."),
    )
    signer_title = clean(plan.signer_title or "")
    return Report(
        plan_code=plan.code,
        plan_title=clean(plan.title),
        period=period.label,
        period_title=period.title_vi,
        as_of=as_of,
        window=facts.window,
        to_date_window=facts.to_date_window,
        agency_lines=agency_lines(plan.issuer),
        governing_body=governing_body(plan.issuer),
        number_line=number_line,
        place_date=f"{clean(plan.place)}, {vi.date_long(doc_date)}",
        title="BÁO CÁO",
        summary=summary(plan, period),
        body=body,
        signer_title_lines=tuple(
            line.strip().upper() for line in signer_title.split("\n") if line.strip()
        ),
        signer_name=facts.signer.full_name if facts.signer else "",
        distribution=distribution(plan.distribution if recipients is None else recipients),
        indicator_rows=indicator_rows(facts.figures),
        figures=tuple(facts.figures),
        sheets=obligation_sheets(facts, period),
        reporting=tuple(
            reporting_lines(facts.states, {c: o.title for c, o in facts.obligations.items()})
        ),
        deliverables=tuple(facts.deliverables),
        narratives=tuple(facts.narratives),
        chart=chart_points(facts.figures),
        reconciliation=facts.reconciliation,
    )


def check_dated_after(as_of: datetime, doc_date: date) -> None:
    """A report cannot state on its date what happened after it: refuse an as-of later than
    the end of the document's date (a report dated 23/06 cannot list items overdue on 03/09)."""
    if local_date(as_of) > doc_date:
        raise ReportError(
            f"Ngày văn bản {vi.date_short(doc_date)} đứng trước thời điểm tổng hợp "
            f"{vi.local_time(as_of)}: văn bản không thể nêu tình hình sau ngày ban hành. "
            "Hãy ghi ngày văn bản từ ngày tổng hợp trở đi, hoặc tổng hợp đến hết ngày văn bản."
        )


def _window_note(facts: Facts, as_of: datetime) -> Para:
    """The dates the figures cover, and until when units' reports were counted."""
    start, end = facts.window
    ytd_start, ytd_end = facts.to_date_window
    return Para(
        f"Số liệu trong kỳ từ ngày {vi.date_short(start)} đến ngày {vi.date_short(end)}; "
        f"lũy kế từ ngày {vi.date_short(ytd_start)} đến ngày {vi.date_short(ytd_end)}; "
        f"tổng hợp từ báo cáo của các đơn vị nhận được đến {vi.time_and_date(as_of)}.",
        ParaKind.NOTE,
    )


# --- part I: results -------------------------------------------------------------------------


def _in_period(units: Sequence[DeliverableProgress], period: Period) -> bool:
    """A deliverable belongs to the period's results when due by its end, or already done."""
    return min(u.deadline_on for u in units) <= period.end or all(u.is_done() for u in units)


def _results_part(facts: Facts, current: Deliverables, as_of: datetime) -> Part:
    """Part I: the targets (table, notes, chart), the plan's tasks, the reporting duty."""
    figure_notes = [
        Para(f"{f.target.name}: {f.note}", ParaKind.NOTE) for f in facts.figures if f.note
    ]
    targets = Part(
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
    )
    tasks = Part(
        2, "2", "Kết quả thực hiện các nhiệm vụ trọng tâm", _task_parts(facts, current, as_of)
    )
    return Part(1, vi.roman(1), "Kết quả thực hiện", (targets, tasks, reporting_part("3", facts)))


def _narratives_by_task(facts: Facts) -> dict[str | None, list[NarrativeEntry]]:
    """Each unit's report under the one task whose targets it carries; several or none: None."""
    task_codes = {t.code: _task_targets(t, facts.targets) for t in facts.tasks}
    by_task: dict[str | None, list[NarrativeEntry]] = defaultdict(list)
    for entry in facts.narratives:
        matched = [c for c, codes in task_codes.items() if codes & set(entry.target_codes)]
        by_task[matched[0] if len(matched) == 1 else None].append(entry)
    return by_task


def _task_parts(facts: Facts, current: Deliverables, as_of: datetime) -> tuple[Block, ...]:
    """One part per task; then the deliverables of no task, then the general results."""
    by_task = _narratives_by_task(facts)
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
    return tuple(task_parts)


def _task_targets(task: PlanTask, targets: Sequence[TargetSpec]) -> set[str]:
    """The task's target codes, with the parts of its ratios."""
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
    facts: Facts,
    own_narratives: Sequence[NarrativeEntry],
    deliverables: dict[str, list[DeliverableProgress]],
    as_of: datetime,
) -> Part:
    """One task's part: who leads, its targets, its deliverables, the units' results."""
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


# --- part II: shortcomings; part III: next steps and proposals --------------------------------


def _shortcomings_part(facts: Facts, groups: Deliverables, as_of: datetime) -> Part:
    """Part II: targets behind schedule, overdue deliverables, the units' difficulties."""
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
    return Part(
        1,
        vi.roman(2),
        "Tồn tại, hạn chế và nguyên nhân",
        (
            Part(2, "1", "Tồn tại, hạn chế", tuple(shortcomings)),
            Part(2, "2", "Nguyên nhân", (Para(PLACEHOLDER, ParaKind.PLACEHOLDER),)),
        ),
    )


def _next_steps_part(facts: Facts, upcoming: Deliverables, as_of: datetime) -> Part:
    """Part III: the deliverables coming due, and the units' proposals."""
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
    return Part(
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
