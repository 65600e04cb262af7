"""Vietnamese message texts: one digest per recipient and channel, from Jinja2 templates."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import pendulum
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifications.channels import ChannelName
from schedules.calendar import VN_TZ
from schedules.escalation import OVERDUE, REMINDER
from schedules.periods import Period
from wording import vietnamese

ZALO_MAX_CHARS = 2000

# Which template family each channel uses.
_FAMILY = {
    ChannelName.EMAIL: "email",
    ChannelName.ZALO_OA: "zalo",
    ChannelName.ZALO_BOT: "zalo",
    ChannelName.WEBHOOK: "webhook",
}

# Why a recipient gets a message, completing "Đồng chí nhận thông báo này vì ...".
_REASON = {
    "reporting_officer": "là cán bộ đầu mối báo cáo của {unit}",
    "unit_head": "là thủ trưởng {unit}",
    "recipient_head": "là thủ trưởng {own_unit}, đơn vị nhận báo cáo của {unit}",
    "leader_in_charge": "là lãnh đạo phụ trách theo kế hoạch",
    "subscriber": "đã đăng ký nhận bản sao các thông báo đôn đốc",
}


AUDIENCE_VI = {
    "reporting_officer": "cán bộ đầu mối báo cáo",
    "unit_head": "thủ trưởng đơn vị",
    "recipient_head": "thủ trưởng đơn vị nhận báo cáo",
    "leader_in_charge": "lãnh đạo phụ trách",
    "subscriber": "hệ thống nhận bản sao",
}


# The same, without the unit that owes the item: a Zalo digest says it once for all its units.
# (A reporting officer's or unit head's own unit is the unit that owes the item.)
_SHARED_REASON = _REASON | {
    "reporting_officer": "là cán bộ đầu mối báo cáo của {own_unit}",
    "unit_head": "là thủ trưởng {own_unit}",
    "recipient_head": "là thủ trưởng {own_unit}, đơn vị nhận báo cáo",
}


def _reason_vi(audience: str, *, unit_name: str, own_unit_name: str | None) -> str:
    """Why the recipient gets a line about `unit_name`, in Vietnamese."""
    return _REASON[audience].format(unit=unit_name, own_unit=own_unit_name or "đơn vị")


def _shared_reason_vi(audience: str, *, own_unit_name: str | None) -> str:
    """Why the recipient gets a line, whichever unit owes it, in Vietnamese."""
    return _SHARED_REASON[audience].format(own_unit=own_unit_name or "đơn vị")


@dataclass(frozen=True)
class DigestLine:
    """One item in a digest, with everything the templates print."""

    kind: str  # reminder | overdue
    what: str  # "Báo cáo quý — quý I năm 2024" or "Nhiệm vụ: ..."
    unit_name: str
    deadline_label: str  # "Hạn gửi" for reports, "Hạn hoàn thành" for deliverables
    deadline: str  # "thứ Hai, 18/03/2024"
    extended: bool
    days_left: int  # reminders: working days to the deadline day (0: today)
    days_overdue: int  # overdue: working days past the deadline
    reason: str
    shared_reason: str  # the reason without the unit that owes the item
    link: str


def unit_link(portal_url: str, unit_code: str) -> str:
    """The unit's page in the portal."""
    return f"{portal_url.rstrip('/')}/don-vi/{unit_code}"


def describe_item(*, title: str, is_report: bool, period_label: str | None) -> str:
    """The report and its period, or the deliverable, as a message names it."""
    if not is_report:
        return f"Nhiệm vụ: {title}"
    if period_label is None:
        return title
    return f"{title} — {Period.parse(period_label).title_vi}"


def line_for(
    *,
    kind: str,
    title: str,
    is_report: bool,
    period_label: str | None,
    unit_name: str,
    unit_code: str,
    deadline_on: date,
    extended: bool,
    days_left: int,
    days_overdue: int,
    audiences: Sequence[str],
    own_unit_name: str | None,
    portal_url: str,
) -> DigestLine:
    """Build one digest line (the reasons of several audiences are joined)."""
    return DigestLine(
        kind=kind,
        what=describe_item(title=title, is_report=is_report, period_label=period_label),
        unit_name=unit_name,
        deadline_label="Hạn gửi" if is_report else "Hạn hoàn thành",
        deadline=vietnamese.weekday_date(deadline_on),
        extended=extended,
        days_left=days_left,
        days_overdue=days_overdue,
        reason="; ".join(
            dict.fromkeys(
                _reason_vi(a, unit_name=unit_name, own_unit_name=own_unit_name) for a in audiences
            )
        ),
        shared_reason="; ".join(
            dict.fromkeys(_shared_reason_vi(a, own_unit_name=own_unit_name) for a in audiences)
        ),
        link=unit_link(portal_url, unit_code),
    )


@dataclass(frozen=True)
class ZaloEntry:
    """One report or deliverable in a Zalo digest, with every unit that owes it."""

    what: str
    deadline: str
    extended: bool
    days_left: int
    days_overdue: int
    units: list[tuple[str, str]]  # (name, page in the portal) of each unit that owes it


@dataclass(frozen=True)
class ZaloGroup:
    """A Zalo digest's items of one kind that the recipient gets for one reason."""

    reason: str
    entries: list[ZaloEntry]


def zalo_groups(lines: Sequence[DigestLine]) -> list[ZaloGroup]:
    """The lines grouped by why the recipient gets them, then by report (or deliverable) and
    deadline, in their order: a leader reads the reason once and each report once with the
    units that owe it, so 60 units fit in one Zalo text."""
    groups: dict[str, dict[tuple[object, ...], ZaloEntry]] = {}
    for line in lines:
        entries = groups.setdefault(line.shared_reason, {})
        key = (line.what, line.deadline, line.extended, line.days_left, line.days_overdue)
        entry = entries.get(key)
        if entry is None:
            entries[key] = ZaloEntry(
                what=line.what,
                deadline=line.deadline,
                extended=line.extended,
                days_left=line.days_left,
                days_overdue=line.days_overdue,
                units=[(line.unit_name, line.link)],
            )
        else:
            entry.units.append((line.unit_name, line.link))
    return [ZaloGroup(reason, list(entries.values())) for reason, entries in groups.items()]


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,  # an included line ends with its newline
    )


def as_of_vi(instant: datetime) -> str:
    """ "08 giờ 00, thứ Ba, 19/03/2024" in Vietnamese local time."""
    local = pendulum.instance(instant).in_timezone(VN_TZ)
    return f"{local.hour:02d} giờ {local.minute:02d}, {vietnamese.weekday_date(local.date())}"


def short_key(key: str) -> str:
    """The part of a message key printed in the text, so a person can tell a copy."""
    return key[:8]


def render(
    *,
    channel: ChannelName,
    greeting: str,
    lines: Sequence[DigestLine],
    as_of: datetime,
    key: str,
    portal_url: str,
) -> Rendered:
    """Subject and text of one digest.

    A Zalo text lists its items grouped by reason and report (`zalo_groups`), each unit with
    its page; past 2,000 characters the units go without their pages, then the text is cut,
    overdue items kept first, saying how many more there are, with a link.
    """
    family = _FAMILY[channel]
    env = _environment()
    overdue = [line for line in lines if line.kind == OVERDUE]
    reminders = [line for line in lines if line.kind == REMINDER]
    subject = (
        env.get_template("email/subject.txt.j2")
        .render(overdue=overdue, reminders=reminders)
        .strip()
    )
    template = env.get_template(f"{family}/digest.txt.j2")

    def body(shown: int, links: bool = True) -> str:
        # Overdue lines come first and are kept first when a text must be shortened.
        ordered = overdue + reminders
        kept = ordered[:shown]
        overdue_kept = [line for line in kept if line.kind == OVERDUE]
        reminders_kept = [line for line in kept if line.kind == REMINDER]
        # A Zalo text says each reason and report once, with the units that owe it.
        shape = zalo_groups if family == "zalo" else list
        text = template.render(
            greeting=greeting,
            as_of=as_of_vi(as_of),
            overdue=shape(overdue_kept),
            reminders=shape(reminders_kept),
            more=len(ordered) - shown,
            links=links,
            portal_url=portal_url,
            short_key=short_key(key),
        )
        return unicodedata.normalize("NFC", text.strip() + "\n")

    total = len(lines)
    text = body(total)
    if family != "zalo" or len(text) <= ZALO_MAX_CHARS:
        return Rendered(subject=subject, body=text)
    # Too long: the units' names without their links, then as many items as fit.
    text = body(total, links=False)
    if len(text) <= ZALO_MAX_CHARS:
        return Rendered(subject=subject, body=text)
    low, high = 0, total - 1  # the most lines that fit, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        if len(body(mid, links=False)) <= ZALO_MAX_CHARS:
            low = mid
        else:
            high = mid - 1
    text = body(low, links=False)
    if len(text) > ZALO_MAX_CHARS:  # absurdly long names: cut hard, keep the portal link
        tail = f"… {portal_url}"
        text = text[: ZALO_MAX_CHARS - len(tail)] + tail
    return Rendered(subject=subject, body=text)
