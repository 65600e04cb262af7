"""Section numbers, points and rounding the way Vietnamese documents write them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from wording import vietnamese as vi


def test_roman_section_numbers() -> None:
    assert [vi.roman(n) for n in (1, 2, 3, 4, 9, 14, 40)] == [
        "I", "II", "III", "IV", "IX", "XIV", "XL",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="1–3999"):
        vi.roman(0)


def test_points_follow_the_vietnamese_alphabet() -> None:
    assert [vi.letter(n) for n in range(1, 8)] == ["a", "b", "c", "d", "đ", "e", "g"]
    with pytest.raises(ValueError):
        vi.letter(24)


def test_ties_round_half_up_as_documents_do() -> None:
    assert vi.number(Decimal("0.85"), 1) == "0,9"  # Babel alone would say 0,8
    assert vi.number(Decimal("2.5"), 0) == "3"
    assert vi.percent(Decimal(293) * 100 / 1300) == "22,5%"
    assert vi.number(1300) == "1.300" and vi.number(45600.0) == "45.600"


def test_an_instant_read_in_vietnamese_time() -> None:
    assert vi.time_and_date(datetime(2024, 3, 20, 1, 5, tzinfo=UTC)) == (
        "08 giờ 05 phút, ngày 20/03/2024"
    )
