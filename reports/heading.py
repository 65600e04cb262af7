"""The report's heading and closing as Nghị định 30/2020/NĐ-CP lays them out, for any issuer.

The issuing body's name (under its governing body's when it has one), the number and ký hiệu,
the plan the report answers, and the distribution list (Nơi nhận). A value the plan marks as
invented sample data (`sample_fields`) is never printed as a fact: it stays blank for the office.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.org import Unit
from models.plan import Plan
from plans.vocabulary import UnitKind
from reports.document import ReportError, clean
from schedules.periods import Cadence, Period
from wording import vietnamese as vi

# Where the office writes by hand what the plan does not give (a number, a date, a ký hiệu).
BLANK = "…"
NUMBER_BLANK = "     "
_COMMITTEE_PREFIX = "ủy ban nhân dân "
# People's Committees head their own documents (no governing body above their name); so do
# communes, towns and wards, which the plan lists by the name of their commune.
_SELF_GOVERNING = {UnitKind.COMMITTEE, UnitKind.COMMUNE, UnitKind.TOWN, UnitKind.WARD}


def agency_lines(issuer: Unit) -> tuple[str, ...]:
    """The issuer's name in capitals: "Ủy ban nhân dân huyện Cao Lộc" -> ("ỦY BAN NHÂN DÂN",
    "HUYỆN CAO LỘC"); any other name on one line."""
    name = clean(issuer.name)
    if name.lower().startswith(_COMMITTEE_PREFIX):
        cut = len(_COMMITTEE_PREFIX)
        return (name[: cut - 1].upper(), name[cut:].upper())
    return (name.upper(),)


def governing_body(issuer: Unit) -> str:
    """The body directly above a department or agency, printed over its name (Nghị định 30,
    Phụ lục I: "tên cơ quan, tổ chức chủ quản trực tiếp"), e.g. "UBND TỈNH HÀ TĨNH"; empty for
    a People's Committee or a unit whose parent the plan does not give."""
    if UnitKind(issuer.kind) in _SELF_GOVERNING or issuer.parent is None:
        return ""
    parent = issuer.parent
    return clean(parent.short_name or parent.name).upper()


def issuer_abbreviation(issuer: Unit) -> str:
    """The issuer's ký hiệu: its official abbreviation from the plan; "UBND" for a People's
    Committee that gives none; otherwise blank for the office (never made up from a name)."""
    if issuer.abbreviation:
        return issuer.abbreviation
    if UnitKind(issuer.kind) in _SELF_GOVERNING:
        return "UBND"
    return BLANK


def report_number(number: str | None, issuer_abbr: str) -> str:
    """ "Số: 05/BC-UBND"; without a number, blank for the office to fill ("Số:      /BC-UBND")."""
    if number is None or not number.strip():
        return f"Số:{NUMBER_BLANK} /BC-{issuer_abbr}"
    number = number.strip()
    if not number.isdigit():
        raise ReportError(f"Số văn bản {number!r} phải là chữ số, ví dụ 05.")
    return f"Số: {int(number):02d}/BC-{issuer_abbr}"


def plan_reference(plan: Plan) -> str:
    """ "Kế hoạch số 23/KH-UBND ngày 19/01/2024"; what the plan does not give as fact (absent
    or marked sample) is left blank: "Kế hoạch số …/KH-UBND ngày …"."""
    sample = set(plan.sample_fields or ())
    number = clean(plan.number or "") if "number" not in sample else ""
    if not number:
        number = f"{BLANK}/KH-{issuer_abbreviation(plan.issuer)}"
    issued = plan.issued_on if "issued_on" not in sample else None
    return f"Kế hoạch số {number} ngày {vi.date_short(issued) if issued else BLANK}"


def lower_first(text: str) -> str:
    """ "Triển khai ..." -> "triển khai ..."; leaves "UBND ..." alone."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def summary(plan: Plan, period: Period) -> str:
    """The line under the title: what the report is about."""
    title = lower_first(clean(plan.title))
    if period.cadence is Cadence.YEARLY and str(period.year) in title:
        return f"Kết quả {title}"
    return f"Kết quả {title} {period.title_vi}"


def opening(plan: Plan, period: Period) -> str:
    """The opening sentence: which plan the report answers, for which period."""
    issuer = clean(plan.issuer.name)
    return (
        f"Thực hiện {plan_reference(plan)} của {issuer} về việc "
        f"{lower_first(clean(plan.title))}, {issuer} báo cáo kết quả thực hiện "
        f"{period.title_vi} như sau:"
    )


def distribution(entries: Sequence[str]) -> tuple[str, ...]:
    """The recipients ("Nơi nhận"), one per line, ending with the office's own file copy."""
    kept = [clean(e).rstrip(";.") for e in entries if clean(e)]
    kept = [e.removeprefix("-").strip() for e in kept]
    kept = [e for e in kept if e and e.lower() != "lưu: vt"]
    return (*(f"- {e};" for e in kept), "- Lưu: VT.")
