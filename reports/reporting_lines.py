"""How units kept to the reporting duty: counts per obligation, the late and the missing units."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from reports.document import Block, Para, ParaKind, Part, ReportingLine
from reports.facts import Facts
from schedules.calendar import local_date
from status.states import NOT_DUE_YET, ItemState, ItemStatus
from wording import vietnamese as vi


def reporting_lines(states: Sequence[ItemState], titles: dict[str, str]) -> list[ReportingLine]:
    """The units that reported late or not at all, with their dates."""
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


def reporting_part(label: str, facts: Facts) -> Part:
    """The part on the reporting duty: received and on time per obligation, late, missing."""
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
        pending = [s for s in counted if s.status in NOT_DUE_YET]
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
    lines = reporting_lines(facts.states, {c: o.title for c, o in facts.obligations.items()})
    late = [x for x in lines if x.status == ItemStatus.SUBMITTED_LATE]
    missing = [x for x in lines if x.status == ItemStatus.OVERDUE]
    if late:
        blocks.append(Para("Đơn vị gửi báo cáo muộn:", ParaKind.BULLET))
        blocks.extend(
            Para(
                f"{x.unit_name} ({vi.period(x.period_label)}): hạn "
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
                f"{x.unit_name} ({vi.period(x.period_label)}): hạn "
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
