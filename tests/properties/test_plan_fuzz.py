"""Whatever a plan file contains, loading it succeeds or raises PlanError with a located problem."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from plans.loader import PlanError, parse_plan

LINES = (
    (Path(__file__).parent.parent / "data" / "mini-plan.yaml")
    .read_text(encoding="utf-8")
    .splitlines()
)
JUNK = st.sampled_from(
    [
        "",
        "  - x",
        "kind: 12",
        "  code: ' '",
        "- [",
        "due_on: 2024-13-01",
        "year: -1",
        "\t",
        "{}",
        "units: null",
        "  valid_to: 2023-01-01",
        "deadline: {kind: day_of_month, day: 40}",
        "ồ: ạ",
    ]
)


@st.composite
def mutated_plans(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "replace", "insert", "duplicate"]))
        if op == "delete":
            del lines[i]
        elif op == "replace":
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            lines[i] = indent + draw(JUNK)
        elif op == "insert":
            lines.insert(i, draw(JUNK))
        else:
            lines.insert(i, lines[i])
    return "\n".join(lines)


@settings(max_examples=400, deadline=None)
@given(mutated_plans())
def test_broken_plans_fail_cleanly(text: str) -> None:
    try:
        parse_plan(text, "fuzz.yaml")
    except PlanError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.message
            assert str(exc).startswith("fuzz.yaml")
