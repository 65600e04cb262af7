"""pydantic's refusals said in Vietnamese: one reason per error type, never its English text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# What a value should have been, by the first word of pydantic's error type.
_EXPECTED = {
    "int": "số nguyên",
    "float": "số",
    "decimal": "số",
    "string": "chuỗi ký tự",
    "bool": "true hoặc false",
    "dict": "một đối tượng {...}",
    "model": "một đối tượng {...}",
    "list": "một danh sách [...]",
    "datetime": "thời điểm dạng ISO 8601",
    "time": "giờ dạng GG:PP",
}


def pydantic_reason(err: Mapping[str, Any]) -> str:
    """Why one pydantic error refused a value, in Vietnamese (without the field's name).

    A rule of dondoc's own (a `ValueError` in a validator) already speaks Vietnamese: its
    message is kept, without pydantic's English "Value error, " before it.
    """
    kind = str(err.get("type", ""))
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err.get("msg", ""))).removeprefix("Value error, ")
    if kind.startswith("date_"):
        shown = f": {err['input']!r}" if isinstance(err.get("input"), str) else ""
        return f"ngày không hợp lệ{shown} (viết theo dạng NNNN-TT-NN, ví dụ 2024-03-20)"
    if kind == "missing":
        return "thiếu trường bắt buộc"
    if kind == "extra_forbidden":
        return "trường không có trong mẫu (kiểm tra chính tả)"
    if kind in ("literal_error", "enum"):
        allowed = str(ctx.get("expected", "")).replace(" or ", " hoặc ")
        return f"phải là một trong các giá trị {allowed}"
    if kind == "string_pattern_mismatch":
        if "A-Z" in str(ctx.get("pattern", "")):  # an official abbreviation, e.g. SNNMT
            return "chỉ gồm chữ in hoa và chữ số, viết liền (ví dụ SNNMT)"
        return "mã chỉ gồm chữ thường không dấu, số và . _ -"
    if kind in ("string_too_short", "too_short"):
        if ctx.get("min_length") == 1:
            return "không được để trống" if kind == "string_too_short" else "cần ít nhất một mục"
        return "quá ngắn"
    if kind == "string_too_long":
        return f"quá dài (tối đa {ctx.get('max_length')} ký tự)"
    if kind == "too_long":
        return f"quá nhiều mục (tối đa {ctx.get('max_length')})"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "")
        words = {"greater": "lớn hơn", "less": "nhỏ hơn"}[kind.split("_")[0]]
        return f"phải {words}{' hoặc bằng' if kind.endswith('equal') else ''} {bound}"
    expected = _EXPECTED.get(kind.split("_")[0])
    if expected is not None and kind.endswith(("_type", "_parsing", "_from_float", "_value")):
        return f"phải là {expected}"
    return "không đúng dạng"
