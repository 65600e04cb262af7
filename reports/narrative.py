"""What units wrote (results, difficulties, proposals) and how deliverables stand, as paragraphs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from reports.document import Para, ParaKind, clean
from reports.gather import DeliverableProgress, NarrativeEntry
from wording import vietnamese as vi

# The narrative sections units fill in (obligations' `narrative_sections`).
RESULTS = "Kết quả thực hiện"
DIFFICULTIES = "Khó khăn, vướng mắc"
PROPOSALS = "Đề xuất, kiến nghị"


@lru_cache(maxsize=256)  # a province's report names the same few periods thousands of times
def _unit_period(entry: NarrativeEntry) -> str:
    return f"{entry.unit_name} ({vi.period(entry.period_label)})"


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


def deliverable_groups(
    progress: Sequence[DeliverableProgress],
) -> dict[str, list[DeliverableProgress]]:
    """Each deliverable's standing on its units, by deliverable code, in order."""
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
