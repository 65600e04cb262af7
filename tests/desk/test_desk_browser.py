"""The office's dashboard in a real headless Chromium: sign in, read, filter, follow a unit.

Saves docs/desk-dashboard.png (a desktop width) for the office guide.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from portal.app import create_app
from tests.desk.conftest import ADMIN_SECRET, NOW, settings_for
from tests.intake.test_intake_browser import ARGS, CHROMIUM
from tests.support.intake import Clock, _Server

pytestmark = pytest.mark.slow  # a browser and a server

SCREENSHOT = Path(__file__).parents[2] / "docs" / "desk-dashboard.png"


@pytest.fixture
def served(province: Engine, tmp_path: Path) -> Iterator[str]:
    server = _Server(
        create_app(settings_for(province, tmp_path), engine=province, clock=Clock(NOW))
    )
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def test_the_office_reads_filters_and_follows_a_unit(served: str, chromium: Any) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(locale="vi-VN", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(served + "/tinh-hinh")
        expect(page).to_have_url(re.compile(r"/login"))
        page.get_by_label("Mã truy cập").fill(ADMIN_SECRET)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page).to_have_url(re.compile(r"/tinh-hinh$"))
        expect(page.get_by_role("heading", name="Tình hình báo cáo")).to_be_visible()
        matrix = page.get_by_role("region", name=re.compile("Bảng tình hình"))
        expect(matrix.get_by_role("row")).to_have_count(7)  # the heading and six units
        expect(page.get_by_role("img", name=re.compile("Xu hướng"))).to_be_visible()
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        page.get_by_label("Kỳ", exact=True).select_option(label="Quý II/2024")
        page.get_by_label("Tình trạng", exact=True).select_option(label="Quá hạn chưa nộp")
        page.get_by_role("button", name="Xem").click()
        expect(page).to_have_url(re.compile(r"ky=2024-Q2.*tinh-trang=overdue"))
        units = matrix.get_by_role("rowheader")
        expect(units).to_have_text(["UBND thị trấn Đông Anh", "UBND xã An Phú", "UBND xã Đông"])
        expect(page.get_by_label("Tình trạng", exact=True)).to_have_value(
            "overdue"
        )  # the form keeps it

        link = matrix.get_by_role("link", name="UBND xã An Phú")
        with page.expect_response(re.compile(r"/don-vi/xa-an-phu$")) as opened:
            link.click()
        assert opened.value.status in (200, 303)  # the unit page, or its way there

        # 360 px wide: the page fits, the matrix scrolls inside its own box.
        page.set_viewport_size({"width": 360, "height": 740})
        page.goto(served + "/tinh-hinh?nguon=bc:bao-cao-quy")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        box = page.locator(".desk-matrix").locator("xpath=..")
        assert box.evaluate("b => b.scrollWidth > b.clientWidth")
    finally:
        context.close()
