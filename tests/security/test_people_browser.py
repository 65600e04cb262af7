"""A leader in charge signs in with their own token in headless Chromium: the header names them,
the list shows the units in their charge, an item opens read-only, and signing out works."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.intake.test_intake_browser import ARGS, CHROMIUM
from tests.security.test_people_portal import _people
from tests.support.intake import Portal, item_id

pytestmark = pytest.mark.slow  # a browser: headless Chromium drives the pages


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never `playwright install`)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI installs chromium from .ci/apt-packages; it is missing")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def test_a_leader_signs_in_and_reads_the_units_in_charge(portal: Portal, chromium: Any) -> None:
    from playwright.sync_api import expect

    tokens = _people(portal.engine)
    report = item_id(portal.engine, "xa-hai", "bao-cao-thang", "2024-04")
    context = chromium.new_context(locale="vi-VN", viewport={"width": 360, "height": 740})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(portal.url + "/")
        expect(page).to_have_url(re.compile(r"/login"))
        page.get_by_label("Mã truy cập").fill(tokens["lanh-dao"])
        page.get_by_role("button", name="Đăng nhập").click()

        expect(page.get_by_role("heading", name="Báo cáo thuộc phạm vi theo dõi")).to_be_visible()
        expect(page.locator("header .who")).to_contain_text(
            "Lê Thị Phó · Phó Chủ tịch UBND huyện · Lãnh đạo phụ trách"
        )
        row = page.get_by_role("row").filter(has=page.locator(f'a[href="/items/{report}"]'))
        expect(row).to_contain_text("UBND xã Hai")
        expect(row).to_contain_text("Báo cáo tháng")
        row.get_by_role("link", name="Xem").click()

        expect(page).to_have_url(re.compile(rf"/items/{report}$"))
        expect(page.get_by_role("status")).to_contain_text("chỉ xem, không gửi thay đơn vị")
        expect(page.get_by_role("button", name="Gửi báo cáo")).to_have_count(0)

        page.get_by_role("button", name="Đăng xuất").click()
        expect(page).to_have_url(re.compile(r"/login"))
    finally:
        context.close()
