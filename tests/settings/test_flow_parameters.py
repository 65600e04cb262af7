"""The run form an admin fills in: Vietnamese titles and help, a period pattern that refuses a
bad period before any run starts, and a bare year accepted as `--param period=2024` sends it."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.exceptions import ParameterTypeError
from prefect.utilities.schema_tools.validation import ValidationError, validate

from flows.check_and_escalate import check_and_escalate
from flows.collect_submissions import collect_submissions
from flows.compile_report import compile_report, period_label
from schedules.periods import LABEL_PATTERN, Cadence, Period

GOOD_PERIODS: list[Any] = [2024, "2024", "2024-Q1", "2024-06", "2024-12", "2024-H1", "2024-W05"]
BAD_PERIODS: list[Any] = [
    24,
    "24",
    "2024-Q5",
    "2024-13",
    "2024-00",
    "2024-H3",
    "2024-W54",
    "2024/06",
    "Q1-2024",
    "2024-q1",
    " 2024",
    "quý 1",
    2024.5,
    None,
]


def schema(flow: Any) -> dict[str, Any]:
    """The parameter schema as the deployment sends it to the server (and the UI's form)."""
    deployment = flow.to_deployment(name="form")
    return deployment._parameter_openapi_schema.model_dump()  # type: ignore[no-any-return]


def test_every_parameter_has_a_vietnamese_title_and_help() -> None:
    for flow in (compile_report, check_and_escalate, collect_submissions):
        for name, field in schema(flow)["properties"].items():
            assert field["title"] != name, (flow.name, name)
            assert any(ch in field["title"] + field["description"] for ch in "ăâđêôơưạảấầ"), name
    titles = {k: v["title"] for k, v in schema(compile_report)["properties"].items()}
    assert titles["period"] == "Kỳ báo cáo" and titles["out_dir"] == "Thư mục lưu tệp"
    assert titles["plan_code"] == "Mã kế hoạch"


@pytest.mark.parametrize("period", GOOD_PERIODS)
def test_the_server_and_the_flow_accept_a_period(period: Any) -> None:
    validate({"period": period}, schema(compile_report), raise_on_error=True)
    checked = compile_report.validate_parameters({"period": period})
    assert period_label(checked["period"]) == str(period)


@pytest.mark.parametrize("period", BAD_PERIODS)
def test_the_server_and_the_flow_refuse_a_bad_period(period: Any) -> None:
    with pytest.raises(ValidationError):
        validate({"period": period}, schema(compile_report), raise_on_error=True)
    with pytest.raises(ParameterTypeError):
        compile_report.validate_parameters({"period": period})


def test_a_bare_year_reaches_the_flow_as_the_year_label() -> None:
    checked = compile_report.validate_parameters({"period": 2024})
    assert checked["period"] == 2024 and period_label(checked["period"]) == "2024"


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_every_label_the_plans_produce_matches_the_pattern(year: int) -> None:
    import re

    for cadence in Cadence:
        for index in range(1, cadence.count_in_year(year) + 1):
            label = Period(year, cadence, index).label
            assert re.fullmatch(LABEL_PATTERN, label), label


@pytest.mark.parametrize(
    ("as_of", "good"),
    [
        ("2024-03-20", True),
        ("2024-03-20T08:00", True),
        ("2024-03-20T08:00:00+07:00", True),
        ("2024-03-20 08:00Z", True),
        ("20/03/2024", False),
        ("hôm qua", False),
    ],
)
def test_the_daily_checks_instant_is_checked_by_the_form(as_of: str, good: bool) -> None:
    if good:
        validate({"as_of": as_of}, schema(check_and_escalate), raise_on_error=True)
        return
    with pytest.raises(ValidationError):
        validate({"as_of": as_of}, schema(check_and_escalate), raise_on_error=True)
