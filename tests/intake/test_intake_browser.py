"""The officer's page in a real headless Chromium against the portal served by uvicorn."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.intake import Portal, item_id, new_token, stored

pytestmark = pytest.mark.slow  # a browser: headless Chromium drives the pages

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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


def test_officer_signs_in_fixes_an_inline_error_submits_and_reads_the_receipt(
    portal: Portal, browser: Any
) -> None:
    from playwright.sync_api import expect

    token = new_token(portal.engine, "xa-mot")
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    context = browser.new_context(locale="vi-VN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(portal.url + "/")
        expect(page).to_have_url(re.compile(r"/login"))
        page.get_by_label("Mã truy cập").fill("dd_not-a-token")
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("alert")).to_have_text("Mã truy cập không đúng hoặc đã bị thu hồi.")
        page.get_by_label("Mã truy cập").fill(token)
        page.get_by_role("button", name="Đăng nhập").click()

        expect(page.get_by_role("heading", name="Báo cáo của đơn vị")).to_be_visible()
        row = (
            page.get_by_role("row")
            .filter(has_text="Báo cáo tháng")
            .filter(has_text="tháng 4 năm 2024")
        )
        expect(row).to_contain_text("Quá hạn")
        row.get_by_role("link", name="Gửi báo cáo").click()

        expect(page.get_by_role("heading", name="Báo cáo tháng")).to_be_visible()
        jobs = page.get_by_label("Tạo việc làm mới")
        rate = page.get_by_label("Tỷ lệ lao động qua đào tạo")
        result = page.get_by_label("Kết quả thực hiện")
        jobs.fill("nhiều")
        rate.fill("67,5")
        page.get_by_label("Tổ chức đại hội").select_option(label="Có")
        result.fill("Đã mở 3 lớp dạy nghề cho 90 lao động.")
        page.get_by_role("button", name="Gửi báo cáo").click()

        # The inline error is beside the field; everything typed is still there.
        expect(page.locator("#error-summary")).to_contain_text("1 lỗi cần sửa")
        expect(page.locator("#v-1-error")).to_have_text(
            "Tạo việc làm mới: «nhiều» không phải là số."
        )
        expect(jobs).to_have_attribute("aria-invalid", "true")
        expect(jobs).to_have_value("nhiều")
        expect(rate).to_have_value("67,5")
        expect(page.get_by_label("Tổ chức đại hội")).to_have_value("có")
        expect(result).to_have_value("Đã mở 3 lớp dạy nghề cho 90 lao động.")
        assert stored(portal.engine)["submissions"] == 0

        jobs.fill("1.300")
        page.get_by_role("button", name="Gửi báo cáo").click()

        expect(page.get_by_role("heading", name="Biên nhận báo cáo")).to_be_visible()
        expect(page.get_by_role("status")).to_have_text("Đã nhận báo cáo.")
        expect(page.locator("#receipt-no")).to_have_text(f"BN-{item}-1")
        expect(page.locator("dl.facts")).to_contain_text("09:00 ngày 20/04/2024")
        values = page.get_by_role("row")
        expect(values.filter(has_text="Tạo việc làm mới")).to_contain_text("1.300")
        expect(values.filter(has_text="Tỷ lệ lao động qua đào tạo")).to_contain_text("67,5%")
        expect(page.get_by_text("Đã mở 3 lớp dạy nghề cho 90 lao động.")).to_be_visible()
        assert stored(portal.engine)["submissions"] == 1

        # Back on the list, the report has moved to "sent".
        page.get_by_role("link", name="← Danh sách báo cáo").click()
        sent = (
            page.get_by_role("row")
            .filter(has_text="Báo cáo tháng")
            .filter(has_text="tháng 4 năm 2024")
        )
        expect(sent).to_contain_text("Đã gửi muộn")
    finally:
        context.close()


def test_a_deliverable_progress_form_in_the_browser(portal: Portal, browser: Any) -> None:
    from playwright.sync_api import expect

    token = new_token(portal.engine, "xa-hai")
    item = item_id(portal.engine, "xa-hai", "ke-hoach-xa", None)
    context = browser.new_context(locale="vi-VN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{portal.url}/items/{item}")
        page.get_by_label("Mã truy cập").fill(token)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("heading", name="Kế hoạch giảm nghèo của xã")).to_be_visible()
        page.get_by_label("Ghi chú").fill("Đã xin ý kiến các thôn")
        page.get_by_role("button", name="Gửi báo cáo").click()
        expect(page.locator("#progress-state-error")).to_contain_text("Chưa chọn tình trạng")
        expect(page.get_by_label("Ghi chú")).to_have_value("Đã xin ý kiến các thôn")
        page.get_by_label("Tình trạng").select_option(label="Đang thực hiện")
        page.get_by_label("Tệp đính kèm (minh chứng)").set_input_files(
            files=[{"name": "bien-ban.pdf", "mimeType": "application/pdf", "buffer": b"%PDF"}]
        )
        page.get_by_role("button", name="Gửi báo cáo").click()
        expect(page.locator("#receipt-no")).to_have_text(f"BN-{item}-1")
        expect(page.get_by_text("Đang thực hiện, ngày 20/04/2024.")).to_be_visible()
        expect(page.get_by_text("bien-ban.pdf")).to_be_visible()
    finally:
        context.close()
