"""How the simulated units behave: who submits on time, late or never, when, and what they send.

Everything here is a pure function of the seed and the item, so the same seed replays the same
year whatever order items are visited in. The values are SIMULATED SAMPLE DATA, said so in
every submission's narrative; they are not the district's figures.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from plans.vocabulary import TargetKind, UnitKind
from schedules.calendar import WorkCalendar, local_date, working_instant

SAMPLE_NOTE = "[Dữ liệu mô phỏng của bản chạy thử dondoc, không phải số liệu thật.]"
SUBMIT_AT = time(9, 30)  # units send in the morning, after the daily check

# Shares of the outcomes; the rest never submit.
ON_TIME_SHARE = 0.65
LATE_SHARE = 0.25
MAX_EARLY_DAYS = 5  # an on-time unit submits within the last working days before the deadline
MAX_LATE_DAYS = 8  # a late unit submits within this many working days after it


class Outcome(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    NEVER = "never"


@dataclass(frozen=True)
class ItemFacts:
    """What the simulation needs to know of an item due (plain values)."""

    item_id: int
    key: str
    kind: str  # ItemKind
    unit_code: str
    unit_kind: str  # UnitKind
    period_label: str | None
    opens_at: datetime
    deadline_on: date


@dataclass(frozen=True)
class Behaviour:
    """What the unit owing one item does."""

    item_id: int
    outcome: Outcome
    submit_on: date | None  # local working day, None for NEVER

    def submit_at(self) -> datetime | None:
        """The instant of the submission (09:30 Vietnamese time), or None."""
        if self.submit_on is None:
            return None
        return working_instant(self.submit_on, SUBMIT_AT)


def _rng(seed: int, key: str) -> random.Random:
    # Seeded per item (a string seed is hashed deterministically), so decisions do not depend
    # on iteration order or on which other items exist.
    return random.Random(f"{seed}:{key}")  # noqa: S311 - a simulation, not security


def decide(item: ItemFacts, *, seed: int, calendar: WorkCalendar) -> Behaviour:
    """The item's outcome and submission day, drawn from the seed."""
    rng = _rng(seed, item.key)
    draw = rng.random()
    first_day = calendar.roll_forward(local_date(item.opens_at))
    if draw < ON_TIME_SHARE:
        days = [first_day] if first_day <= item.deadline_on else []
        day = first_day
        while day < item.deadline_on:
            day = calendar.next_working_day(day)
            if day <= item.deadline_on:
                days.append(day)
        window = days[-MAX_EARLY_DAYS:]
        if window:
            return Behaviour(item.item_id, Outcome.ON_TIME, rng.choice(window))
        # Opens after its deadline (should not happen): it can only be late.
        return Behaviour(item.item_id, Outcome.LATE, first_day)
    if draw < ON_TIME_SHARE + LATE_SHARE:
        day = max(calendar.roll_forward(item.deadline_on), first_day)
        for _ in range(rng.randint(1, MAX_LATE_DAYS)):
            day = calendar.next_working_day(day)
        return Behaviour(item.item_id, Outcome.LATE, day)
    return Behaviour(item.item_id, Outcome.NEVER, None)


@dataclass(frozen=True)
class TargetFacts:
    code: str
    kind: TargetKind
    required: bool


# Plausible ranges for the Cao Lộc targets, per report (a month or a quarter, one unit).
_COUNT_RANGES = {
    ("viec-lam-moi", "commune"): (5, 25),
    ("viec-lam-moi", "monthly"): (20, 45),
    ("viec-lam-moi", "quarterly"): (280, 380),
    ("lao-dong-hoc-nghe", "monthly"): (45, 75),
    ("lao-dong-hoc-nghe", "quarterly"): (150, 220),
    ("lao-dong-qua-dao-tao", "quarterly"): (44_000, 47_000),
    ("lao-dong-trong-do-tuoi", "quarterly"): (66_000, 68_000),
}


def _scale(item: ItemFacts) -> str:
    if item.period_label and "Q" not in item.period_label and len(item.period_label) == 7:
        return "monthly"
    if item.unit_kind in (UnitKind.COMMUNE, UnitKind.TOWN, UnitKind.WARD):
        return "commune"
    return "quarterly"


def values_for(item: ItemFacts, targets: Sequence[TargetFacts], *, seed: int) -> dict[str, Any]:
    """Values for an obligation's targets, in the forms officers type ("67,5", "có")."""
    rng = _rng(seed, f"values:{item.key}")
    scale = _scale(item)
    quarter = int(item.period_label[-1]) if item.period_label and "Q" in item.period_label else 1
    values: dict[str, Any] = {}
    for target in targets:
        if not target.required and rng.random() < 0.5:
            continue  # optional targets are often left blank
        if target.kind is TargetKind.COUNT:
            low, high = _COUNT_RANGES.get((target.code, scale), (5, 50))
            values[target.code] = rng.randint(low, high)
        elif target.kind is TargetKind.PERCENT:
            if target.code == "ty-le-giam-ngheo":  # cumulative over the year
                number = Decimal(str(round(0.7 * quarter + rng.uniform(0, 0.4), 1)))
            else:
                number = Decimal(str(round(rng.uniform(60, 72), 1)))
            values[target.code] = str(number).replace(".", ",")
        elif target.kind is TargetKind.YES_NO:
            values[target.code] = "có" if quarter >= 3 or rng.random() < 0.2 else "không"
        else:
            values[target.code] = SAMPLE_NOTE
    parts = ("lao-dong-qua-dao-tao", "lao-dong-trong-do-tuoi")
    if "ty-le-lao-dong-qua-dao-tao" in values and all(p in values for p in parts):
        ratio = Decimal(values[parts[0]]) / Decimal(values[parts[1]]) * 100
        values["ty-le-lao-dong-qua-dao-tao"] = str(ratio.quantize(Decimal("0.1"))).replace(".", ",")
    return values


def narrative_for(item: ItemFacts, sections: Sequence[str], outcome: Outcome) -> dict[str, str]:
    """Short narrative sections, marked as simulated."""
    texts = {
        "Kết quả thực hiện": f"{SAMPLE_NOTE} Đơn vị đã triển khai các nhiệm vụ được giao trong kỳ.",
        "Khó khăn, vướng mắc": f"{SAMPLE_NOTE} Nguồn kinh phí còn hạn chế; "
        + ("báo cáo gửi chậm do thiếu cán bộ." if outcome is Outcome.LATE else "không có."),
        "Đề xuất, kiến nghị": f"{SAMPLE_NOTE} Đề nghị tiếp tục hỗ trợ tập huấn.",
    }
    return {s: texts.get(s, SAMPLE_NOTE) for s in sections}


def progress_for(behaviour: Behaviour) -> dict[str, Any]:
    """A deliverable's progress update: done, on the day it is sent."""
    assert behaviour.submit_on is not None
    return {
        "state": "done",
        "note": f"{SAMPLE_NOTE} Đã hoàn thành.",
        "on": behaviour.submit_on.isoformat(),
    }
