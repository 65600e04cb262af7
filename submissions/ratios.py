"""A ratio typed beside its parts: what the parts give, and the warning when the two disagree.

A unit may type a rate (tỷ lệ lao động qua đào tạo, 80%) and the counts it comes from
(45.600 of 67.556). What it typed is kept everywhere; the value computed from the parts is shown
beside it, and a difference larger than the typed value's own rounding is a warning (at
submission and in the report), never a refusal: the office decides which figure is right.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from wording import vietnamese as vi

HUNDRED = Decimal(100)


def ratio_of(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    """100 × numerator ÷ denominator; None without both parts or with a zero denominator."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator * HUNDRED / denominator


def beyond_rounding(typed: Decimal, computed: Decimal) -> bool:
    """True when `typed` is not `computed` written to the typed value's own decimals, rounded
    half up or cut (67,6 and 67,5 both stand for 67,567…; 80 and 68 do not)."""
    exponent = typed.normalize().as_tuple().exponent
    step = Decimal(1).scaleb(min(exponent, 0) if isinstance(exponent, int) else 0)
    written = {computed.quantize(step, rounding=r) for r in (ROUND_HALF_UP, ROUND_DOWN)}
    return typed.quantize(step) not in written


def ratio_warning(
    name: str, typed: Decimal, numerator: Decimal | None, denominator: Decimal | None
) -> str | None:
    """The warning for a typed ratio its parts do not give, in Vietnamese; None if they agree."""
    computed = ratio_of(numerator, denominator)
    if computed is None or not beyond_rounding(typed, computed):
        return None
    return (
        f"{name}: đã nhập {vi.percent(typed, 2)}, nhưng tính từ số liệu thành phần được "
        f"{vi.percent(computed, 2)}; đề nghị kiểm tra lại (số đã nhập vẫn được giữ)."
    )
