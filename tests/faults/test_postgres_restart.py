"""PostgreSQL restarted in the middle of the check-and-escalate flow (real Prefect API).

The database is a private PostgreSQL server this module starts (initdb under a temporary
folder, its own port), because the machine's shared server serves other test runs. It is
restarted twice during one flow run, at deterministic points:

1. while the decision is being written: the messages of the run are inserted, the insert of
   their intents is about to go; the transaction dies with its connection;
2. while an e-mail is with the SMTP server: the server has the mail, the transaction that
   would mark it sent dies.

Each step fails once and Prefect retries it; the flow completes. Afterwards nothing is
half-written (every decided intent exactly once, every message has its intents, all sent),
every message arrived, and the only copy is the mail that was in flight, with its own key.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Engine, event, select, text

from demo.sinks import SmtpServer, ZaloServer, free_port
from flows.check_and_escalate import check_and_escalate
from models.db import make_engine, session_factory
from models.migrate import upgrade
from models.outbox import OutboxIntent, OutboxMessage, OutboxStatus
from settings import get_settings
from tests.support.escalation import make_settings, outbox_messages, settings_env
from tests.support.faults import (
    HookList,
    PrivatePostgres,
    arrivals,
    copies_differ,
    decided,
    expected_key,
    key_of_mail,
    load_fault_plan,
    recorded_intents,
)

# slow, serial: restarts: a private PostgreSQL server, restarted mid-flow
pytestmark = [pytest.mark.slow, pytest.mark.serial]

AS_OF = "2024-03-19T08:00:00+07:00"  # overdue notices to six officers and heads, a catch-up


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    why = PrivatePostgres.available()
    if why is not None:
        if os.environ.get("CI"):  # CI runs PostgreSQL on the machine: its binaries are there
            pytest.fail(f"cannot start a private PostgreSQL server: {why}")
        pytest.skip(f"cannot start a private PostgreSQL server: {why}")
    server = PrivatePostgres.create(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_db(private_pg: PrivatePostgres) -> Iterator[Engine]:
    engine = make_engine(private_pg.url)
    upgrade(engine)
    load_fault_plan(engine)
    yield engine
    engine.dispose()


def _started_at(engine: Engine) -> Any:
    with session_factory(engine)() as session:
        return session.scalar(text("SELECT pg_postmaster_start_time()"))


def _task_runs(flow_run_id: UUID, expected: int) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + 15
    with get_client(sync_client=True) as client:
        while True:  # task runs reach the API through events, a moment after they ran
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            done = [r for r in runs if r.state is not None and r.state.is_final()]
            if len(done) >= expected or time.monotonic() > deadline:
                return list(runs)
            time.sleep(0.2)


def test_postgres_restarted_twice_during_the_flow(
    private_pg: PrivatePostgres,
    pg_db: Engine,
    smtp: SmtpServer,
    zalo: ZaloServer,
    prefect_api: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(pg_db, smtp, zalo)
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    expected = decided(pg_db, settings, AS_OF)
    assert len(expected) > 10
    restarts: list[str] = []
    in_flight: list[str] = []

    def restart_before_the_intents(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if (
            conn.engine.url.port == private_pg.port
            and statement.startswith("INSERT INTO outbox_intents")
            and "decide" not in restarts
        ):
            restarts.append("decide")
            private_pg.restart()

    def restart_with_a_mail_in_flight(item: Any) -> None:
        if "deliver" not in restarts and len(smtp.mails) == 3:
            restarts.append("deliver")
            in_flight.append(key_of_mail(item))
            private_pg.restart()  # before the server answers: the sender still waits

    with smtp.lock:
        smtp.mails = HookList(smtp.mails, restart_with_a_mail_in_flight)
    started = _started_at(pg_db)
    event.listen(Engine, "before_cursor_execute", restart_before_the_intents)
    try:
        state = check_and_escalate(as_of=AS_OF, return_state=True)
    finally:
        event.remove(Engine, "before_cursor_execute", restart_before_the_intents)
        get_settings.cache_clear()

    assert restarts == ["decide", "deliver"]
    assert _started_at(pg_db) > started  # the server really went down and came back
    assert state.is_completed(), state.message
    runs = _task_runs(state.state_details.flow_run_id, expected=5)
    attempts = Counter({r.name.rsplit("-", 1)[0]: 0 for r in runs})
    for r in runs:
        attempts[r.name.rsplit("-", 1)[0]] += r.run_count
    assert attempts == {"decide-and-record": 2, "deliver": 4 + 1}  # one retry each

    # No partial write: exactly the decided intents, each once, each in a message, all sent.
    sent, statuses = recorded_intents(pg_db)
    assert sent == expected and statuses == {OutboxStatus.SENT: len(expected)}
    with session_factory(pg_db)() as session:
        empty = session.scalars(
            select(OutboxMessage.id).where(~OutboxMessage.id.in_(select(OutboxIntent.message_id)))
        ).all()
    assert empty == []
    messages = outbox_messages(pg_db)
    assert {m.status for m in messages} == {OutboxStatus.SENT}
    keys = Counter(expected_key(m.key, m.channel) for m in messages)
    arrived = arrivals(smtp, zalo)
    assert set(arrived) == set(keys)
    assert {k: n - keys[k] for k, n in arrived.items() if n > keys[k]} == {in_flight[0]: 1}
    assert copies_differ(smtp, zalo) == []
