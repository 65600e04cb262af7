"""Properties of reading values the Vietnamese way ("1.300", "67,5"), over generated cases.

What an official reads back (the receipt, the report) must read in again as the same value,
whichever way it was first written; every other input is refused with a Vietnamese reason,
never an exception of another kind. The last test sends generated figures through the real
API and storage on both backends.
"""

from __future__ import annotations

import math
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import models  # noqa: F401  (submissions.values needs the models imported first)
from plans.vocabulary import TargetKind
from submissions.values import (
    MAX_DECIMALS,
    MAX_NUMBER,
    Value,
    ValueProblem,
    display,
    parse_count,
    parse_day,
    parse_flag,
    parse_percent,
    parse_text,
    parse_value,
)
from tests.support.intake import Portal, new_token

COUNTS = st.integers(min_value=0, max_value=int(MAX_NUMBER) - 1).map(Decimal)
PERCENTS = st.decimals(
    min_value=0, max_value=100, places=MAX_DECIMALS, allow_nan=False, allow_infinity=False
).map(lambda d: d.normalize())
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.from_regex(r"\A[+-]?[\d., \u00a0]{1,20}%?\Z")
)
_VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựđ«]")


def _spaced(text: str, space: str) -> str:
    """ "1.300.000" -> "1 300 000": how spreadsheets group thousands with spaces."""
    return text.replace(".", space)


@settings(max_examples=300, deadline=None)
@given(COUNTS, st.sampled_from([" ", "\u00a0", "\u202f"]))
@example(Decimal(1300), " ")
def test_a_count_reads_back_as_shown(n: Decimal, space: str) -> None:
    shown = display(TargetKind.COUNT, Value(number=n))  # "1.300"
    assert parse_count(shown) == n
    assert parse_count(_spaced(shown, space)) == n
    assert parse_count(int(n)) == n
    assert parse_count(str(n)) == n
    if n < 2**53:
        assert parse_count(float(n)) == n  # what a spreadsheet cell holds


@settings(max_examples=300, deadline=None)
@given(PERCENTS)
@example(Decimal("67.5"))
@example(Decimal("0.000001"))
@example(Decimal(100))
def test_a_percentage_reads_back_as_shown_and_every_spelling_is_the_same_value(
    p: Decimal,
) -> None:
    shown = display(TargetKind.PERCENT, Value(number=p))  # "67,5%"
    readings = {
        "shown": parse_percent(shown),
        "without %": parse_percent(shown.removesuffix("%")),
        "JSON number": parse_percent(float(p)),
        "comma": parse_percent(format(p, "f").replace(".", ",")),
    }
    decimals = -p.as_tuple().exponent if isinstance(p.as_tuple().exponent, int) else 0
    if decimals != 3:  # "12.345" is twelve thousand... by the documented rule
        readings["dot"] = parse_percent(format(p, "f"))
    assert set(readings.values()) == {p}, readings
    canonical = {Value(number=v).canonical() for v in readings.values()}
    assert len(canonical) == 1  # so an idempotent resend in another spelling is a replay


@settings(max_examples=50, deadline=None)
@given(st.booleans())
def test_yes_no_reads_back_as_shown(flag: bool) -> None:
    shown = display(TargetKind.YES_NO, Value(flag=flag))
    assert parse_flag(shown) is flag
    assert parse_flag(shown.upper()) is flag and parse_flag(f"  {shown.lower()} ") is flag


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_dates_read_in_every_written_form(day: date) -> None:
    assert parse_day(day.strftime("%d/%m/%Y")) == day
    assert parse_day(f"{day.day}/{day.month}/{day.year:04d}") == day
    assert parse_day(f"{day.day:02d}-{day.month:02d}-{day.year:04d}") == day
    assert parse_day(day.isoformat()) == day


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_text_reading_is_idempotent(raw: str) -> None:
    try:
        once = parse_text(raw)
    except ValueProblem as problem:
        assert _VIETNAMESE.search(problem.message)
        return
    assert parse_text(once) == once
    assert display(TargetKind.TEXT, Value(text=once)) == once


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(TargetKind)), SCALARS)
@example(TargetKind.COUNT, "1e5")
@example(TargetKind.PERCENT, "nan")
@example(TargetKind.COUNT, "1" * 400)
def test_any_input_is_read_or_refused_in_vietnamese(kind: TargetKind, raw: Any) -> None:
    try:
        value = parse_value(kind, raw)
    except ValueProblem as problem:
        assert problem.code and _VIETNAMESE.search(problem.message), problem.message
        return
    if value.number is not None:
        assert value.number.is_finite() and abs(value.number) < MAX_NUMBER
        if kind is TargetKind.COUNT:
            assert value.number >= 0 and value.number == value.number.to_integral_value()
        if kind is TargetKind.PERCENT:
            assert 0 <= value.number <= 100
        again = parse_value(kind, display(kind, value))
        assert again.number == value.number  # what is shown reads back as what was stored


# --- found by these properties -------------------------------------------------------------


# A leading 0 group is not thousands: a machine's «0.300» (0,3) is no count of 300.
@pytest.mark.parametrize("raw", ["0.300", "0.050", "000.001"])
def test_a_zero_before_a_thousands_dot_is_not_read_as_thousands(raw: str) -> None:
    with pytest.raises(ValueProblem):
        parse_count(raw)


@pytest.mark.parametrize(
    ("kind", "raw"),
    [(TargetKind.COUNT, r) for r in ("-0", "-0.000", -0.0)]
    + [(TargetKind.PERCENT, r) for r in ("-0", "-0,0", -0.0, "-0%")],
)
def test_minus_zero_is_zero(kind: TargetKind, raw: Any) -> None:
    value = parse_value(kind, raw)
    assert value.canonical() == Value(number=Decimal(0)).canonical()  # one content hash
    assert display(kind, value) in ("0", "0%")


# --- through the API and the database ---------------------------------------------------


@pytest.fixture
def token(portal: Portal) -> str:
    """A unit's token, made once for all the examples of a test."""
    return new_token(portal.engine, "xa-mot")


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(count=COUNTS, percent=PERCENTS)
@example(count=Decimal(1300), percent=Decimal("67.5"))
def test_figures_sent_in_vietnamese_come_back_the_same_from_storage(
    portal: Portal, token: str, count: Decimal, percent: Decimal
) -> None:
    assume(len(percent.as_tuple().digits) <= 9)  # within what SQLite's float column keeps
    body = {
        "obligation": "bao-cao-thang",
        "period": "2024-04",
        "values": {
            "viec-lam": display(TargetKind.COUNT, Value(number=count)),
            "ty-le": display(TargetKind.PERCENT, Value(number=percent)),
        },
    }
    with portal.client(token) as client:
        sent = client.post("/api/v1/submissions", json=body)
        assert sent.status_code == 201, sent.text
        back = client.get(f"/api/v1/receipts/{sent.json()['receipt_no']}").json()
    assert back["values_shown"] == body["values"]
    assert Decimal(str(back["values"]["viec-lam"])) == count
    assert math.isclose(back["values"]["ty-le"], float(percent), rel_tol=0, abs_tol=1e-9)
    assert parse_percent(back["values_shown"]["ty-le"]) == percent
