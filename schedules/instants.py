"""Instants as people and files write them: ISO 8601; a bare date or naive time is Vietnamese."""

from __future__ import annotations

from datetime import datetime

import pendulum

from schedules.calendar import VN_TZ


def parse_instant(text: str, *, date_means_midnight: bool = True) -> datetime:
    """`2024-03-20T08:00+07:00` as given; `2024-03-20T08:00` and `2024-03-20` in Vietnamese time.

    A bare date is its first instant (00:00 in Vietnam) unless `date_means_midnight` is false,
    when it is refused. Raises ValueError for anything else; the result is in UTC.
    """
    try:
        parsed = pendulum.parse(text, tz=VN_TZ)
    except (ValueError, pendulum.parsing.exceptions.ParserError) as exc:
        raise ValueError(f"{text!r} is not a date or time") from exc
    if isinstance(parsed, pendulum.DateTime):
        return parsed.in_timezone("UTC")
    if isinstance(parsed, pendulum.Date) and date_means_midnight:
        return pendulum.datetime(parsed.year, parsed.month, parsed.day, tz=VN_TZ).in_timezone("UTC")
    raise ValueError(f"{text!r} is not an instant (e.g. 2024-03-19T08:00+07:00)")
