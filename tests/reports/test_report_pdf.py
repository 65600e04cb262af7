"""The Cao Lộc Q1 sample DOCX converts to PDF with LibreOffice and its pages render.

One conversion only (it takes seconds). `DONDOC_UPDATE_DOCS=1` also refreshes the pictures of
the first two pages kept in docs/ for readers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from models.db import make_engine, transaction
from models.migrate import upgrade
from reports.compile import chart_png
from reports.content import build_report
from reports.render_docx import render_docx
from schedules.periods import Period
from tests.support.reports import Q1_AS_OF, cao_loc_q1

LIBREOFFICE = shutil.which("libreoffice") or shutil.which("soffice")
DOCS = Path(__file__).parents[2] / "docs"
DOCS_PICTURES = (DOCS / "sample-report-2024-Q1-page1.png", DOCS / "sample-report-2024-Q1-page2.png")

pytestmark = [
    pytest.mark.skipif(
        LIBREOFFICE is None and not os.environ.get("CI"),
        reason="LibreOffice is not installed here (Debian: libreoffice-writer-nogui, "
        "fonts-liberation, poppler-utils; .ci/run installs them, and in CI this test must run)",
    ),
    pytest.mark.slow,  # LibreOffice converts the document in a process of its own
]


def _run(*args: str, timeout: int = 180) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{args[0]} failed: {done.stderr[-2000:]}"
    return done.stdout


def test_sample_docx_converts_to_pdf_and_renders(tmp_path: Path) -> None:
    assert LIBREOFFICE is not None, "CI must install libreoffice-writer-nogui (.ci/apt-packages)"
    # SQLite only: the conversion is slow and the backend changes nothing in the document.
    engine = make_engine(f"sqlite:///{tmp_path / 'sample.sqlite3'}")
    upgrade(engine)
    with transaction(engine) as session:
        plan = cao_loc_q1(session)
        report = build_report(
            session=session, plan=plan, period=Period.parse("2024-Q1"), as_of=Q1_AS_OF
        )
    engine.dispose()
    docx = tmp_path / "bao-cao-2024-Q1.docx"
    docx.write_bytes(render_docx(report, chart_png(report)))

    # A private profile: no clash with another LibreOffice and nothing written to $HOME.
    profile = (tmp_path / "lo-profile").as_uri()
    _run(
        LIBREOFFICE,
        f"-env:UserInstallation={profile}",
        "--headless",
        "--convert-to",
        "pdf",
        "--outdir",
        str(tmp_path),
        str(docx),
    )
    pdf = docx.with_suffix(".pdf")
    assert pdf.exists()

    info = _run("pdfinfo", str(pdf))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    assert 3 <= pages <= 10
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())  # type: ignore[union-attr]
    assert (round(width), round(height)) == (595, 842)  # A4 portrait in points

    # Times New Roman is named in the DOCX; LibreOffice lays it out with its metric twin.
    fonts = _run("pdffonts", str(pdf))
    assert "LiberationSerif" in fonts or "TimesNewRoman" in fonts, fonts
    text = _run("pdftotext", "-layout", str(pdf), "-")
    for expected in (
        "ỦY BAN NHÂN DÂN",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "BÁO CÁO",
        "I. KẾT QUẢ THỰC HIỆN",
        "KT. CHỦ TỊCH",
        "Nguyễn Văn Thịnh",
        "Lưu: VT.",
    ):
        assert expected in text, expected

    # Page numbers centred in the top margin from page 2; none on the first page.
    def first_line(page: int) -> str:
        text = _run("pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-")
        return next(line for line in text.splitlines() if line.strip())

    assert first_line(1).split()[:3] == ["ỦY", "BAN", "NHÂN"]
    for page in (2, pages):
        number = first_line(page)
        assert number.strip() == str(page)
        indent = len(number) - len(number.lstrip())
        assert 25 <= indent <= 55, number  # centred over the text, not at a margin

    _run("pdftoppm", "-r", "110", "-png", str(pdf), str(tmp_path / "page"))
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == pages
    first = Image.open(rendered[0]).convert("L")
    assert first.width / first.height == pytest.approx(210 / 297, abs=0.01)
    # Ink in the header band (agency, national title) and in the body: a page, not a blank.
    header = first.crop((0, 0, first.width, first.height // 8))
    assert header.getextrema()[0] < 100
    if os.environ.get("DONDOC_UPDATE_DOCS"):
        for page, picture in zip(rendered, DOCS_PICTURES, strict=False):
            shutil.copyfile(page, picture)
