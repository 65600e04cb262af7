"""The daily check under Prefect (flows.check_and_escalate) against the same domain calls
without Prefect (notifications.daily_check.run_once), on the whole synthetic province.

The day measured is Thursday 20/06/2024 09:00, the day after a run that sent everything due
on 19/06 (recorded here as sent, to skip re-sending a backlog the fan-out benchmark already
measures). So each timed run is an ordinary day: the state of every item of the year, the
routes, the people and the recorded intents are read; the rungs newly due are recorded and
delivered to the local sinks (email and Zalo Bot). Before each timed run what the previous
one recorded on 20/06 is forgotten, so every run does the same work. Prefect runs against a
temporary local API (`prefect_test_harness`, as the tests do) with production settings;
its start-up is reported apart, and so is the number of Prefect task runs per flow run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pendulum
from sqlalchemy import Engine, delete, update

from benchmarks.bench_fanout import BOT_TOKEN, SENDER, reset_outbox
from benchmarks.sinks import HOST, Sinks
from benchmarks.timing import peak_mib
from models.outbox import OutboxIntent, OutboxMessage, OutboxStatus
from notifications.daily_check import run_once
from notifications.deciding import record_decision
from settings import get_settings

AS_OF = pendulum.datetime(2024, 6, 20, 9, tz="Asia/Ho_Chi_Minh")
DAY_BEFORE = pendulum.datetime(2024, 6, 19, 9, tz="Asia/Ho_Chi_Minh")
CHANNELS = ["email", "zalo_bot"]


@contextmanager
def channel_env(engine: Engine, sinks: Sinks) -> Iterator[None]:
    """The settings a deployed flow reads from its environment, pointed at the sinks."""
    env = {
        "DONDOC_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "DONDOC_SMTP__HOST": HOST,
        "DONDOC_SMTP__PORT": str(sinks.smtp_port),
        "DONDOC_SMTP__SENDER": SENDER,
        "DONDOC_ZALO__BOT_TOKEN": BOT_TOKEN,
        "DONDOC_ZALO__BOT_API_BASE": sinks.http_base,
        "DONDOC_WEBHOOKS": "{}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def _utc(instant: datetime) -> datetime:
    return datetime.fromtimestamp(instant.timestamp(), UTC)


def prime(engine: Engine) -> int:
    """Yesterday's run: everything due on 19/06 recorded and marked sent. Returns messages."""
    reset_outbox(engine)
    day_before = _utc(DAY_BEFORE)
    recorded = record_decision(engine=engine, now=day_before, channels=CHANNELS)
    with engine.begin() as conn:
        conn.execute(
            update(OutboxMessage).values(
                status=OutboxStatus.SENT.value, sent_at=day_before, next_attempt_at=None
            )
        )
        conn.execute(
            update(OutboxIntent).values(status=OutboxStatus.SENT.value, closed_at=day_before)
        )
    return len(recorded.message_ids)


def forget_today(engine: Engine) -> None:
    """Undo what a run on 20/06 recorded, and any cancellation it made."""
    today = _utc(AS_OF)
    with engine.begin() as conn:
        conn.execute(delete(OutboxIntent).where(OutboxIntent.decided_at >= today))
        conn.execute(delete(OutboxMessage).where(OutboxMessage.created_at >= today))


def _task_runs(flow_run_id: UUID, at_least: int) -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + 15
    with get_client(sync_client=True) as client:
        while True:  # task runs reach the API through events, a moment after they ran
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            if len(runs) >= at_least or time.monotonic() > deadline:
                return len(runs)
            time.sleep(0.2)


def run(engine: Engine, sinks: Sinks, repeat: int = 2, *, harness: bool = True) -> dict[str, Any]:
    """`harness=False` uses the Prefect API already configured (the tests' session API)."""
    from prefect.testing.utilities import prefect_test_harness

    from flows.check_and_escalate import check_and_escalate

    now = _utc(AS_OF)
    as_of = AS_OF.isoformat()
    primed = prime(engine)
    results: dict[str, Any] = {}

    def without_prefect() -> dict[str, int]:
        forget_today(engine)
        report = run_once(engine=engine, settings=get_settings(), now=now)
        assert report.recorded is not None
        return {
            "messages": len(report.recorded.message_ids),
            "sent": sum(len(d.sent) for d in report.deliveries),
        }

    def under_prefect() -> dict[str, Any]:
        forget_today(engine)
        state = check_and_escalate(as_of=as_of, return_state=True)
        if not state.is_completed():
            raise RuntimeError(f"the flow did not complete: {state.message}")
        summary = state.result()
        results["flow_run_id"] = state.state_details.flow_run_id
        return {
            "messages": summary["messages"],
            "sent": sum(d["sent"] for d in summary["deliveries"]),
        }

    api = prefect_test_harness(server_startup_timeout=60) if harness else nullcontext()
    with channel_env(engine, sinks), api:
        started = time.perf_counter()
        # A Saturday: the flow starts, finds a day off and stops; what is left is start-up.
        check_and_escalate(as_of="2024-06-22T09:00:00+07:00")
        startup_s = time.perf_counter() - started
        best = {"dondoc": float("inf"), "prefect": float("inf")}
        outcome: dict[str, dict[str, Any]] = {}
        for _ in range(repeat):
            for name, call in (("dondoc", without_prefect), ("prefect", under_prefect)):
                sinks.reset()
                start = time.perf_counter()
                outcome[name] = call()
                best[name] = min(best[name], time.perf_counter() - start)
                got = sinks.stats()
                if got["smtp"] + got["http"] != outcome[name]["sent"]:
                    raise AssertionError(f"{name}: sinks got {got}, sent {outcome[name]}")
        if outcome["dondoc"] != outcome["prefect"]:
            raise AssertionError(f"the two runs differ: {outcome}")
        task_runs = _task_runs(results["flow_run_id"], at_least=1 + len(CHANNELS))
        peak_plain = peak_mib(without_prefect)
        peak_prefect = peak_mib(under_prefect)
    reset_outbox(engine)
    ratio = best["prefect"] / best["dondoc"]
    return {
        "benchmark": "flow",
        "title": "the daily check (decide, record, deliver) for every unit",
        "primed_messages": primed,
        "messages": outcome["dondoc"]["messages"],
        "sent": outcome["dondoc"]["sent"],
        "prefect_task_runs": task_runs,
        "prefect_startup_s": startup_s,
        "prefect_s": best["prefect"],
        "baseline_s": best["dondoc"],
        "prefect_overhead_s": best["prefect"] - best["dondoc"],
        "ratio": ratio,
        "goal": "under Prefect <= 1.5 x without (start-up apart); task runs bounded",
        "met": ratio <= 1.5 and task_runs <= 1 + len(CHANNELS),
        "prefect_peak_mib": peak_prefect,
        "baseline_peak_mib": peak_plain,
    }
