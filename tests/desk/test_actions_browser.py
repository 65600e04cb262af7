"""The office drives its acts in headless Chromium: extend, exempt, lock, a token's slip, an
ad-hoc request, compile now; a unit's token is refused."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.desk_actions import audit
from tests.support.intake import ADMIN_SECRET, Portal, item_id

pytestmark = pytest.mark.slow  # a browser: headless Chromium drives the pages

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


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


def _sign_in(page: Any, url: str, token: str) -> None:
    page.goto(url)
    page.get_by_label("Mã truy cập").fill(token)
    page.get_by_role("button", name="Đăng nhập").click()


def _extend_and_exempt(page: Any, portal: Portal) -> None:
    from playwright.sync_api import expect

    late = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    page.goto(f"{portal.url}/viec/{late}/gia-han")
    page.get_by_label("Hạn mới").fill("32/04/2024")
    page.get_by_label("Lý do gia hạn").fill("Xã bị lũ cắt đường")
    page.get_by_role("button", name="Xem lại trước khi gia hạn").click()
    expect(page.locator("#until-error")).to_contain_text("không phải là ngày")
    expect(page.get_by_label("Lý do gia hạn")).to_have_value("Xã bị lũ cắt đường")
    page.get_by_label("Hạn mới").fill("06/05/2024")
    page.get_by_role("button", name="Xem lại trước khi gia hạn").click()
    expect(page.get_by_role("heading", name="Xác nhận gia hạn")).to_be_visible()
    expect(page.get_by_text("Hạn mới: hết ngày")).to_contain_text("06/05/2024")
    page.get_by_role("button", name="Xác nhận gia hạn").click()
    expect(page.get_by_role("status")).to_contain_text("đến hết ngày 06/05/2024")

    other = item_id(portal.engine, "xa-hai", "bao-cao-thang", "2024-04")
    page.goto(f"{portal.url}/viec/{other}/mien")
    page.get_by_label("Lý do miễn báo cáo").fill("Sáp nhập xã")
    page.get_by_role("button", name="Xem lại trước khi miễn báo cáo").click()
    page.get_by_role("button", name="Xác nhận miễn báo cáo").click()
    expect(page.get_by_role("heading", name="Đã miễn báo cáo")).to_be_visible()


def _lock_and_issue(page: Any, portal: Portal) -> str:
    from playwright.sync_api import expect

    page.goto(f"{portal.url}/quan-ly")
    page.get_by_label("Báo cáo", exact=True).select_option(label="Báo cáo tháng (bao-cao-thang)")
    page.get_by_label("Kỳ", exact=True).select_option(label="tháng 4 năm 2024")
    page.get_by_role("button", name="Xem lại trước khi khóa sổ").click()
    page.get_by_role("button", name="Xác nhận khóa sổ").click()
    expect(page.get_by_role("heading", name="Đã khóa sổ")).to_be_visible()

    page.goto(f"{portal.url}/quan-ly")
    page.get_by_label("Đơn vị", exact=True).check()
    page.get_by_label("Mã đơn vị").fill("tt-ba")
    page.get_by_label("Người giữ mã (không bắt buộc)").fill("Anh Bình")
    page.get_by_role("button", name="Xem lại trước khi cấp mã").click()
    expect(page.get_by_text("Cấp cho: UBND thị trấn Ba")).to_be_visible()
    page.get_by_role("button", name="Cấp mã").click()
    slip = page.get_by_role("article")
    expect(slip.get_by_role("heading", name="Phiếu bàn giao mã truy cập")).to_be_visible()
    secret = page.locator("code.desk-secret").inner_text()
    assert re.fullmatch(r"dd_[A-Za-z0-9_-]{43}", secret)
    page.emulate_media(media="print")  # the printed slip: no navigation, no notice
    expect(page.get_by_role("navigation")).to_be_hidden()
    expect(slip).to_be_visible()
    page.emulate_media(media="screen")
    return secret


def _request_and_compile(page: Any, portal: Portal) -> None:
    from playwright.sync_api import expect

    page.goto(f"{portal.url}/quan-ly/yeu-cau")
    page.get_by_label("Nội dung yêu cầu").fill("Báo cáo thiệt hại do bão")
    page.get_by_label("Xã", exact=True).check()
    page.get_by_label("Trong số ngày làm việc", exact=False).check()
    page.get_by_label("Số ngày làm việc", exact=True).fill("5")
    page.get_by_role("button", name="Xem lại trước khi gửi").click()
    expect(page.get_by_text("Số đơn vị phải thực hiện: 2")).to_be_visible()  # xa-mot, xa-hai
    page.get_by_role("button", name="Gửi yêu cầu").click()
    expect(page.get_by_role("status")).to_contain_text("hạn nộp hết ngày 26/04/2024")

    page.goto(f"{portal.url}/bao-cao")
    page.get_by_label("Kỳ", exact=True).select_option(label="tháng 4 năm 2024")
    page.get_by_role("button", name="Xem lại trước khi tổng hợp").click()
    page.get_by_role("button", name="Tổng hợp ngay").click()
    # The status page refreshes itself (<meta http-equiv=refresh>) until the end.
    expect(page.get_by_role("status")).to_contain_text("Đã tổng hợp xong", timeout=120_000)
    page.get_by_role("link", name="Về danh sách báo cáo tổng hợp").click()
    expect(page.get_by_role("link", name="Word (DOCX)").first).to_be_visible()


def test_the_office_acts_from_its_pages_and_a_unit_is_refused(
    portal: Portal, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect

    monkeypatch.setattr(portal.settings, "prefect_api_url", None)  # compile in the background
    context = browser.new_context(locale="vi-VN", viewport={"width": 360, "height": 740})
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        _sign_in(page, f"{portal.url}/login?next=/quan-ly", ADMIN_SECRET)
        expect(page.get_by_role("heading", name="Quản lý")).to_be_visible()
        _extend_and_exempt(page, portal)
        secret = _lock_and_issue(page, portal)
        _request_and_compile(page, portal)
    finally:
        context.close()
    for action in ("item.extend", "item.exempt", "period.lock", "token.issue", "request.create"):
        assert audit(portal.engine, action), action
    assert len(audit(portal.engine, "report.compile")) == 1

    unit = browser.new_context(locale="vi-VN")
    unit.set_default_timeout(20_000)
    page = unit.new_page()
    try:
        _sign_in(page, f"{portal.url}/login?next=/quan-ly", secret)  # the slip's token
        expect(page.get_by_role("alert")).to_contain_text("Chỉ văn phòng")
        expect(page.get_by_role("link", name="Quản lý")).to_have_count(0)
        page.goto(f"{portal.url}/bao-cao")
        expect(page.get_by_role("alert")).to_contain_text("Chỉ văn phòng")
    finally:
        unit.close()
