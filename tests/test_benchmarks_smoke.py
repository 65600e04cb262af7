"""A tiny size of each benchmark, so the benchmark code keeps working (timings are not asserted)."""

from __future__ import annotations

import pendulum
from sqlalchemy import Engine

from benchmarks import bench_status
from benchmarks.synthetic import generate
from models.db import transaction


def test_status_benchmark_agrees_with_its_sql_baseline(engine: Engine) -> None:
    with transaction(engine) as session:
        generated = generate(30, session=session, seed=7)
    assert generated.items == 30 * 12 + 20 * 4
    assert generated.submissions > 0 and generated.values == 2 * generated.submissions
    result = bench_status.run(
        engine, pendulum.datetime(2024, 6, 20, 9, tz="Asia/Ho_Chi_Minh"), repeat=1
    )
    # The benchmark raises if dondoc's statuses differ from the hand-written SQL's.
    assert result["items"] == 30
    assert isinstance(result["ratio"], float)
