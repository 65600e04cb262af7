"""The plan's vocabulary: every kind and state the plan and submissions speak."""

from __future__ import annotations

from enum import StrEnum


class UnitKind(StrEnum):
    COMMITTEE = "committee"  # Ủy ban nhân dân
    DEPARTMENT = "department"  # phòng chuyên môn
    CENTRE = "centre"  # trung tâm (sự nghiệp)
    COMMUNE = "commune"  # xã
    TOWN = "town"  # thị trấn
    WARD = "ward"  # phường
    ORGANISATION = "organisation"  # Mặt trận, tổ chức chính trị - xã hội
    AGENCY = "agency"  # other state agencies (bank branch, provincial centre...)
    EXTERNAL = "external"  # enterprises, cooperatives, schools outside the district


class PersonRole(StrEnum):
    REPORTING_OFFICER = "reporting_officer"  # cán bộ đầu mối báo cáo
    UNIT_HEAD = "unit_head"  # thủ trưởng đơn vị
    LEADER_IN_CHARGE = "leader_in_charge"  # lãnh đạo phụ trách
    ADMIN = "admin"  # the officer who compiles


# How pages, the CLI and the office's forms name each kind of unit and each person's role:
# one wording everywhere.
UNIT_KIND_VI: dict[str, str] = {
    UnitKind.COMMITTEE: "Ủy ban nhân dân",
    UnitKind.DEPARTMENT: "Phòng chuyên môn",
    UnitKind.CENTRE: "Trung tâm (đơn vị sự nghiệp)",
    UnitKind.COMMUNE: "Xã",
    UnitKind.TOWN: "Thị trấn",
    UnitKind.WARD: "Phường",
    UnitKind.ORGANISATION: "Mặt trận, tổ chức chính trị - xã hội",
    UnitKind.AGENCY: "Cơ quan nhà nước khác",
    UnitKind.EXTERNAL: "Doanh nghiệp, tổ chức ngoài hệ thống",
}
PERSON_ROLE_VI: dict[str, str] = {
    PersonRole.REPORTING_OFFICER: "Cán bộ đầu mối báo cáo",
    PersonRole.UNIT_HEAD: "Thủ trưởng đơn vị",
    PersonRole.LEADER_IN_CHARGE: "Lãnh đạo phụ trách",
    PersonRole.ADMIN: "Cán bộ tổng hợp",
}


class TargetKind(StrEnum):
    COUNT = "count"
    PERCENT = "percent"
    YES_NO = "yes_no"
    TEXT = "text"


# Stored comparators of the goals that are not one bound (targets.comparator, 4 characters).
RANGE = ".."  # between goal_number and goal_upper, both included ("từ 90% đến 95%")
REDUCTION = "-%"  # at least goal_number % below the baseline ("giảm 10% trở lên")


class Aggregation(StrEnum):
    """How a target's values combine over time and across units."""

    SUM = "sum"  # flows: jobs created, classes opened
    LAST = "last"  # stocks and rates: the latest value
    MAX = "max"
    RATIO = "ratio"  # a rate computed from summed parts, never an average of percentages


class ObligationKind(StrEnum):
    PERIODIC = "periodic"  # định kỳ
    AD_HOC = "ad_hoc"  # đột xuất
    THEMATIC = "thematic"  # chuyên đề


class ItemKind(StrEnum):
    REPORT = "report"
    DELIVERABLE = "deliverable"


class ProgressState(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
