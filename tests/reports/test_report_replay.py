"""A compilation racing submissions gives, replayed with the same as-of, the same figures.

Writers store the communes' Q1 reports through the real intake path with the real clock, as
the portal does, while compilations run as of "now"; afterwards each compilation is run again
with its as-of. Every figure and every late or missing unit must be the same: a submission
counts as of T only if it was stored with a received time up to T, and every such submission
is committed before a compilation as of T reads (intake.locks.wait_for_writers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from intake.address import ItemAddress
from intake.locks import wait_for_writers
from intake.store import SubmitRequest, submit
from models.db import session_factory, transaction
from reports.compile import compilation_instant, load_report
from reports.document import Report
from submissions.content import RawSubmission
from tests.support.intake import LOADER
from tests.support.reports import COMMUNE_JOBS, load_cao_loc

COMMUNES = sorted(COMMUNE_JOBS)
ROUNDS = 3  # versions per commune: the latest received must be the one that counts
COMPILATIONS = 8


def strictly_increasing_clock() -> Callable[[], datetime]:
    """The wall clock, never giving one instant twice (threads read it concurrently).

    Each reading then takes a few milliseconds, as a busy server's next steps would: a
    submission read outside its lock would then commit well after a compilation as of a
    later instant had read, and the replay would count it (the fault this test guards).
    """
    guard = threading.Lock()
    last = [datetime.min.replace(tzinfo=UTC)]

    def read() -> datetime:
        with guard:
            last[0] = max(datetime.now(UTC), last[0] + timedelta(microseconds=1))
            instant = last[0]
        time.sleep(0.005)
        return instant

    return read


Snapshot = tuple[tuple[tuple[str, str, str], ...], tuple[tuple[str, str], ...]]


def snapshot(report: Report) -> Snapshot:
    """What a reader compares: each indicator's figures, and who is late or missing."""
    return (
        tuple((r.code, r.period, r.to_date) for r in report.indicator_rows),
        tuple(sorted((line.unit_name, line.status) for line in report.reporting)),
    )


def compile_q1(engine: Engine, as_of: datetime) -> Snapshot:
    """As `dondoc compile` does: wait for the writers in flight, then read."""
    wait_for_writers(engine)
    with session_factory(engine)() as session:
        return snapshot(load_report(session=session, period="2024-Q1", as_of=as_of))


def test_a_compilation_racing_submissions_replays_identically(
    engine: Engine, tmp_path: Path
) -> None:
    with transaction(engine) as session:
        load_cao_loc(session)
    clock = strictly_increasing_clock()
    sessions = session_factory(engine)

    def send(job: tuple[int, str]) -> None:
        round_, unit = job
        request = SubmitRequest(
            address=ItemAddress(unit=unit, source="bc-quy-xa-thi-tran", period="2024-Q1"),
            actor=LOADER,
            channel="api",
            raw=RawSubmission(values={"viec-lam-moi": 10 * round_ + len(unit)}),
        )
        submit(
            sessions,
            request,
            now=clock(),
            clock=clock,
            data_dir=tmp_path,
            max_attachment_bytes=1024,
        )

    compiled: list[tuple[datetime, Snapshot]] = []
    first_compiled = threading.Event()

    def compile_while_writing() -> None:
        for _ in range(COMPILATIONS):
            as_of = compilation_instant(None, None, clock())
            compiled.append((as_of, compile_q1(engine, as_of)))
            first_compiled.set()

    def send_after_first_compilation(job: tuple[int, str]) -> None:
        first_compiled.wait(timeout=60)
        send(job)

    jobs = [(r, u) for r in range(1, ROUNDS + 1) for u in COMMUNES]
    half = len(jobs) // 2
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, jobs[:half]))
        # The rest is sent while the compilations run: the first one sees half of it.
        compiler = pool.submit(compile_while_writing)
        list(pool.map(send_after_first_compilation, jobs[half:]))
        compiler.result()

    assert len(compiled) == COMPILATIONS
    final = compile_q1(engine, clock())
    assert compiled[0][1] != final  # the compilations saw the intake in motion
    for as_of, seen in compiled:
        assert compile_q1(engine, as_of) == seen, f"as of {as_of.isoformat()}"
