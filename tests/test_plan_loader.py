"""Plan files: every mistake is reported with file, line and field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from plans.loader import PlanError, parse_plan, read_plan

MINI = Path(__file__).parent / "data" / "mini-plan.yaml"


def _edit(old: str, new: str) -> str:
    text = MINI.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


MONTHLY_RULE = (
    "    cadence: monthly\n    window: decree09\n    deadline: {kind: working_days_after, n: 2}"
)


def test_the_mini_plan_is_valid() -> None:
    plan = read_plan(MINI)
    assert [u.code for u in plan.units] == ["ubnd", "phong-a", "xa-mot", "xa-hai"]


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        ("  year: 2024", "  year: hai nghìn", 6, "plan.year", "phải là số nguyên"),
        (
            "    reporters: [cac-xa]",
            "    reporters: [xa-ba]",
            63,
            "obligations[0].reporters[0]",
            "kế hoạch không có đơn vị hoặc nhóm mã 'xa-ba'",
        ),
        (
            "    due_on: 2024-02-10",
            "    due_on: 2024-02-30",
            56,
            "deliverables[0].due_on",
            "ngày không hợp lệ: '2024-02-30'",
        ),
        (
            "    kind: commune\n    parent: ubnd\n    valid_to",
            "    kind: village\n    parent: ubnd\n    valid_to",
            24,
            "units[3].kind",
            "phải là một trong các giá trị",
        ),
        ('    goal: ">= 100"', '    goal: "nhiều"', 37, "targets[0]", "không đúng dạng"),
        (
            "    lead_unit: phong-a",
            "    lead_unit: phong-a\n    colour: red",
            49,
            "tasks[0].colour",
            "trường không có trong mẫu",
        ),
        (
            "    deadline: {kind: working_days_after, n: 2}",
            "    deadline: {kind: working_days_after}",
            62,
            "obligations[0].deadline",
            "n is required",
        ),
    ],
)
def test_a_mistake_names_file_line_and_field(
    old: str, new: str, line: int, field: str, message: str
) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(_edit(old, new), "plans/mini.yaml")
    problems = caught.value.problems
    assert any(p.line == line and p.field == field and message in p.message for p in problems), str(
        caught.value
    )
    assert f"plans/mini.yaml:{line}: {field}:" in str(caught.value)


def test_broken_yaml_says_where() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(_edit("  year: 2024", "  year: [2024"), "x.yaml")
    assert caught.value.problems[0].line is not None
    assert "không phải YAML hợp lệ" in str(caught.value)


def test_duplicate_codes_are_reported() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(_edit("  - code: xa-hai", "  - code: xa-mot"), "x.yaml")
    assert "mã 'xa-mot' bị trùng" in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    text = _edit("    recipient: phong-a\n    targets", "    recipient: phong-b\n    targets")
    text = text.replace("    leader: lanh-dao", "    leader: ai-do")
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "x.yaml")
    fields = [p.field for p in caught.value.problems]
    assert "tasks[0].leader" in fields and "obligations[0].recipient" in fields


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        (
            "    deadline: {kind: working_days_after, n: 2}",
            "    deadline: {kind: weekday, weekday: friday}",
            58,
            "obligations[0]",
            "chỉ dùng cho báo cáo hằng tuần",
        ),
        (
            "    cadence: monthly",
            "    cadence: weekly",
            58,
            "obligations[0]",
            "",  # a weekly report with the monthly rule is fine: only checks it loads
        ),
        (
            MONTHLY_RULE,
            "    cadence: weekly\n    window: decree09\n    deadline: {kind: day_of_month, day: 5}",
            58,
            "obligations[0]",
            "không dùng hạn theo ngày trong tháng",
        ),
        (
            MONTHLY_RULE,
            "    cadence: quarterly\n    window: decree09\n"
            "    deadline: {kind: day_of_month, day: 5, month_offset: -3}",
            58,
            "obligations[0]",
            "hạn rơi vào trước tháng đầu của kỳ báo cáo",
        ),
        (
            "    recipient: phong-a\n    targets: [viec-lam]\n",
            "    recipient: phong-a\n    targets: [viec-lam]\n    from: 2024-07-01\n"
            "    until: 2024-03-31\n",
            58,
            "obligations[0]",
            "ngày kết thúc (until) đứng trước ngày bắt đầu (from)",
        ),
        (
            "    recipient: phong-a\n    targets: [viec-lam]\n",
            "    recipient: [phong-a, phong-z]\n    targets: [viec-lam]\n",
            64,
            "obligations[0].recipient[1]",
            "kế hoạch không có đơn vị mã 'phong-z'",
        ),
        (
            "    valid_to: 2024-06-30\n",
            "    successor: xa-mot\n",
            22,
            "units[3]",
            "đơn vị có đơn vị kế thừa (successor) cần ngày chấm dứt (valid_to)",
        ),
        (
            "    valid_to: 2024-06-30\n",
            "    valid_to: 2024-06-30\n    successor: xa-mot\n",
            27,
            "units[3].successor",
            "",  # xa-mot has no start date: any successor may follow
        ),
        (
            "  - code: xa-mot\n    name: UBND xã Một\n    kind: commune\n",
            "  - code: xa-mot\n    name: UBND xã Một\n    kind: commune\n"
            "    valid_from: 2024-06-01\n",
            0,
            "",
            "",
        ),
        (
            "    recipient: phong-a\n    due_on: 2024-02-10",
            "    recipient: phong-a\n    from: 2024-03-01\n    due_on: 2024-02-10",
            52,
            "deliverables[0]",
            "hạn (due_on) đứng trước ngày bắt đầu (from)",
        ),
        (
            "  year: 2024\n",
            "  year: 2024\n  issued_on: 2024-02-20\n",
            57,
            "deliverables[0].due_on",
            "hạn 10/02/2024 đứng trước ngày ban hành kế hoạch 20/02/2024",
        ),
    ],
)
def test_what_a_plan_cannot_say(old: str, new: str, line: int, field: str, message: str) -> None:
    text = _edit(old, new)
    if not message:
        parse_plan(text)  # valid
        return
    with pytest.raises(PlanError) as info:
        parse_plan(text, "x.yaml")
    assert f"x.yaml:{line}: {field}: " in str(info.value)
    assert message in str(info.value)


def test_a_successor_starts_after_its_predecessor_ends() -> None:
    text = _edit(
        "    valid_to: 2024-06-30\n", "    valid_to: 2024-06-30\n    successor: xa-mot\n"
    ).replace(
        "  - code: xa-mot\n    name: UBND xã Một\n    kind: commune\n",
        "  - code: xa-mot\n    name: UBND xã Một\n    kind: commune\n    valid_from: 2024-06-01\n",
    )
    with pytest.raises(PlanError) as info:
        parse_plan(text, "x.yaml")
    assert "x.yaml:28: units[3].successor: đơn vị kế thừa 'xa-mot' bắt đầu (01/06/2024)" in str(
        info.value
    )


def test_a_succession_cannot_loop() -> None:
    text = _edit("    valid_to: 2024-06-30\n", "    valid_to: 2024-06-30\n    successor: xa-mot\n")
    text = text.replace(
        "    kind: commune\n    parent: ubnd\n  - code: xa-hai",
        "    kind: commune\n    parent: ubnd\n    valid_to: 2024-12-31\n    successor: xa-hai\n"
        "  - code: xa-hai",
    )
    with pytest.raises(PlanError, match="chuỗi kế thừa quay vòng"):
        parse_plan(text)


@pytest.mark.parametrize("name", ["province-department.yaml", "commune-2025-reform.yaml"])
def test_other_offices_plans_are_valid(name: str) -> None:
    plan = read_plan(Path(__file__).parent / "data" / "plans" / name)
    assert plan.obligations


@pytest.mark.parametrize(
    ("goal", "stored"),
    [
        ('">= 100"', (">=", 100, None, None)),
        ('"90-95"', ("..", 90, 95, None)),
        ('"90,5 - 95"', ("..", Decimal("90.5"), 95, None)),
        ('"90..95"', ("..", 90, 95, None)),
        ('"-10%"\n    baseline: 240', ("-%", 10, None, 240)),
    ],
)
def test_goals_one_bound_a_range_or_a_reduction(goal: str, stored: tuple[object, ...]) -> None:
    (target,) = parse_plan(_edit('">= 100"', goal), "plans/mini.yaml").targets
    parsed = target.parsed_goal()
    assert (parsed.comparator, parsed.number, parsed.upper, target.baseline) == stored


@pytest.mark.parametrize(
    ("goal", "message"),
    [
        ('"95-90"', "mục tiêu (goal) '95-90': cận dưới phải nhỏ hơn cận trên"),
        ('"90-90"', "cận dưới phải nhỏ hơn cận trên"),
        ('"-10%"', "mục tiêu giảm (goal '-10%') cần mức so sánh (baseline) lớn hơn 0"),
        ('"-10%"\n    baseline: 0', "cần mức so sánh (baseline) lớn hơn 0"),
        ('">= 100"\n    baseline: 240', "chỉ mục tiêu giảm (goal: '-10%') mới có mức so sánh"),
        ('"giảm 10%"', "không đúng dạng: '>= 1300' (trở lên)"),
        ('"10%-"', "không đúng dạng"),
    ],
)
def test_a_wrong_range_or_reduction_names_file_line_and_field(goal: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(_edit('">= 100"', goal), "plans/mini.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (37, "targets[0]") and message in problem.message
    assert str(caught.value).startswith("plans/mini.yaml:37: targets[0]: ")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("abbreviation", "snn", "chỉ gồm chữ in hoa và chữ số, viết liền (ví dụ SNNMT)"),
        ("code", "Phong A", "mã chỉ gồm chữ thường không dấu, số và . _ -"),
    ],
)
def test_a_pattern_refusal_says_the_rule_of_its_own_field(
    field: str, value: str, reason: str
) -> None:
    from pydantic import ValidationError

    from plans.schema import UnitEntry
    from wording.validation import pydantic_reason

    unit = {"code": "so-nn", "name": "Sở Nông nghiệp", "kind": "department", field: value}
    with pytest.raises(ValidationError) as refused:
        UnitEntry.model_validate(unit)
    assert [pydantic_reason(e) for e in refused.value.errors()] == [reason]
