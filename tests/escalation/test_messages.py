"""Message texts: periods named the Vietnamese way, Zalo's 2,000 characters kept gracefully."""

from __future__ import annotations

import re
from datetime import date

import pytest

from demo.sinks import ZaloServer
from notifications.channels import ChannelName
from notifications.messages import DigestLine, describe_item, line_for, render
from notifications.zalo_api import RunHttp, ZaloOAClient
from tests.support.escalation import PORTAL, vn


def _line(
    n: int,
    kind: str,
    title: str = "Báo cáo kết quả thực hiện chương trình mục tiêu quốc gia giảm nghèo bền vững",
    audience: str = "leader_in_charge",
) -> DigestLine:
    return line_for(
        kind=kind,
        title=title,
        is_report=True,
        period_label="2024-03",
        unit_name=f"UBND xã Số {n}",
        unit_code=f"xa-{n}",
        deadline_on=date(2024, 3, 18),
        extended=False,
        days_left=0,
        days_overdue=2 if kind == "overdue" else 0,
        audiences=[audience],
        own_unit_name="Phòng Tài chính - Kế hoạch",
        portal_url=PORTAL,
    )


def _digest(channel: ChannelName, lines: list[DigestLine]) -> str:
    return render(
        channel=channel,
        greeting="đồng chí Nguyễn Văn Chủ",
        lines=lines,
        as_of=vn(2024, 3, 20),
        key="abcdef0123456789",
        portal_url=PORTAL,
    ).body


@pytest.mark.parametrize(
    ("channel", "audience", "reason"),
    [
        (ChannelName.ZALO_OA, "leader_in_charge", "là lãnh đạo phụ trách theo kế hoạch"),
        (ChannelName.ZALO_BOT, "leader_in_charge", "là lãnh đạo phụ trách theo kế hoạch"),
        (
            ChannelName.ZALO_OA,
            "recipient_head",
            "là thủ trưởng Phòng Tài chính - Kế hoạch, đơn vị nhận báo cáo",
        ),
    ],
)
def test_a_leaders_zalo_digest_names_all_60_units_and_each_reason_once(
    channel: ChannelName, audience: str, reason: str, zalo: ZaloServer
) -> None:
    lines = [
        _line(n, kind, audience=audience) for kind in ("reminder", "overdue") for n in range(30)
    ]
    text = _digest(channel, lines)
    assert len(text) <= 2000 and "việc khác" not in text
    assert text.count("đồng chí nhận vì") == 2
    assert text.count(f"đồng chí nhận vì {reason}:") == 2
    assert text.count("Báo cáo kết quả thực hiện chương trình") == 2  # once per kind
    overdue, reminders = text.split("SẮP ĐẾN HẠN")
    for part in (overdue, reminders):
        assert "30 đơn vị: " in part
        assert all(f"UBND xã Số {n}," in part or f"UBND xã Số {n}." in part for n in range(30))
    assert f"Xem từng đơn vị tại {PORTAL}" in text and text.rstrip().endswith("Mã: abcdef01")
    # The local Zalo OA takes it whole (it refuses a text over 2,000 characters, as Zalo does).
    zalo.state.access_tokens.add("access-token-test-1")
    with_http = RunHttp()
    try:
        ZaloOAClient(with_http, zalo.base).send_text(
            access_token="access-token-test-1", user_id="oa-leader", text=text
        )
    finally:
        with_http.close()
    [sent] = zalo.delivered("oa")
    assert sent.body["message"]["text"] == text


def test_a_few_units_keep_their_pages() -> None:
    text = _digest(ChannelName.ZALO_OA, [_line(n, "overdue") for n in range(3)])
    assert "3 đơn vị" not in text
    for n in range(3):
        assert f"  + UBND xã Số {n}: {PORTAL}/don-vi/xa-{n}\n" in text


@pytest.mark.parametrize("channel", [ChannelName.ZALO_OA, ChannelName.ZALO_BOT])
def test_a_zalo_digest_that_still_does_not_fit_says_how_many_more(channel: ChannelName) -> None:
    # 60 different reports: nothing to group, so the text is cut, overdue items first.
    lines = [
        _line(n, kind, title=f"Báo cáo chuyên đề số {n} về tình hình thực hiện nhiệm vụ")
        for kind in ("reminder", "overdue")
        for n in range(30)
    ]
    text = _digest(channel, lines)
    assert len(text) <= 2000
    shown = text.count("\n- ")
    more = re.search(r"… và (\d+) việc khác, xem đầy đủ tại (\S+)", text)
    assert more and more.group(2) == PORTAL
    assert shown + int(more.group(1)) == 60
    assert shown >= 9
    assert "ĐÃ QUÁ HẠN" in text and "SẮP ĐẾN HẠN" not in text  # overdue items kept first
    assert text.count("đồng chí nhận vì") == 1
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
