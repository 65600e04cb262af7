"""Run the benchmarks: `python -m benchmarks.run --units 10000 [--db URL] [--out FILE]`."""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import pendulum

from benchmarks import bench_status
from benchmarks.synthetic import generate
from models.db import make_engine, transaction
from models.migrate import upgrade

AS_OF = pendulum.datetime(2024, 6, 20, 9, tz="Asia/Ho_Chi_Minh")


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def run(units: int, db_url: str) -> dict[str, Any]:
    engine = make_engine(db_url)
    upgrade(engine)
    started = time.perf_counter()
    with transaction(engine) as session:
        generated = generate(units, session=session)
    setup_s = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        # Fresh statistics, as autovacuum would give a live database after a bulk load.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    results = [bench_status.run(engine, AS_OF)]
    engine.dispose()
    return {
        "units": units,
        "backend": engine.dialect.name,
        "generated": generated.__dict__,
        "setup_s": setup_s,
        "machine": machine(),
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument(
        "--db", help="SQLAlchemy URL of an EMPTY database; a temporary SQLite file by default"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = run(args.units, args.db or f"sqlite:///{tmp}/bench.sqlite3")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    for r in report["results"]:
        print(
            f"{r['benchmark']}: {r['items']} items, dondoc {r['dondoc_s'] * 1000:.1f} ms, "
            f"baseline {r['baseline_s'] * 1000:.1f} ms, ratio {r['ratio']:.2f}"
        )


if __name__ == "__main__":
    main()
