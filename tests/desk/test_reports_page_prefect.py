"""Compile now where a Prefect API is configured: the `compile-report/adhoc` deployment runs
it, and the status page follows the run's state in Vietnamese (Prefect's test server; the
run is executed in this process, as a worker would)."""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import pytest

from settings import get_settings
from tests.support.desk_actions import audit, csrf, hidden_fields, signed_in
from tests.support.intake import Portal

pytestmark = pytest.mark.slow  # a real Prefect API (prefect's test harness)


def _settings_of(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    url = portal.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DONDOC_DATABASE_URL", url)
    monkeypatch.setenv("DONDOC_DATA_DIR", str(portal.settings.data_dir))
    get_settings.cache_clear()


def test_compile_now_starts_the_adhoc_deployment_and_follows_its_run(
    portal: Portal, prefect_api: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow
    from prefect.settings import PREFECT_API_URL

    from flows.compile_report import compile_report

    compile_report.to_deployment(name="adhoc").apply()
    monkeypatch.setattr(portal.settings, "prefect_api_url", str(PREFECT_API_URL.value()))
    with signed_in(portal) as office:
        data = {"csrf": csrf(office, "/bao-cao"), "period": "2024-Q1", "formats": ["docx", "pdf"]}
        confirm = office.post("/bao-cao/tong-hop", data=data)
        assert confirm.status_code == 200 and "trên Prefect" in confirm.text
        started = office.post("/bao-cao/tong-hop", data=hidden_fields(confirm.text))
        assert started.status_code == 303, started.text
        found = re.fullmatch(r"/bao-cao/prefect/([0-9a-f-]{36})", started.headers["location"])
        assert found is not None
        run_id = UUID(found.group(1))
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(run_id)
        assert run.parameters == {"period": "2024-Q1", "formats": ["docx"]}  # PDF made from it

        waiting = office.get(started.headers["location"])
        assert waiting.status_code == 200 and "Đang chờ máy chạy nhận việc" in waiting.text
        assert 'http-equiv="refresh"' in waiting.text

        # The same period again while its run is unfinished: the page follows that run.
        again = office.post("/bao-cao/tong-hop", data=hidden_fields(confirm.text))
        assert again.headers["location"] == started.headers["location"]
        # Other formats: that run would not write them; the office is told to wait for it.
        other = {**hidden_fields(confirm.text), "formats": ["xlsx"]}
        busy = office.post("/bao-cao/tong-hop", data=other)
        assert busy.status_code == 422 and "với định dạng Word (DOCX)" in busy.text
        assert "để có Excel (XLSX)" in busy.text
        # Two clicks at once for another period: one run, and both follow it.
        q2 = {**hidden_fields(confirm.text), "period": "2024-Q2"}
        with ThreadPoolExecutor(2) as pool:
            both = list(pool.map(lambda _: office.post("/bao-cao/tong-hop", data=q2), [1, 2]))
        assert [b.status_code for b in both] == [303, 303]
        assert (
            both[0].headers["location"]
            == both[1].headers["location"]
            != started.headers["location"]
        )

        # The run as a worker would run it (in this process, on the portal's database and
        # data folder): the files land where /bao-cao lists them.
        shutil.rmtree(portal.settings.data_dir / "reports" / "2024-Q1", ignore_errors=True)
        _settings_of(portal, monkeypatch)
        try:
            run_flow(compile_report, flow_run=run, parameters=run.parameters)
        finally:
            get_settings.cache_clear()  # the next test reads its own environment
        finished = office.get(started.headers["location"])
        assert "Đã tổng hợp xong" in finished.text and 'http-equiv="refresh"' not in finished.text
        listed = office.get("/bao-cao").text
        assert "quý I năm 2024" in listed
        docx = next((portal.settings.data_dir / "reports" / "2024-Q1").glob("*.docx"))
        got = office.get(f"/bao-cao/2024-Q1/{docx.name}")
        assert got.status_code == 200 and got.content[:2] == b"PK"
    events = audit(portal.engine, "report.compile")
    assert [e["details"]["via"] for e in events] == ["prefect"] * 4


def test_an_unreachable_prefect_is_said_in_vietnamese(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal.settings, "prefect_api_url", "http://127.0.0.1:9/api")  # closed
    with signed_in(portal) as office:
        data = {"csrf": csrf(office, "/bao-cao"), "period": "2024-Q1", "formats": "docx"}
        refused = office.post("/bao-cao/tong-hop", data={**data, "xac_nhan": "1"})
    assert refused.status_code == 422 and "Không kết nối được Prefect" in refused.text
    assert audit(portal.engine, "report.compile") == []
