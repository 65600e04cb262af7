"""The demo: the Cao Lộc 2024 plan played day by day with a fixed clock, through the real flows.

Each working day, in the order an office lives it:

- 07:45 the daily check (`check_and_escalate` with the simulated `now`) reminds and escalates;
- 08:00 the compilations the deployments schedule for that day (`compile_report`, sent by mail);
- 09:30 the units that the seed says submit that day do so through the real intake.

Messages go to sinks started here on 127.0.0.1 (an SMTP server writing a mailbox, a webhook
server writing a log); Prefect runs are recorded by a private local Prefect server.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from access.actor import Actor
from demo.behaviour import (
    Behaviour,
    ItemFacts,
    TargetFacts,
    decide,
    narrative_for,
    progress_for,
    values_for,
)
from demo.sinks import mail_sink, webhook_sink
from deploy.deployments import COMPILE_AT, DAILY_CHECK_AT, compilation_days, last_deadlines
from deploy.server import prefect_server
from intake.address import ItemAddress, form_spec
from intake.store import SubmitRequest, submit
from models.access import Role
from models.calendar import load_calendar
from models.db import make_engine, session_factory
from models.items import DueItem
from models.migrate import upgrade
from models.org import Unit
from models.queries import latest_plan
from plan_sync.sync import load_plan
from plans import CAO_LOC_2024
from plans.loader import read_plan
from plans.vocabulary import ItemKind
from schedules.calendar import WorkCalendar, as_date, working_instant
from settings import get_settings
from status.states import ItemState, item_states
from submissions.content import RawSubmission

# The instants of the deployments' schedules: the daily check's morning run, the compilations'.
CHECK_AT = DAILY_CHECK_AT
YEAR_START = date(2024, 1, 1)
YEAR_END = date(2024, 12, 31)
DAY_END = clock_time(17, 0)
MARKER = ".dondoc-demo"
# What a demo folder holds; only these are cleared when the demo is played again.
OWNED = ("dondoc.sqlite3", "dondoc.sqlite3-wal", "dondoc.sqlite3-shm", "mailbox.mbox")
OWNED_DIRS = ("data", "reports", "prefect", "webhooks")
SENDER = "dondoc@caoloc.example"
ADMIN = "phong-ldtbxh-dt.tong-hop@caoloc.example"
MAX_UPLOAD = 10 * 1024 * 1024


class DemoError(Exception):
    """The demo cannot run as asked (bad folder, bad dates): a message for the user."""


@dataclass(frozen=True)
class DemoOptions:
    out: Path
    seed: int = 2024
    until: date = YEAR_END
    start: date = YEAR_START


@dataclass
class DayResult:
    day: date
    submitted: int
    compiled: list[str]
    emails: int  # so far
    webhooks: int  # so far


@dataclass
class DemoResult:
    options: DemoOptions
    database: Path
    mailbox: Path
    webhook_log: Path
    working_days: int = 0
    reports: dict[str, list[Path]] = field(default_factory=dict)
    submissions: int = 0
    emails: int = 0
    webhooks: int = 0
    states: list[ItemState] = field(default_factory=list)
    seconds: float = 0.0


def prepare_folder(out: Path) -> None:
    """Use `out` for the demo: new or empty, or a previous demo's (then its files are cleared)."""
    if out.exists() and not out.is_dir():
        raise DemoError(f"{out} là một tệp, không phải thư mục")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise DemoError(
            f"{out} không trống và không phải thư mục chạy thử của dondoc; "
            "chọn thư mục khác bằng --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("dondoc demo output; `dondoc demo` may clear it\n", encoding="utf-8")
    for name in OWNED:
        (out / name).unlink(missing_ok=True)
    for name in OWNED_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)


@contextmanager
def demo_environment(values: dict[str, str], cwd: Path) -> Iterator[None]:
    """dondoc's settings for the demo only: every DONDOC_ variable of the caller is set aside
    and the working directory is the demo folder, so no `.env` of a real office is read (its
    SMTP or Zalo credentials must never get the simulated year's messages)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("DONDOC_")}
    old_cwd = Path.cwd()
    for key in saved:
        del os.environ[key]
    os.environ.update(values)
    os.chdir(cwd)
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.chdir(old_cwd)
        for key in values:
            os.environ.pop(key, None)
        os.environ.update(saved)
        get_settings.cache_clear()


@contextmanager
def quiet_prefect() -> Iterator[None]:
    """Flow-run logs would scroll the progress bar away: keep Prefect's errors only."""
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()  # configured later, it would reset the level set here
    logger = logging.getLogger("prefect")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def item_facts(*, session: Session) -> list[ItemFacts]:
    rows = session.execute(
        select(DueItem, Unit.code, Unit.kind)
        .join(Unit, Unit.id == DueItem.unit_id)
        .where(DueItem.withdrawn_at.is_(None))
        .order_by(DueItem.id)
    )
    return [
        ItemFacts(
            item_id=item.id,
            key=item.key,
            kind=item.kind,
            unit_code=code,
            unit_kind=kind,
            period_label=item.period_label,
            opens_at=item.opens_at,
            deadline_on=item.deadline_on,
        )
        for item, code, kind in rows
    ]


def plan_submissions(
    facts: Sequence[ItemFacts], *, seed: int, calendar: WorkCalendar
) -> dict[date, list[tuple[ItemFacts, Behaviour]]]:
    """Who submits on which day, from the seed."""
    by_day: dict[date, list[tuple[ItemFacts, Behaviour]]] = {}
    for item in facts:
        behaviour = decide(item, seed=seed, calendar=calendar)
        if behaviour.submit_on is not None:
            by_day.setdefault(behaviour.submit_on, []).append((item, behaviour))
    return by_day


def submit_as_unit(
    engine: Engine, item: ItemFacts, behaviour: Behaviour, *, seed: int, data_dir: Path
) -> None:
    """One unit's submission through the real intake, at the simulated instant."""
    sessions = session_factory(engine)
    with sessions() as session:
        due = session.get(DueItem, item.item_id)
        assert due is not None
        spec = form_spec(due, session=session)
        unit_id = due.unit_id
    if item.kind == ItemKind.REPORT:
        targets = [TargetFacts(t.code, t.kind, t.required) for t in spec.targets]
        raw = RawSubmission(
            values=values_for(item, targets, seed=seed),
            narrative=narrative_for(item, spec.sections, behaviour.outcome),
        )
    else:
        raw = RawSubmission(progress=progress_for(behaviour))
    now = behaviour.submit_at()
    assert now is not None
    submit(
        sessions,
        SubmitRequest(
            address=ItemAddress(item_id=item.item_id),
            actor=Actor(
                role=Role.UNIT,
                label=f"unit:{item.unit_code}",
                unit_id=unit_id,
                unit_code=item.unit_code,
            ),
            channel="web",
            raw=raw,
            idempotency_key=f"demo-{seed}-{item.item_id}",
        ),
        now=now,
        data_dir=data_dir,
        max_attachment_bytes=MAX_UPLOAD,
    )


def working_days(start: date, until: date, calendar: WorkCalendar) -> list[date]:
    days: list[date] = []
    day = calendar.roll_forward(start)
    while day <= until:
        days.append(day)
        day = calendar.next_working_day(day)
    return days


def prepare_database(engine: Engine, start: date) -> tuple[WorkCalendar, list[ItemFacts]]:
    """Migrate, load the Cao Lộc plan as of the first simulated morning, read its items."""
    upgrade(engine)
    with session_factory(engine).begin() as session:
        load_plan(read_plan(CAO_LOC_2024), session=session, now=working_instant(start, CHECK_AT))
    with session_factory(engine)() as session:
        return load_calendar(session=session), item_facts(session=session)


def compile_days(engine: Engine, calendar: WorkCalendar) -> dict[date, list[str]]:
    """The periods compiled on each day: what compile-report/scheduled would run."""
    with session_factory(engine)() as session:
        plan = latest_plan(session=session)
        assert plan is not None
        days = compilation_days(
            last_deadlines(session=session, plan=plan, calendar=calendar), calendar
        )
    by_day: dict[date, list[str]] = {}
    for label, day in days.items():
        by_day.setdefault(as_date(day), []).append(label)
    return by_day


def run_demo(
    options: DemoOptions,
    *,
    on_start: Callable[[int], None] = lambda _: None,
    on_day: Callable[[DayResult], None] = lambda _: None,
) -> DemoResult:
    """Play the plan from `start` to `until`; see the module docstring for a day's order."""
    if options.until < options.start:
        raise DemoError(
            f"--until {options.until:%d/%m/%Y} ở trước ngày bắt đầu {options.start:%d/%m/%Y}"
        )
    if options.until > YEAR_END:
        raise DemoError(f"--until {options.until:%d/%m/%Y} ở sau năm của kế hoạch (2024)")
    began = time.monotonic()
    out = options.out.resolve()
    prepare_folder(out)
    result = DemoResult(
        options=options,
        database=out / "dondoc.sqlite3",
        mailbox=out / "mailbox.mbox",
        webhook_log=out / "webhooks" / "webhooks.jsonl",
    )
    with ExitStack() as stack:
        mail = stack.enter_context(mail_sink(result.mailbox))
        hooks = stack.enter_context(webhook_sink(result.webhook_log))
        stack.enter_context(
            demo_environment(
                {
                    "DONDOC_DATABASE_URL": f"sqlite:///{result.database}",
                    "DONDOC_DATA_DIR": str(out / "data"),
                    "DONDOC_SMTP__HOST": mail.host,
                    "DONDOC_SMTP__PORT": str(mail.port),
                    "DONDOC_SMTP__SENDER": SENDER,
                    "DONDOC_ADMIN_EMAIL": ADMIN,
                    "DONDOC_WEBHOOKS": json.dumps({"demo": f"json://{hooks.host_port}/dondoc"}),
                },
                cwd=out,
            )
        )
        engine = make_engine(f"sqlite:///{result.database}")
        stack.callback(engine.dispose)
        calendar, facts = prepare_database(engine, options.start)
        compile_on = compile_days(engine, calendar)
        submitting = plan_submissions(facts, seed=options.seed, calendar=calendar)
        days = working_days(options.start, options.until, calendar)

        from flows.check_and_escalate import check_and_escalate
        from flows.compile_report import compile_report

        api_url = stack.enter_context(prefect_server(home=out / "prefect", use_configured=False))
        stack.enter_context(prefect_client_settings(api_url))
        stack.enter_context(quiet_prefect())
        result.working_days = len(days)
        on_start(len(days))
        for day in days:
            check_and_escalate(as_of=working_instant(day, CHECK_AT).isoformat())
            for label in compile_on.get(day, []):
                paths = compile_report(
                    period=label,
                    send=True,
                    out_dir=str(out / "reports" / label),
                    doc_date=day,
                    as_of=working_instant(day, COMPILE_AT),
                )
                result.reports[label] = [Path(p) for p in paths]
            todays = submitting.get(day, [])
            for item, behaviour in todays:
                submit_as_unit(engine, item, behaviour, seed=options.seed, data_dir=out / "data")
            result.submissions += len(todays)
            on_day(DayResult(day, len(todays), compile_on.get(day, []), mail.count, hooks.count))

        with session_factory(engine)() as session:
            result.states = item_states(
                session=session, as_of=end_instant(options.until), calendar=calendar
            )
        result.emails = mail.count
        result.webhooks = hooks.count
    result.seconds = time.monotonic() - began
    return result


@contextmanager
def prefect_client_settings(api_url: str) -> Iterator[None]:
    """This process's flow runs go to the private server; no heartbeats (a simulated clock)."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW,
        temporary_settings,
    )

    with temporary_settings(
        {
            PREFECT_API_URL: api_url,
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
            PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW: "ignore",
        }
    ):
        try:
            yield
        finally:
            drain_prefect_workers()


def drain_prefect_workers() -> None:
    """Send the logs and events still queued while the server is up; at interpreter exit they
    would retry against a stopped server for a long minute (as prefect_test_harness does)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        try:
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        except RuntimeError:
            pass  # never started
        drained = EventsWorker.drain_all()
        if inspect.isawaitable(drained):
            await drained

    run_coro_as_sync(drain())


def end_instant(until: date) -> datetime:
    """The close of the last simulated day, when the summary is taken."""
    return working_instant(until, DAY_END)
