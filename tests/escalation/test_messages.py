"""Message texts: periods named the Vietnamese way, Zalo's 2,000 characters kept gracefully."""

from __future__ import annotations

import re
from datetime import date

import pytest

from notifications.channels import ChannelName
from notifications.messages import DigestLine, describe_item, line_for, reason_vi, render
from tests.support.escalation import PORTAL, vn


def _line(n: int, kind: str) -> DigestLine:
    return line_for(
        kind=kind,
        title="Báo cáo kết quả thực hiện chương trình mục tiêu quốc gia giảm nghèo bền vững",
        is_report=True,
        period_label="2024-03",
        unit_name=f"UBND xã Số {n}",
        unit_code=f"xa-{n}",
        deadline_on=date(2024, 3, 18),
        extended=False,
        days_left=0,
        days_overdue=2 if kind == "overdue" else 0,
        reasons=[reason_vi("leader_in_charge", unit_name=f"UBND xã Số {n}", own_unit_name=None)],
        portal_url=PORTAL,
    )


@pytest.mark.parametrize("channel", [ChannelName.ZALO_OA, ChannelName.ZALO_BOT])
def test_a_long_zalo_digest_is_cut_to_2000_characters_with_a_link(channel: ChannelName) -> None:
    lines = [_line(n, "reminder") for n in range(30)] + [_line(n, "overdue") for n in range(30)]
    rendered = render(
        channel=channel,
        greeting="đồng chí Nguyễn Văn Chủ",
        lines=lines,
        as_of=vn(2024, 3, 20),
        key="abcdef0123456789",
        portal_url=PORTAL,
    )
    text = rendered.body
    assert len(text) <= 2000
    shown = text.count("\n- ")
    more = re.search(r"… và (\d+) việc khác, xem đầy đủ tại (\S+)", text)
    assert more and more.group(2) == PORTAL
    assert shown + int(more.group(1)) == 60
    assert shown >= 5
    assert "ĐÃ QUÁ HẠN:" in text and "SẮP ĐẾN HẠN:" not in text  # overdue items kept first
    assert text.rstrip().endswith("Mã: abcdef01")


def test_an_email_digest_is_never_cut() -> None:
    lines = [_line(n, "overdue") for n in range(60)]
    rendered = render(
        channel=ChannelName.EMAIL,
        greeting="đồng chí Nguyễn Văn Chủ",
        lines=lines,
        as_of=vn(2024, 3, 20),
        key="abcdef0123456789",
        portal_url=PORTAL,
    )
    assert rendered.body.count("Đơn vị: UBND xã Số") == 60
    assert rendered.subject == "Đôn đốc báo cáo: 60 việc đã quá hạn"


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("2024-03", "Báo cáo tháng — tháng 3 năm 2024"),
        ("2024-Q2", "Báo cáo tháng — quý II năm 2024"),
        ("2024-H2", "Báo cáo tháng — 6 tháng cuối năm 2024"),
        ("2024", "Báo cáo tháng — năm 2024"),
    ],
)
def test_periods_are_named_the_vietnamese_way(period: str, expected: str) -> None:
    assert describe_item(title="Báo cáo tháng", is_report=True, period_label=period) == expected


def test_a_deliverable_is_named_as_a_task() -> None:
    text = describe_item(title="Kế hoạch giảm nghèo", is_report=False, period_label=None)
    assert text == "Nhiệm vụ: Kế hoạch giảm nghèo"
