"""The consolidated report as plain data: its document tree and tables, rendered to every format."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from reports.figures import Figure, Value
from reports.gather import DeliverableProgress, NarrativeEntry
from reports.levels import Reconciliation

PLACEHOLDER = "(Chưa có nội dung — cán bộ tổng hợp bổ sung)"
NO_DATA = "-"
# Characters XML 1.0 (DOCX, XLSX) cannot carry; a pasted narrative may contain them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


class ReportError(ValueError):
    """The report cannot be compiled as asked (no plan, a period outside the plan's year...)."""


def clean(text: str) -> str:
    """User text as plain, XML-safe text with Unix line ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("", text).strip()


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
    pending: int = 0  # not received, deadline not yet passed ("chưa đến hạn")
    period_computed: tuple[Value, ...] = ()  # a typed ratio as its parts give it


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
    ceiling: bool = False  # a limit not to pass: a marker against the limit, not a bar to fill


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
    governing_body: str  # printed above the agency's name; empty for a People's Committee
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
    reconciliation: tuple[Reconciliation, ...] = ()  # consolidating units against their inputs

    @property
    def file_stem(self) -> str:
        return f"bao-cao-{self.plan_code}-{self.period}"

    def parts(self) -> list[Part]:
        return [b for b in self.body if isinstance(b, Part)]
