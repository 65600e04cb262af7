"""Submissions through the portal's JSON API with concurrent clients, against the same
submissions stored by direct calls of intake.store.submit at the same concurrency, taking
turns as the portal does (on SQLite one at a time: portal.app.submission_slots).

The portal runs as it is deployed: `portal.server.serve` (uvicorn, one process) on
127.0.0.1, in its own process. Each client is a reporting officer with its own unit token;
every request is a new monthly report (values of both targets) with its own Idempotency-Key,
addressed by unit, obligation and period as an officer would. Measured: requests per
second, p50/p99 latency, the server's peak resident memory, and that the database holds
exactly as many new submissions as the API accepted (201).

`run_hostile` measures ordinary requests (an officer listing their items) while other clients
upload hostile spreadsheets in a loop (issue 13: a template whose <dimension> claims 16,384
columns, and one of ~100 KB holding ~3 M cells), as a ratio of the p99 without that load,
measured first in the same run.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from access.actor import Actor
from access.tokens import authenticate, issue_token
from benchmarks.sinks import HOST, free_port
from intake.address import ItemAddress
from intake.store import SubmitRequest, submit
from models.access import Role
from models.db import make_engine, session_factory, transaction
from models.org import Unit
from models.submissions import Submission
from portal.app import submission_slots
from submissions.content import RawSubmission

OBLIGATION = "bc-thang-xa"
ROOT = Path(__file__).resolve().parents[1]


def _issue_tokens(engine: Engine, units: int) -> list[tuple[str, str]]:
    """(unit code, secret) for the first `units` communes."""
    admin = Actor(role=Role.ADMIN, label="benchmark")
    now = datetime.now(UTC)
    out = []
    with transaction(engine) as session:
        rows = session.scalars(
            select(Unit).where(Unit.kind == "commune").order_by(Unit.code).limit(units)
        ).all()
        for unit in rows:
            _, secret = issue_token(
                session=session,
                role=Role.UNIT,
                unit=unit,
                label="benchmark",
                issued_by=admin,
                now=now,
            )
            out.append((unit.code, secret))
    return out


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(Submission)
            .where(Submission.submitted_by.like("unit:%"))
        ).scalar_one()


def _payload(j: int, units: list[tuple[str, str]]) -> tuple[str, dict[str, Any]]:
    code, secret = units[j % len(units)]
    month = (j // len(units)) % 12 + 1
    return secret, {
        "unit": code,
        "obligation": OBLIGATION,
        "period": f"2024-{month:02d}",
        "values": {"viec-lam": j % 50, "ho-ngheo": 300 + j % 7},
    }


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _clients(
    base: str, units: list[tuple[str, str]], requests: int, concurrency: int, tag: str
) -> tuple[float, list[float], Counter[int]]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for j in range(requests):
        queue.put_nowait(j)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                j = queue.get_nowait()
                secret, body = _payload(j, units)
                start = time.perf_counter()
                response = await client.post(
                    "/api/v1/submissions",
                    json=body,
                    headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": f"{tag}-{j}"},
                )
                latencies.append(time.perf_counter() - start)
                statuses[response.status_code] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return wall, latencies, statuses


def _direct(
    engine: Engine, units: list[tuple[str, str]], requests: int, concurrency: int, data_dir: Path
) -> tuple[float, list[float], Counter[int]]:
    # A connection per thread: with fewer (the default pool is 15), a thread returning its
    # connection takes it straight back, and the one left waiting timed out after 30 s.
    engine = make_engine(engine.url.render_as_string(hide_password=False), pool=(concurrency, 0))
    sessions = session_factory(engine)
    # Called as the portal calls it: on SQLite one submission at a time, in order (with all
    # 16 in SQLite's busy handler, a thread starved past its 30 s timeout on a busy machine).
    slots = submission_slots(engine)
    with sessions() as session:
        actors = {
            secret: authenticate(secret, session=session, admin_secret=None) for _, secret in units
        }
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    def one(j: int) -> None:
        secret, body = _payload(j, units)
        actor = actors[secret]
        assert actor is not None
        start = time.perf_counter()
        with slots:
            submit(
                sessions,
                SubmitRequest(
                    address=ItemAddress(
                        unit=body["unit"], source=OBLIGATION, period=body["period"]
                    ),
                    actor=actor,
                    channel="api",
                    raw=RawSubmission(values=body["values"]),
                    source_address=HOST,
                    idempotency_key=f"direct-{j}",
                ),
                now=datetime.now(UTC),
                data_dir=data_dir,
                max_attachment_bytes=10 * 2**20,
            )
        latencies.append(time.perf_counter() - start)
        statuses[201] += 1

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(requests)))
    finally:
        engine.dispose()
    return time.perf_counter() - started, latencies, statuses


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the portal exited at start-up")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the portal did not answer within 60 s")


@contextmanager
def _portal(engine: Engine, data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The portal as deployed (`portal.server.serve`) in its own process, until the block ends."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DONDOC_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "DONDOC_DATA_DIR": str(data_dir),
    }
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-c", f"from portal.server import serve; serve(port={port})"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_healthy(base, process)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(engine: Engine, requests: int = 2000, concurrency: int = 16) -> dict[str, Any]:
    units = _issue_tokens(engine, min(200, max(1, requests // 10)))
    with tempfile.TemporaryDirectory() as tmp, _portal(engine, Path(tmp)) as (base, process):
        idle_rss = _peak_rss_mib(process.pid)
        before = _stored(engine)
        tag = f"bench-{time.time_ns()}"
        # A short warm-up: first requests compile statements and fill the pools.
        asyncio.run(_clients(base, units, min(50, requests), concurrency, f"{tag}-warm"))
        warm = _stored(engine) - before
        before += warm
        wall, latencies, statuses = asyncio.run(_clients(base, units, requests, concurrency, tag))
        load = os.getloadavg()[0]  # other work on the machine during the API's run
        stored = _stored(engine) - before
        server_peak = _peak_rss_mib(process.pid)
    with tempfile.TemporaryDirectory() as tmp:
        before = _stored(engine)
        direct_wall, direct_latencies, _ = _direct(engine, units, requests, concurrency, Path(tmp))
        direct_stored = _stored(engine) - before
    accepted = statuses.get(201, 0)
    if stored != accepted or direct_stored != requests:
        raise AssertionError(
            f"stored {stored} of {accepted} accepted (API), {direct_stored} of {requests} (direct)"
        )
    rps, direct_rps = accepted / wall, requests / direct_wall
    return {
        "benchmark": "portal",
        "title": f"JSON API submissions, {concurrency} concurrent clients",
        "requests": requests,
        "concurrency": concurrency,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "accepted": accepted,
        "stored": stored,
        "requests_per_s": rps,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
        "baseline_per_s": direct_rps,
        "baseline_p50_ms": statistics.median(direct_latencies) * 1000,
        "baseline_p99_ms": _percentile(direct_latencies, 99) * 1000,
        "ratio": direct_rps / rps,
        "goal": "every accepted submission stored (the API adds HTTP to the same submit())",
        "met": stored == accepted and accepted == requests,
        "load_average_1min": load,
        "server_idle_rss_mib": idle_rss,
        "server_peak_rss_mib": server_peak,
    }


# --- ordinary requests while hostile spreadsheets are uploaded ------------------------------


def _rewrite_sheet(template: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """The XLSX `template` with its worksheet XML changed, everything else as it was."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":  # the report's sheet
                body = change(body)
            target.writestr(info.filename, body)
    return out.getvalue()


def hostile_xlsx(template: bytes) -> dict[str, bytes]:
    """Two hostile versions of a real XLSX template (issue 13): `wide`, whose <dimension>
    claims 16,384 columns and whose last row is row 2,000 (openpyxl pads every row, the
    empty ones too, to the claimed width), and `cells`, 2.8 M
    cells in 2,000 rows that compress to under 200 KB (just within the unzipped size limit)."""
    row = b"<row>" + b"<c><v>1</v></c>" * 1_400 + b"</row>"

    def wide(xml: bytes) -> bytes:
        claim = b'<dimension ref="A1:XFD2000"'
        last = b'<row r="2000"><c r="A2000"><v>1</v></c></row></sheetData>'
        xml = re.sub(rb'<dimension ref="[^"]*"', claim, xml, count=1)
        return xml.replace(b"</sheetData>", last, 1)

    def cells(xml: bytes) -> bytes:
        kept = re.search(rb"<sheetData>(.*)</sheetData>", xml, flags=re.S)
        head = kept.group(1) if kept else b""
        xml = re.sub(rb"<dimension [^>]*/>", b"", xml, count=1)  # read to the last row
        return re.sub(
            rb"<sheetData>.*</sheetData>|<sheetData/>",
            lambda _: b"<sheetData>" + head + row * 2_000 + b"</sheetData>",
            xml,
            count=1,
            flags=re.S,
        )

    return {"wide": _rewrite_sheet(template, wide), "cells": _rewrite_sheet(template, cells)}


async def _ordinary(client: httpx.AsyncClient, secret: str, requests: int) -> list[float]:
    """Latencies of an officer listing their items, one request after another."""
    latencies = []
    for _ in range(requests):
        start = time.perf_counter()
        response = await client.get("/api/v1/items", headers={"Authorization": f"Bearer {secret}"})
        latencies.append(time.perf_counter() - start)
        response.raise_for_status()
    return latencies


async def _hostile_loop(
    base: str, secret: str, item: int, files: dict[str, bytes], answers: Counter[str]
) -> None:
    """Upload the hostile files in turn until cancelled, counting (file, status) answers."""
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        while True:
            for name, data in files.items():
                answers[f"{name} sent"] += 1
                response = await client.post(
                    "/api/v1/submissions/upload",
                    headers=headers,
                    data={"item_id": str(item)},
                    files={"file": ("bao-cao.xlsx", data, "application/octet-stream")},
                )
                answers[f"{name} {response.status_code}"] += 1


async def _measure_hostile(
    base: str, units: list[tuple[str, str]], requests: int, uploaders: int
) -> dict[str, Any]:
    (_, officer), (_, attacker) = units[0], units[-1]
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        headers = {"Authorization": f"Bearer {attacker}"}
        item = (await client.get("/api/v1/items", headers=headers)).json()[0]["id"]
        template = await client.get(f"/api/v1/items/{item}/template", headers=headers)
        files = hostile_xlsx(template.content)
        await _ordinary(client, officer, 20)  # warm-up
        baseline = await _ordinary(client, officer, requests)
        answers: Counter[str] = Counter()
        loops = [
            asyncio.create_task(_hostile_loop(base, attacker, item, files, answers))
            for _ in range(uploaders)
        ]
        await asyncio.sleep(1)  # the uploads are under way
        loaded = await _ordinary(client, officer, requests)
        for loop in loops:  # uploads still being parsed are abandoned with the server
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
    return {
        "baseline": baseline,
        "loaded": loaded,
        "answers": answers,
        "sizes": {k: len(v) for k, v in files.items()},
    }


def run_hostile(engine: Engine, requests: int = 300, uploaders: int = 2) -> dict[str, Any]:
    """p99 of ordinary requests with hostile uploads running, against the p99 without."""
    units = _issue_tokens(engine, 2)
    with tempfile.TemporaryDirectory() as tmp, _portal(engine, Path(tmp)) as (base, _):
        measured = asyncio.run(_measure_hostile(base, units, requests, uploaders))
        load = os.getloadavg()[0]
    baseline, loaded = measured["baseline"], measured["loaded"]
    p99, base_p99 = _percentile(loaded, 99) * 1000, _percentile(baseline, 99) * 1000
    return {
        "benchmark": "hostile",
        "title": f"ordinary requests while {uploaders} clients upload hostile XLSX files",
        "requests": requests,
        "uploaders": uploaders,
        "hostile_file_bytes": measured["sizes"],
        "hostile_answers": dict(sorted(measured["answers"].items())),
        "p50_ms": statistics.median(loaded) * 1000,
        "p99_ms": p99,
        "max_ms": max(loaded) * 1000,
        "baseline_p50_ms": statistics.median(baseline) * 1000,
        "baseline_p99_ms": base_p99,
        "ratio": p99 / base_p99,
        "goal": "p99 of ordinary requests under 200 ms while hostile uploads run",
        "met": p99 < 200,
        "load_average_1min": load,
    }
