"""Run the benchmarks on a synthetic province and write the results as JSON.

    python -m benchmarks.run --units 10000 [--db URL] [--only status,report] [--out FILE]

`--db` takes the SQLAlchemy URL of an EMPTY database (a temporary SQLite file by default);
the synthetic province is generated into it. The benchmarks run in the order given by
`--only` (all by default: status, report, desk, fanout, flow, intake, portal, hostile; intake
and the portal add submissions, so they go last).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pendulum
from sqlalchemy import Engine

from benchmarks import (
    bench_desk,
    bench_fanout,
    bench_flow,
    bench_intake,
    bench_portal,
    bench_report,
    bench_status,
)
from benchmarks.sinks import running_sinks
from benchmarks.synthetic import generate
from models.db import make_engine, transaction
from models.migrate import upgrade

STATUS_AS_OF = pendulum.datetime(2024, 6, 20, 9, tz="Asia/Ho_Chi_Minh")
REPORT_AS_OF = pendulum.datetime(2024, 7, 31, 9, tz="Asia/Ho_Chi_Minh")
ALL = ("status", "report", "desk", "fanout", "flow", "intake", "portal", "hostile")


def machine(engine: Engine) -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "sqlite": sqlite3.sqlite_version,
    }
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split("\n", 1)[0].split()[1])
        info["memory_gib"] = round(total_kib / 2**20, 1)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            info["postgresql"] = conn.exec_driver_sql("SHOW server_version").scalar()
    return info


def run(
    *,
    units: int,
    officers: int,
    db_url: str,
    only: tuple[str, ...] = ALL,
    repeat: int = 5,
    slow_repeat: int = 2,
    requests: int = 2000,
    clients: int = 16,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Generate the province into `db_url` and run the chosen benchmarks on it."""
    engine = make_engine(db_url)
    upgrade(engine)
    started = time.perf_counter()
    with transaction(engine) as session:
        generated = generate(units, session=session, officers=officers)
    setup_s = time.perf_counter() - started
    log(f"generated {generated} in {setup_s:.1f} s")
    if engine.dialect.name == "postgresql":
        # Fresh statistics, as autovacuum would give a live database after a bulk load.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    results: list[dict[str, Any]] = []
    try:
        for name in only:
            begun = time.perf_counter()
            try:
                result = _one(name, engine, repeat, slow_repeat, requests, clients, units)
            except Exception as error:  # recorded, and the other benchmarks still run
                result = {
                    "benchmark": name,
                    "error": f"{type(error).__name__}: {str(error)[:500]}",
                    "met": False,
                }
            result["wall_s"] = time.perf_counter() - begun
            log(summary(result))
            results.append(result)
        return {
            "units": units,
            "officers": officers,
            "backend": engine.dialect.name,
            "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "generated": generated.__dict__,
            "setup_s": setup_s,
            "machine": machine(engine),
            "results": results,
        }
    finally:
        engine.dispose()


def _one(
    name: str,
    engine: Engine,
    repeat: int,
    slow_repeat: int,
    requests: int,
    clients: int,
    units: int,
) -> dict[str, Any]:
    match name:
        case "status":
            return bench_status.run(engine, STATUS_AS_OF, repeat)
        case "report":
            return bench_report.run(engine, REPORT_AS_OF, max(1, repeat // 2))
        case "desk":
            return bench_desk.run(engine, STATUS_AS_OF, communes=units, warm=6 * repeat)
        case "fanout":
            with running_sinks() as sinks:
                return bench_fanout.run(engine, sinks, slow_repeat)
        case "flow":
            with running_sinks() as sinks:
                return bench_flow.run(engine, sinks, slow_repeat)
        case "intake":
            return bench_intake.run(engine, repeat)
        case "portal":
            return bench_portal.run(engine, requests=requests, concurrency=clients)
        case "hostile":
            return bench_portal.run_hostile(engine)
    raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(ALL)}")


def summary(r: dict[str, Any]) -> str:
    """One line per benchmark for the console."""
    ok = "met" if r.get("met") else "MISSED"
    if "error" in r:
        return f"{r['benchmark']}: FAILED {r['error'][:300]}"
    match r["benchmark"]:
        case "fanout":
            parts = [
                f"{ch} {c['messages']} msgs: dondoc {c['dondoc_per_s']:.0f}/s, "
                f"raw {c['baseline_per_s']:.0f}/s ({c['rate_ratio']:.2f} of raw)"
                for ch, c in r["channels"].items()
            ]
            return f"fanout: {'; '.join(parts)} [{ok}]"
        case "flow":
            return (
                f"flow: Prefect {r['prefect_s']:.2f} s vs {r['baseline_s']:.2f} s without, "
                f"ratio {r['ratio']:.2f}, start-up {r['prefect_startup_s']:.1f} s, "
                f"{r['prefect_task_runs']} task runs [{ok}]"
            )
        case "intake":
            return (
                f"intake: one submission, dondoc {r['dondoc_s'] * 1000:.2f} ms, "
                f"hand-written SQL {r['baseline_s'] * 1000:.2f} ms, ratio {r['ratio']:.2f} [{ok}]"
            )
        case "portal":
            return (
                f"portal: {r['accepted']}/{r['requests']} accepted, {r['stored']} stored, "
                f"{r['requests_per_s']:.0f} req/s, p50 {r['p50_ms']:.0f} ms, "
                f"p99 {r['p99_ms']:.0f} ms; direct submit {r['baseline_per_s']:.0f}/s [{ok}]"
            )
        case "desk":
            each = ", ".join(
                f"{name} p50 {p['p50_ms']:.0f} / p99 {p['p99_ms']:.0f} ms, after a submission "
                f"{p['after_submission_ms']:.0f}, restart {p['restart_ms']:.0f}"
                for name, p in r["pages"].items()
            )
            return f"desk: {each}; SQL baseline {r['baseline_ms']:.0f} ms [{ok}]"
        case "hostile":
            return (
                f"hostile: ordinary p99 {r['p99_ms']:.0f} ms (max {r['max_ms']:.0f} ms) while "
                f"{r['uploaders']} clients upload hostile XLSX, {r['baseline_p99_ms']:.0f} ms "
                f"without, ratio {r['ratio']:.2f} [{ok}]"
            )
        case _:
            line = (
                f"{r['benchmark']}: dondoc {r['dondoc_s'] * 1000:.1f} ms, "
                f"baseline {r['baseline_s'] * 1000:.1f} ms, ratio {r['ratio']:.2f}, "
                f"peak {r['dondoc_peak_mib']:.1f} MiB [{ok}]"
            )
            if "whole_report_s" in r:
                line += (
                    f"; whole report {r['whole_report_s']:.2f} s, "
                    f"peak {r['whole_report_peak_mib']:.1f} MiB"
                )
            return line


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=10_000, help="communes (default 10000)")
    parser.add_argument(
        "--officers",
        type=int,
        default=5_000,
        help="communes with a reporting officer = fan-out messages per channel (default 5000)",
    )
    parser.add_argument(
        "--db", help="SQLAlchemy URL of an EMPTY database; a temporary SQLite file by default"
    )
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated: {','.join(ALL)}")
    parser.add_argument("--repeat", type=int, default=5, help="best-of runs, fast benchmarks")
    parser.add_argument("--slow-repeat", type=int, default=2, help="best-of runs, fan-out/flow")
    parser.add_argument("--requests", type=int, default=2000, help="portal: requests")
    parser.add_argument("--clients", type=int, default=16, help="portal: concurrent clients")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.json"))
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    only = tuple(n.strip() for n in args.only.split(",") if n.strip())
    unknown = sorted(set(only) - set(ALL))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    with tempfile.TemporaryDirectory() as tmp:
        report = run(
            units=args.units,
            officers=args.officers,
            db_url=args.db or f"sqlite:///{tmp}/bench.sqlite3",
            only=only,
            repeat=args.repeat,
            slow_repeat=args.slow_repeat,
            requests=args.requests,
            clients=args.clients,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
