"""Calendar announcement files: a year's days off, swapped days and make-up Saturdays."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from plans.loader import (
    Loc,
    PlanError,
    PlanProblem,
    located,
    read_yaml,
    unreadable,
    validation_problems,
)
from plans.schema import Code, Text
from schedules.calendar import CalendarOverride, DayKind
from wording.validation import pydantic_reason

# The announcements dondoc ships: every database gets them, whatever plan it loads.
NATIONAL_CALENDAR = Path(__file__).parent / "vn-calendar.yaml"

_WEEKDAY_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnnouncedDay(_Strict):
    """One day an announcement changes: a weekday off or a weekend day worked."""

    date: dt.date
    kind: DayKind
    reason: Text

    @model_validator(mode="after")
    def _changes_the_week(self) -> AnnouncedDay:
        weekend = self.date.weekday() >= 5
        name = f"{_WEEKDAY_VI[self.date.weekday()]} {self.date:%d/%m/%Y}"
        if self.kind is DayKind.DAY_OFF and weekend:
            raise ValueError(f"{name} vốn là ngày nghỉ cuối tuần, không cần công bố nghỉ")
        if self.kind is DayKind.WORKDAY and not weekend:
            raise ValueError(f"{name} vốn là ngày làm việc, không phải ngày làm bù")
        return self


class Announcement(_Strict):
    """One government announcement (thông báo lịch nghỉ) and the days it changes."""

    code: Code
    title: Text  # e.g. "Thông báo số .../TB-BNV ngày ... về lịch nghỉ Tết Dương lịch 2026"
    days: list[AnnouncedDay] = Field(min_length=1)

    def overrides(self) -> list[CalendarOverride]:
        return [CalendarOverride(d.date, d.kind, d.reason, self.title) for d in self.days]


class AnnouncementFile(_Strict):
    announcements: list[Announcement] = Field(min_length=1)


def vietnamese_message(err: ErrorDetails) -> str:
    """A pydantic error of an announcement, said in Vietnamese."""
    if err["type"] == "enum":
        return "chỉ nhận day_off (ngày nghỉ) hoặc workday (ngày làm bù)"
    return pydantic_reason(err)


def parse_announcements(text: str, path: str = "<lịch>") -> list[Announcement]:
    """Validate an announcement file; raise PlanError with file:line, field and a Vietnamese
    message for every problem."""
    data, index = read_yaml(text, path, "tệp phải là một bảng YAML có khóa 'announcements'")
    try:
        parsed = AnnouncementFile.model_validate(data)
    except ValidationError as exc:
        raise PlanError(path, validation_problems(exc, index, vietnamese_message)) from None
    problems = located(_duplicates(parsed), index)
    if problems:
        raise PlanError(path, problems)
    return parsed.announcements


def _duplicates(parsed: AnnouncementFile) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    codes: set[str] = set()
    days: dict[dt.date, str] = {}
    for i, a in enumerate(parsed.announcements):
        if a.code in codes:
            problems.append((("announcements", i, "code"), f"mã {a.code!r} bị trùng"))
        codes.add(a.code)
        for j, d in enumerate(a.days):
            if d.date in days:
                problems.append(
                    (
                        ("announcements", i, "days", j, "date"),
                        f"ngày {d.date:%d/%m/%Y} đã có trong thông báo {days[d.date]!r}",
                    )
                )
            days[d.date] = a.code
    return problems


def read_announcements(path: Path) -> list[Announcement]:
    """Read and validate an announcement file from disk."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(str(path), [PlanProblem(None, "", unreadable(exc))]) from None
    return parse_announcements(text, str(path))
