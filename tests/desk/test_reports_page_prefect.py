"""Compile now where a Prefect API is configured: the `compile-report/adhoc` deployment runs
it, and the status page follows the run's state in Vietnamese (Prefect's test server)."""

from __future__ import annotations

import re
from uuid import UUID

import pytest

from tests.support.desk_actions import audit, csrf, hidden_fields, signed_in
from tests.support.intake import Portal

pytestmark = pytest.mark.slow  # a real Prefect API (prefect's test harness)


def test_compile_now_starts_the_adhoc_deployment_and_follows_its_run(
    portal: Portal, prefect_api: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL
    from prefect.states import Completed

    from flows.compile_report import compile_report

    compile_report.to_deployment(name="adhoc").apply()
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
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

        with get_client(sync_client=True) as client:
            client.set_flow_run_state(run_id, Completed(), force=True)
        finished = office.get(started.headers["location"])
        assert "Đã tổng hợp xong" in finished.text and 'http-equiv="refresh"' not in finished.text
    events = audit(portal.engine, "report.compile")
    assert [e["details"]["via"] for e in events] == ["prefect", "prefect"]


def test_an_unreachable_prefect_is_said_in_vietnamese(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens there
    with signed_in(portal) as office:
        data = {"csrf": csrf(office, "/bao-cao"), "period": "2024-Q1", "formats": "docx"}
        refused = office.post("/bao-cao/tong-hop", data={**data, "xac_nhan": "1"})
    assert refused.status_code == 422 and "Không kết nối được Prefect" in refused.text
    assert audit(portal.engine, "report.compile") == []
