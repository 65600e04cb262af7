"""The check-and-escalate flow on a real Prefect API: delivers, stays within a few step runs,
skips days off, and e-mails the admin when it fails."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Engine

from demo.sinks import SmtpServer, ZaloServer
from flows.check_and_escalate import check_and_escalate
from models.outbox import OutboxStatus
from notifications.alerts import SUBJECT
from settings import Settings, get_settings
from tests.support.escalation import SMTP_PASSWORD, outbox_messages

pytestmark = pytest.mark.slow  # the Prefect test harness: flows against a Prefect server process


def _task_runs(flow_run_id: UUID, expected: int) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + 15
    with get_client(sync_client=True) as client:
        while True:  # task runs reach the API through events, a moment after they ran
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            if len(runs) >= expected or time.monotonic() > deadline:
                return list(runs)
            time.sleep(0.2)


def test_the_flow_delivers_with_one_step_run_per_channel(
    prefect_api: None, channel_env: Settings, smtp: SmtpServer, zalo: ZaloServer, plan_db: Engine
) -> None:
    state = check_and_escalate(as_of="2024-03-19T08:00:00+07:00", return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary["sending"] is True
    assert {d["channel"] for d in summary["deliveries"]} == {
        "email",
        "zalo_oa",
        "zalo_bot",
        "webhook",
    }
    messages = outbox_messages(plan_db)
    assert messages and {m.status for m in messages} == {OutboxStatus.SENT}
    assert Counter(m.message_id for m in smtp.received()) == Counter(
        f"<{m.key}@ubnd-thu.example>" for m in messages if m.channel == "email"
    )
    # One step run to decide and one per channel, however many units and messages.
    runs = _task_runs(state.state_details.flow_run_id, expected=5)
    names = Counter(r.name.rsplit("-", 1)[0] for r in runs)
    assert names == {"decide-and-record": 1, "deliver": 4}


def test_the_flow_sends_nothing_on_a_day_off(
    prefect_api: None, channel_env: Settings, smtp: SmtpServer, plan_db: Engine
) -> None:
    summary = check_and_escalate(as_of="2024-03-16T09:00:00+07:00")  # Saturday
    assert summary == {"as_of": "2024-03-16T02:00:00+00:00", "sending": False, "deliveries": []}
    assert outbox_messages(plan_db) == [] and smtp.received() == []


def test_a_failing_flow_emails_the_admin(
    prefect_api: None,
    channel_env: Settings,
    smtp: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No database where the settings say: the check refuses before it starts.
    monkeypatch.setenv("DONDOC_DATABASE_URL", f"sqlite:///{tmp_path / 'broken.sqlite3'}")
    get_settings.cache_clear()
    state = check_and_escalate(as_of="2024-03-19T08:00:00+07:00", return_state=True)
    assert state.is_failed()
    [alert] = smtp.received()
    assert alert.rcpt_tos == ("quan-tri@ubnd-thu.example",)
    assert alert.message["Subject"] == SUBJECT
    assert alert.message_id == f"<alert-{state.state_details.flow_run_id}@ubnd-thu.example>"
    assert "của luồng check-and-escalate đã thất bại" in alert.text
    assert "Chưa có cơ sở dữ liệu của dondoc" in alert.text  # the cause, for whoever fixes it
    assert SMTP_PASSWORD not in alert.text
