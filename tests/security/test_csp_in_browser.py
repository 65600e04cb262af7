"""The Content-Security-Policy against the portal's own pages in a real browser: /api/docs
renders from local files, the form's size check runs, sign-in and sign-out work, and the
browser reports no blocked script, style or request."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.intake import UPLOAD_LIMIT, Portal, item_id, new_token

pytestmark = pytest.mark.slow  # a browser: headless Chromium

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never `playwright install`)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI installs chromium from .ci/apt-packages; it is missing")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


def test_the_pages_and_the_api_docs_work_under_the_policy(portal: Portal, browser: Any) -> None:
    from playwright.sync_api import expect

    token = new_token(portal.engine, "xa-mot")
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(portal.url) else outside.append(r.url))

    page.goto(f"{portal.url}/api/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
    assert page.locator(".opblock").count() >= 5

    page.goto(f"{portal.url}/items/{item}")
    page.fill("#token", token)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/items/{item}$"))
    # The size check (a script file of the portal's own) refuses an oversized file at once.
    big = {"name": "lon.pdf", "mimeType": "application/pdf", "buffer": b"x" * (UPLOAD_LIMIT + 1)}
    page.set_input_files("#attachments", big)
    page.click("#report-form button[type=submit]")
    expect(page.locator("#report-form .size-error")).to_contain_text("Tệp quá lớn")
    expect(page).to_have_url(re.compile(rf"/items/{item}$"))

    page.click("text=Đăng xuất")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(f"{portal.url}/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    context.close()
    assert not problems, problems  # a CSP violation is reported as a console error
    assert not outside, outside
