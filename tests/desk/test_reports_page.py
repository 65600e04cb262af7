"""/bao-cao: compile now in the portal's background, follow it, list and download the files."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from reports.document import ReportError
from reports.ondemand import AlreadyRunning, CompileJobs, JobState, libreoffice
from tests.support.desk_actions import audit, csrf, hidden_fields, signed_in
from tests.support.intake import Portal


def _follow(client: httpx.Client, location: str, timeout: float = 120) -> str:
    """The status page until it stops refreshing itself (the compilation ended)."""
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(location)
        assert page.status_code == 200, page.text[:300]
        if 'http-equiv="refresh"' not in page.text:
            return page.text
        assert "Đang tổng hợp" in page.text
        assert time.monotonic() < deadline, "the compilation did not end"
        time.sleep(0.3)


def _compile(client: httpx.Client, period: str, formats: list[str]) -> httpx.Response:
    data: dict[str, str | list[str]] = {"csrf": csrf(client, "/bao-cao"), "period": period}
    data["formats"] = formats
    confirm = client.post("/bao-cao/tong-hop", data=data)
    assert confirm.status_code == 200 and "Xác nhận tổng hợp ngay" in confirm.text, confirm.text
    return client.post("/bao-cao/tong-hop", data=hidden_fields(confirm.text))


def test_compile_now_in_the_background_then_download(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal.settings, "prefect_api_url", None)
    folder = portal.settings.data_dir / "reports" / "2024-04"
    shutil.rmtree(folder, ignore_errors=True)
    with signed_in(portal) as office:
        page = office.get("/bao-cao")
        assert page.status_code == 200 and "Tổng hợp ngay" in page.text
        assert '<option value="2024-04">tháng 4 năm 2024</option>' in page.text
        started = _compile(office, "2024-04", ["docx", "xlsx", "html"])
        assert started.status_code == 303, started.text
        assert started.headers["location"].startswith("/bao-cao/tong-hop/")
        (event,) = audit(portal.engine, "report.compile")
        assert event["object_id"] == "2024-04" and event["details"]["via"] == "portal"

        done = _follow(office, started.headers["location"])
        assert "Đã tổng hợp xong" in done and ".docx" in done
        listed = office.get("/bao-cao").text
        assert "tháng 4 năm 2024" in listed and "Word (DOCX)" in listed
        names = sorted(p.name for p in folder.iterdir())
        docx = next(n for n in names if n.endswith(".docx"))
        assert any(n.endswith(".xlsx") for n in names) and any(n.endswith(".html") for n in names)
        got = office.get(f"/bao-cao/2024-04/{docx}")
        assert got.status_code == 200 and got.content[:2] == b"PK"
        assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
        for bad in ("..%2F..%2Fsecret", "khong-co.docx"):
            assert office.get(f"/bao-cao/2024-04/{bad}").status_code == 404


def test_a_compilation_that_fails_says_why_in_vietnamese(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal.settings, "prefect_api_url", None)
    with signed_in(portal) as office:
        started = _compile(office, "2023-Q1", ["docx"])  # no plan of 2023 was loaded
        assert started.status_code == 303
        failed = _follow(office, started.headers["location"])
    assert "Tổng hợp không thành công" in failed
    assert "Chưa nạp kế hoạch nào của năm 2023" in failed


def test_compile_now_refuses_a_missing_period_or_format_and_non_office(portal: Portal) -> None:
    with signed_in(portal) as office:
        token = csrf(office, "/bao-cao")
        refused = office.post("/bao-cao/tong-hop", data={"csrf": token, "period": "2024-13"})
        assert refused.status_code == 422
        assert "Chưa chọn kỳ tổng hợp" in refused.text and "ít nhất một định dạng" in refused.text
        data = {"period": "2024-04", "formats": "docx", "xac_nhan": "1"}
        assert office.post("/bao-cao/tong-hop", data=data).status_code == 403  # no csrf
    with signed_in(portal, "xa-mot") as unit:
        token = csrf(unit, "/")
        for path in ("/bao-cao", "/bao-cao/2024-04/bao-cao.docx", "/bao-cao/tong-hop/1"):
            page = unit.get(path)
            assert page.status_code == 403, path
            assert "Chỉ văn phòng" in page.text, path
        refused = unit.post("/bao-cao/tong-hop", data={"csrf": token, **data})
        assert refused.status_code == 403 and "Chỉ văn phòng" in refused.text
    assert audit(portal.engine, "report.compile") == []


def test_one_compilation_at_a_time_per_period() -> None:
    jobs = CompileJobs(clock=lambda: datetime(2024, 4, 20, tzinfo=UTC))
    release = threading.Event()

    def slow() -> list[Path]:
        release.wait(10)
        return [Path("bao-cao.docx")]

    def broken() -> list[Path]:
        raise ReportError("Chưa nạp kế hoạch nào của năm 2023")

    first = jobs.start("2024-Q1", ["docx"], "office", slow)
    with pytest.raises(AlreadyRunning) as again:
        jobs.start("2024-Q1", ["xlsx"], "office", slow)
    assert again.value.job.job_id == first.job_id
    other = jobs.start("2023-Q1", ["docx"], "office", broken)  # another period runs alongside
    release.set()
    jobs.wait(10)
    done, failed = jobs.get(first.job_id), jobs.get(other.job_id)
    assert done is not None and done.state is JobState.DONE and done.files == ("bao-cao.docx",)
    assert failed is not None and failed.state is JobState.FAILED
    assert failed.error == "Chưa nạp kế hoạch nào của năm 2023"
    assert jobs.start("2024-Q1", ["docx"], "office", slow).job_id == 3  # free again


@pytest.mark.slow  # LibreOffice converts the document in a process of its own
@pytest.mark.skipif(libreoffice() is None, reason="LibreOffice is not installed here")
def test_pdf_is_compiled_from_the_docx_with_libreoffice(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal.settings, "prefect_api_url", None)
    folder = portal.settings.data_dir / "reports" / "2024-04"
    shutil.rmtree(folder, ignore_errors=True)
    with signed_in(portal) as office:
        started = _compile(office, "2024-04", ["pdf"])
        done = _follow(office, started.headers["location"], timeout=300)
        assert "Đã tổng hợp xong" in done and ".pdf" in done
        pdf = next(p.name for p in folder.iterdir() if p.suffix == ".pdf")
        got = office.get(f"/bao-cao/2024-04/{pdf}")
    assert got.status_code == 200 and got.content[:5] == b"%PDF-"
    assert got.headers["content-type"] == "application/pdf"


@pytest.mark.slow  # LibreOffice converts the document in a process of its own
@pytest.mark.skipif(libreoffice() is None, reason="LibreOffice is not installed here")
def test_two_first_pdf_downloads_at_once_run_libreoffice_once(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both get the whole PDF; the second waits for the first's conversion (LibreOffice is
    the real one; its runs are counted on their way to it)."""
    import subprocess

    from reports import ondemand

    monkeypatch.setattr(portal.settings, "prefect_api_url", None)
    folder = portal.settings.data_dir / "reports" / "2024-04"
    shutil.rmtree(folder, ignore_errors=True)
    runs: list[list[str]] = []
    real_run = subprocess.run

    def counted(argv: list[str], **options: object) -> subprocess.CompletedProcess[bytes]:
        runs.append(argv)
        return real_run(argv, **options)  # type: ignore[call-overload,no-any-return]

    with signed_in(portal) as office:
        done = _follow(office, _compile(office, "2024-04", ["docx"]).headers["location"])
        assert "Đã tổng hợp xong" in done
        name = next(p.stem for p in folder.iterdir() if p.suffix == ".docx") + ".pdf"
        monkeypatch.setattr(ondemand.subprocess, "run", counted)
        got: list[httpx.Response] = []
        start = threading.Barrier(2)

        def download() -> None:
            start.wait(10)
            got.append(office.get(f"/bao-cao/2024-04/{name}", timeout=300))

        both = [threading.Thread(target=download) for _ in range(2)]
        for thread in both:
            thread.start()
        for thread in both:
            thread.join(300)
    assert [r.status_code for r in got] == [200, 200]
    assert got[0].content[:5] == b"%PDF-" and got[0].content == got[1].content
    assert len(runs) == 1, runs
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_a_pdf_older_than_its_docx_is_made_again_on_download(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later compilation rewrote the DOCX: the PDF made from the earlier one is not served."""
    import os

    from portal import reports_page

    folder = portal.settings.data_dir / "reports" / "2024-05"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    docx, pdf = folder / "bao-cao.docx", folder / "bao-cao.pdf"
    pdf.write_bytes(b"%PDF- of the first compilation")
    docx.write_bytes(b"PK second compilation")
    os.utime(pdf, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    made: list[Path] = []

    def convert(source: Path) -> Path:
        made.append(source)
        target = source.with_suffix(".pdf")
        target.write_bytes(b"%PDF- of the second compilation")
        return target

    monkeypatch.setattr(reports_page, "libreoffice", lambda: "/usr/bin/libreoffice")
    monkeypatch.setattr(reports_page, "docx_to_pdf", convert)
    with signed_in(portal) as office:
        got = office.get("/bao-cao/2024-05/bao-cao.pdf")
        assert got.status_code == 200 and got.content == b"%PDF- of the second compilation"
        again = office.get("/bao-cao/2024-05/bao-cao.pdf")  # now current: served as it is
    assert again.content == b"%PDF- of the second compilation"
    assert made == [docx]
