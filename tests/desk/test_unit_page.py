"""The unit page (/don-vi/<unit>): who may open it, and what it shows of the unit's items,
their submissions and the reminders sent about them, after a real month of daily checks."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from status.unit_view import Paging
from tests.support.desk_unit import Desk, unit_token
from tests.support.escalation import item_id
from tests.support.intake import ADMIN_SECRET, login_form

# slow: every test plays real daily checks over half a month (SMTP, Zalo, the outbox)
pytestmark = pytest.mark.slow

Q1 = "report:esc-2024:bao-cao-quy:xa-mot:2024-Q1"
PLAN_XA_MOT = "deliverable:esc-2024:ke-hoach-xa:xa-mot"


def _section(page: str, item: int) -> str:
    found = re.search(rf'<section [^>]*id="viec-{item}".*?</section>', page, re.S)
    assert found is not None, page
    return found.group(0)


def _rows(html: str) -> list[str]:
    """Each table row as its cells' text, joined by " | "."""
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append(
            " | ".join(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip() for c in cells)
        )
    return [r for r in rows if r]


def test_the_unit_its_head_and_the_office_open_it_another_unit_is_refused(desk_month: Desk) -> None:
    own = unit_token(desk_month.engine, "xa-mot", "xa-mot")
    other = unit_token(desk_month.engine, "xa-hai", "xa-hai")
    with desk_month.client(ADMIN_SECRET) as office, desk_month.client(own) as unit:
        for client in (office, unit):
            page = client.get("/don-vi/xa-mot")
            assert page.status_code == 200, page.text
            assert "<h1>UBND xã Một</h1>" in page.text
            assert "Ủy ban nhân dân huyện Thử" in page.text  # the unit it answers to
    with desk_month.client(other) as intruder:
        refused = intruder.get("/don-vi/xa-mot")
        assert refused.status_code == 403
        assert "Mã truy cập của bạn không xem được trang này" in refused.text
        assert "BN-" not in refused.text and "Đặng Thị Một" not in refused.text
        assert intruder.get("/don-vi/xa-hai").status_code == 200  # its own page
        missing = intruder.get("/don-vi/khong-co")
        assert missing.status_code == 404
        assert "Không có đơn vị nào mang mã «khong-co»" in missing.text


def test_a_visitor_signs_in_and_lands_back_on_the_unit_page(desk_month: Desk) -> None:
    with desk_month.client() as visitor:
        asked = visitor.get("/don-vi/xa-mot", params={"tinh-trang": "overdue"})
        assert asked.status_code == 303
        target = asked.headers["location"]
        assert target == "/login?next=/don-vi/xa-mot%3Ftinh-trang%3Doverdue"
        login = visitor.get(target)
        assert 'name="next" value="/don-vi/xa-mot?tinh-trang=overdue"' in login.text
        form = login_form(visitor, ADMIN_SECRET, next="/don-vi/xa-mot?tinh-trang=overdue")
        signed = visitor.post("/login", data=form)
        assert signed.headers["location"] == "/don-vi/xa-mot?tinh-trang=overdue"
        landed = visitor.get(signed.headers["location"])
        assert landed.status_code == 200 and "<h1>UBND xã Một</h1>" in landed.text
        assert 'id="viec-' in landed.text and "Đã gửi muộn</strong>" not in landed.text


@pytest.mark.parametrize(
    "next_",
    ["//evil.example/x", "/\\evil.example", "https://evil.example/", "/a\nb", "javascript:1"],
)
def test_sign_in_never_sends_anyone_off_site(desk_month: Desk, next_: str) -> None:
    with desk_month.client() as visitor:
        assert 'name="next" value="/"' in visitor.get("/login", params={"next": next_}).text
        signed = visitor.post("/login", data=login_form(visitor, ADMIN_SECRET, next=next_))
        assert signed.status_code == 303 and signed.headers["location"] == "/"


def test_submissions_with_receipts_and_every_reminder_with_its_fate(desk_month: Desk) -> None:
    own = unit_token(desk_month.engine, "xa-mot", "xa-mot")
    plan, q1 = item_id(desk_month.engine, PLAN_XA_MOT), item_id(desk_month.engine, Q1)
    with desk_month.client(ADMIN_SECRET) as office:
        page = office.get("/don-vi/xa-mot").text
    # Token ids run on across tests on PostgreSQL (its sequences are not reset).
    sent = [re.sub(r"số \d+", "số N", row) for row in _rows(_section(page, plan))]
    first, second = desk_month.receipts
    assert sent == [
        f"lần 2 | {second} | Đặng Thị Một, cán bộ đầu mối · cán bộ đơn vị xa-mot (mã truy cập "
        "số N) (qua API) | 12/03/2024 15:30",
        f"lần 1 | {first} | Đặng Thị Một, cán bộ đầu mối · cán bộ đơn vị xa-mot (mã truy cập "
        "số N) (qua API) | 11/03/2024 10:00",
    ]
    assert f'href="/receipts/{second}"' in page and "Đã gửi muộn" in _section(page, plan)

    late = _section(page, q1)
    assert "Quá hạn</strong> (5 ngày làm việc)" in late
    reminders = _rows(late)
    delivered = "Nhắc hạn (remind-3) | Đặng Thị Một (UBND xã Một) cán bộ đầu mối báo cáo | "
    assert delivered + "Thư điện tử | Đã gửi | 13/03/2024 08:00" in reminders
    given_up = [r for r in reminders if "Không gửi được" in r]
    assert given_up and all("Thư điện tử" in r for r in given_up)
    assert any(
        r.startswith("Đôn đốc quá hạn (overdue-1) | Vi Văn Mười (UBND xã Một) thủ trưởng đơn vị")
        and "Đã ngừng gửi vì quá 3 ngày làm việc vẫn chưa gửi được." in r
        and "Không kết nối được máy chủ thư điện tử" in r
        and r.endswith("25/03/2024 08:00")
        for r in given_up
    ), given_up
    # The office gets the item's actions; the unit gets its form, not the office's actions.
    assert f'href="/viec/{q1}/gia-han"' in late and f'href="/viec/{q1}/mien"' in late
    with desk_month.client(own) as unit:
        theirs = _section(unit.get("/don-vi/xa-mot").text, q1)
    assert f'href="/items/{q1}"' in theirs and "/viec/" not in theirs


def test_a_state_filter_and_pages(desk_month: Desk) -> None:
    with desk_month.client(ADMIN_SECRET) as office:
        overdue = office.get("/don-vi/xa-mot", params={"tinh-trang": "overdue"}).text
        everything = office.get("/don-vi/xa-mot", params={"trang": "x", "tinh-trang": "?"})
    assert overdue.count('class="desk-item ') == 1 and "1 việc." in overdue
    assert everything.status_code == 200 and everything.text.count('class="desk-item ') == 5
    assert Paging.of(0, 20, 45) == Paging(1, 20, 45)
    assert Paging.of(9, 20, 45).number == 3 and Paging.of(3, 20, 45).window == slice(40, 60)
    assert Paging.of(1, 20, 0).pages == 1


def _person_token(code: str) -> str:
    """A person's token, issued as the office does: `dondoc token issue --person CODE`."""
    from typer.testing import CliRunner

    from cli.main import app

    issued = CliRunner().invoke(app, ["token", "issue", "--person", code])
    assert issued.exit_code == 0, issued.output
    token = re.search(r"dd_[A-Za-z0-9_-]{20,}", issued.output)
    assert token is not None, issued.output
    return token.group(0)


def test_a_leader_and_a_unit_head_sign_in_with_their_own_tokens(
    desk_month: Desk, db_env: Engine
) -> None:
    """The leader in charge of the communes' task opens the late commune's page and reads it;
    another commune's head is refused it."""
    leader, head = _person_token("chu-tich"), _person_token("xa-hai.chu-tich")
    with desk_month.client(leader) as client:
        page = client.get("/don-vi/xa-mot")
    assert page.status_code == 200 and "<h1>UBND xã Một</h1>" in page.text
    assert "Kế hoạch giảm nghèo của xã" in page.text  # the task the leader is in charge of
    assert "/viec/" not in page.text  # the office's actions are the office's
    with desk_month.client(head) as client:
        assert client.get("/don-vi/xa-hai").status_code == 200
        refused = client.get("/don-vi/xa-mot")
        assert refused.status_code == 403 and "không xem được trang này" in refused.text
