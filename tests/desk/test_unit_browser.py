"""In a real headless Chromium against the portal served by uvicorn: the office follows the link
of a reminder the daily check sent to the late commune, signs in and lands on its page; then
retries a given-up message from the outbox (docs/desk-unit.png, docs/desk-outbox.png); and the
leader in charge follows their escalation's link with their own token, reads, and may not act."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from demo.sinks import SmtpServer, ZaloServer
from models.db import transaction
from plan_sync.sync import load_plan
from plans.loader import parse_plan
from portal.app import create_app
from tests.support.desk_unit import (
    READ_AT,
    messages,
    portal_settings,
    run_the_month,
    submit_plan_twice,
    unit_token,
)
from tests.support.escalation import PLAN, make_settings, vn
from tests.support.intake import ADMIN_SECRET, Clock, _Server

pytestmark = pytest.mark.slow  # a browser and a served portal

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS = Path(__file__).parents[2] / "docs"
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never `playwright install`)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI installs chromium from .ci/apt-packages; it is missing")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def served(
    engine: Engine, smtp: SmtpServer, zalo: ZaloServer, tmp_path: Path
) -> Iterator[tuple[str, Engine]]:
    """The portal on 127.0.0.1, and the month of daily checks run with its address in the links."""
    with transaction(engine) as session:
        load_plan(parse_plan(PLAN.read_text(encoding="utf-8")), session=session, now=vn(2024, 1, 1))
    settings = portal_settings(make_settings(engine, smtp, zalo), tmp_path / "data")
    clock = Clock(READ_AT)
    server = _Server(create_app(settings, engine=engine, clock=clock))
    url = server.start()
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            officer = unit_token(engine, "xa-mot", "Đặng Thị Một, cán bộ đầu mối")
            submit_plan_twice(engine, client, officer, clock)
        clock.now = READ_AT
        run_the_month(engine, settings.model_copy(update={"portal_url": url}), smtp)
        yield url, engine
    finally:
        server.stop()


def _unit_links(engine: Engine, address: str) -> set[str]:
    """The unit pages linked from the e-mails sent to `address`."""
    sent = [m for m in messages(engine) if m.address == address and m.body]
    return {link for m in sent for link in re.findall(r"https?://\S+/don-vi/[\w-]+", m.body or "")}


def _sign_in_through(page: Any, link: str, unit: str, secret: str) -> None:
    """Open a message's link, land on the sign-in page that will return to the unit, sign in."""
    from playwright.sync_api import expect

    page.goto(link)
    expect(page).to_have_url(re.compile(rf"/login\?next=/don-vi/{unit}$"))
    page.get_by_label("Mã truy cập").fill(secret)
    page.get_by_role("button", name="Đăng nhập").click()


def test_the_office_follows_a_reminders_link_to_the_late_commune(
    served: tuple[str, Engine], browser: Any
) -> None:
    from playwright.sync_api import expect

    url, engine = served
    # The real link, from the e-mail the daily check sent to xa-mot's officer on 13 March.
    links = _unit_links(engine, "can-bo@xa-mot.example")
    assert links == {f"{url}/don-vi/xa-mot"}, links
    context = browser.new_context(locale="vi-VN", viewport=DESKTOP)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        _sign_in_through(page, links.pop(), "xa-mot", ADMIN_SECRET)

        expect(page).to_have_url(f"{url}/don-vi/xa-mot")
        expect(page.get_by_role("heading", name="UBND xã Một", exact=True)).to_be_visible()
        q1 = "Báo cáo kết quả giảm nghèo quý · quý I năm 2024"
        late = page.get_by_role("region", name=q1, exact=True)
        expect(late).to_contain_text("Quá hạn")
        expect(late.get_by_role("link", name="Gia hạn")).to_have_attribute(
            "href", re.compile(r"^/viec/\d+/gia-han$")
        )
        mailed = late.get_by_role("row").filter(has_text="remind-3").filter(has_text="Thư điện tử")
        expect(mailed).to_contain_text("Đã gửi")
        expect(late.get_by_role("row").filter(has_text="Không gửi được").first).to_contain_text(
            "Đã ngừng gửi vì quá 3 ngày làm việc"
        )
        plan = page.get_by_role("region", name="Kế hoạch giảm nghèo của xã", exact=True)
        expect(plan.get_by_role("link", name="BN-")).to_have_count(2)
        expect(plan.get_by_role("row").filter(has_text="lần 2")).to_contain_text("12/03/2024 15:30")
        page.screenshot(path=str(DOCS / "desk-unit.png"), full_page=True)

        page.get_by_role("link", name="Hộp thư đi").click()
        page.get_by_label("Tình trạng").select_option(label="Không gửi được")
        page.get_by_role("button", name="Lọc").click()
        expect(page).to_have_url(re.compile(r"tinh-trang=dead"))
        row = page.get_by_role("row").filter(has_text="Vi Văn Mười")
        expect(row).to_contain_text("Không kết nối được máy chủ thư điện tử")
        page.screenshot(path=str(DOCS / "desk-outbox.png"), full_page=True)

        row.get_by_role("button", name="Gửi lại").click()
        expect(page.locator("#retry-count")).to_have_text("1")
        page.get_by_role("button", name="Xác nhận gửi lại").click()
        expect(page.get_by_role("status")).to_contain_text("Đã đưa lại 1 thông báo vào hàng đợi")

        # On a phone (360 px) both pages fit the screen's width; wide tables scroll inside.
        page.set_viewport_size({"width": 360, "height": 740})
        for path in ("/don-vi/xa-mot", "/hop-thu-di"):
            page.goto(url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, (path, width)
    finally:
        context.close()
    assert {m.status for m in messages(engine) if m.address == "chu-tich@xa-mot.example"} >= {
        "pending"
    }


def test_a_leader_follows_an_escalations_link_to_the_late_commune(
    served: tuple[str, Engine], browser: Any
) -> None:
    """The leader in charge signs in with their own token from the link the escalation mailed
    them, reads the late commune's page, and may not act: no office links, the outbox refused."""
    from playwright.sync_api import expect

    from access.actor import SETTINGS_ADMIN
    from access.tokens import issue_person_token

    url, engine = served
    links = _unit_links(engine, "chu-tich@thu.example")
    assert links == {f"{url}/don-vi/xa-hai"}, links  # xa-hai sent nothing: escalated
    with transaction(engine) as session:
        _, _, secret = issue_person_token(
            "chu-tich", session=session, issued_by=SETTINGS_ADMIN, now=READ_AT
        )
    context = browser.new_context(locale="vi-VN", viewport={"width": 360, "height": 740})
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        _sign_in_through(page, links.pop(), "xa-hai", secret)

        expect(page).to_have_url(f"{url}/don-vi/xa-hai")
        expect(page.get_by_role("banner")).to_contain_text("Nguyễn Văn Chủ")
        expect(page.get_by_role("heading", name="UBND xã Hai", exact=True)).to_be_visible()
        expect(page.locator("main")).to_contain_text("Quá hạn")
        expect(page.get_by_role("link", name="Gia hạn")).to_have_count(0)
        expect(page.get_by_role("link", name="Hộp thư đi")).to_have_count(0)
        refused = page.goto(f"{url}/hop-thu-di")
        assert refused is not None and refused.status == 403
        expect(page.locator("main")).to_contain_text("Chỉ văn phòng (cán bộ tổng hợp)")
    finally:
        context.close()
