"""Plan files: every mistake is reported with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from plans.loader import PlanError, parse_plan, read_plan

MINI = Path(__file__).parent / "data" / "mini-plan.yaml"


def _edit(old: str, new: str) -> str:
    text = MINI.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def test_the_mini_plan_is_valid() -> None:
    plan = read_plan(MINI)
    assert [u.code for u in plan.units] == ["ubnd", "phong-a", "xa-mot", "xa-hai"]


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        ("  year: 2024", "  year: hai nghìn", 6, "plan.year", "valid integer"),
        (
            "    reporters: [cac-xa]",
            "    reporters: [xa-ba]",
            63,
            "obligations[0].reporters[0]",
            "unknown unit or group 'xa-ba'",
        ),
        ("    due_on: 2024-02-10", "    due_on: 2024-02-30", 56, "deliverables[0].due_on", "date"),
        (
            "    kind: commune\n    parent: ubnd\n    valid_to",
            "    kind: village\n    parent: ubnd\n    valid_to",
            24,
            "units[3].kind",
            "Input should be",
        ),
        ('    goal: ">= 100"', '    goal: "nhiều"', 37, "targets[0]", "must look like"),
        (
            "    lead_unit: phong-a",
            "    lead_unit: phong-a\n    colour: red",
            49,
            "tasks[0].colour",
            "Extra inputs are not permitted",
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
    assert "not valid YAML" in str(caught.value)


def test_duplicate_codes_are_reported() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(_edit("  - code: xa-hai", "  - code: xa-mot"), "x.yaml")
    assert "duplicate code 'xa-mot'" in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    text = _edit("    recipient: phong-a\n    targets", "    recipient: phong-b\n    targets")
    text = text.replace("    leader: lanh-dao", "    leader: ai-do")
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "x.yaml")
    fields = [p.field for p in caught.value.problems]
    assert "tasks[0].leader" in fields and "obligations[0].recipient" in fields
