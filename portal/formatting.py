"""Jinja2 filters: instants and dates the Vietnamese way, in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import date, datetime

from jinja2 import Environment

from wording import vietnamese
from wording.vietnamese import local_time


def day(value: date | datetime) -> str:
    return vietnamese.date_short(value)


def weekday(value: date | datetime) -> str:
    return vietnamese.weekday_date(value)


def size(n: int) -> str:
    if n < 1024:
        return f"{n} byte"
    if n < 1024 * 1024:
        return f"{vietnamese.number(n / 1024, 1)} KB"
    return f"{vietnamese.number(n / (1024 * 1024), 1)} MB"


def sender(label: str) -> str:
    """Who sent a submission, from its audit label, as an official reads it."""
    kind, _, rest = label.partition(":")
    if kind == "unit":
        unit, _, token = rest.partition(" token#")
        return f"cán bộ đơn vị {unit} (mã truy cập số {token})" if token else f"đơn vị {unit}"
    if kind == "cli":
        return f"quản trị, dòng lệnh ({rest})"
    if kind == "inbox":
        return "thư mục nhận tệp"
    if kind == "admin" or label.startswith("admin"):
        return "quản trị"
    return label


def install(env: Environment) -> None:
    env.filters.update(
        local_time=local_time,
        day=day,
        weekday=weekday,
        size=size,
        sender=sender,
        period=vietnamese.period,
    )
