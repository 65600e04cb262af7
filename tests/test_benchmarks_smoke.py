"""A tiny size of each benchmark, so the benchmark code keeps working (timings are not asserted).

Each benchmark checks its own answer against its baseline (same statuses, same figures, every
message received once, every accepted submission stored) and raises if they disagree; these
tests run that check on both backends and assert what a reader of the results relies on.
"""

from __future__ import annotations

import pendulum
import pytest
from sqlalchemy import Engine, func, select

from benchmarks import (
    bench_desk,
    bench_fanout,
    bench_flow,
    bench_intake,
    bench_portal,
    bench_report,
    bench_status,
)
from benchmarks.run import summary
from benchmarks.sinks import Sinks, running_sinks
from benchmarks.synthetic import generate
from models.db import transaction
from models.org import Person
from models.outbox import OutboxMessage

pytestmark = pytest.mark.slow  # processes: the benchmarks' sinks run in their own process

COMMUNES = 30
OFFICERS = 12


@pytest.fixture
def province(engine: Engine) -> Engine:
    with transaction(engine) as session:
        generated = generate(COMMUNES, session=session, seed=7, officers=OFFICERS)
    assert generated.items == COMMUNES * 12 + 20 * 4
    assert generated.submissions > 0 and generated.values == 2 * generated.submissions
    return engine


@pytest.fixture(scope="module")
def sinks() -> object:
    with running_sinks() as running:
        yield running


def test_the_generator_is_deterministic_and_reaches_only_the_officers_asked_for(
    engine: Engine,
) -> None:
    with transaction(engine) as session:
        first = generate(5, session=session, seed=3, officers=2)
        people = session.scalars(select(Person.code).order_by(Person.code)).all()
    assert people == ["cb-xa-00001", "cb-xa-00002"]
    from benchmarks.synthetic import synthetic_plan

    assert synthetic_plan(5, 2) == synthetic_plan(5, 2)
    assert first.items == 5 * 12 + 20 * 4


def test_status_benchmark_agrees_with_its_sql_baseline(province: Engine) -> None:
    result = bench_status.run(
        province, pendulum.datetime(2024, 6, 20, 9, tz="Asia/Ho_Chi_Minh"), repeat=1
    )
    assert result["items"] == COMMUNES
    assert sum(result["statuses"].values()) == COMMUNES
    assert result["ratio"] > 0 and "status" in summary(result)


def test_report_benchmark_agrees_with_its_group_by(province: Engine) -> None:
    result = bench_report.run(
        province, pendulum.datetime(2024, 7, 31, 9, tz="Asia/Ho_Chi_Minh"), repeat=1
    )
    # Every commune reported at least once in the first half year, on both targets.
    assert result["unit_figures"] >= 2 * COMMUNES
    assert set(result["totals"]) == {"viec-lam", "ho-ngheo"}
    # The whole report has a row for every unit that owed a report in the quarter.
    assert result["whole_report_unit_rows"] == COMMUNES + 20


def test_intake_benchmark_stores_the_same_rows_as_its_sql(province: Engine) -> None:
    result = bench_intake.run(province, repeat=1)
    # Both sides stored every submission with its two values and its audit event (checked
    # inside), one commune each per run: the warm-up and one timed run.
    assert result["submissions"] == 2 * 2 * bench_intake.BATCH
    assert result["dondoc_s"] > 0 and result["baseline_s"] > 0
    assert "intake" in summary(result)


def only_on(engine: Engine, backend: str) -> None:
    # The slower benchmarks run on one backend each, to keep this file within ~30 s.
    if engine.dialect.name != backend:
        pytest.skip(f"this smoke test runs on {backend} only")


def test_fanout_sends_each_officer_one_message_per_channel(province: Engine, sinks: Sinks) -> None:
    only_on(province, "sqlite")
    result = bench_fanout.run(province, sinks, repeat=1)
    assert result["messages"] == 2 * OFFICERS
    assert {c: r["messages"] for c, r in result["channels"].items()} == {
        "email": OFFICERS,
        "zalo_bot": OFFICERS,
    }
    assert all(
        r["dondoc_per_s"] > 0 and r["baseline_per_s"] > 0 for r in result["channels"].values()
    )
    with province.connect() as conn:  # the benchmark leaves the outbox as it found it
        assert conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 0


def test_flow_benchmark_runs_a_bounded_number_of_prefect_tasks(
    prefect_api: None, province: Engine, sinks: Sinks
) -> None:
    only_on(province, "postgresql")
    result = bench_flow.run(province, sinks, repeat=1, harness=False)
    assert result["prefect_task_runs"] == 3  # decide, then one delivery per channel
    assert result["primed_messages"] > 0
    assert result["prefect_s"] > 0 and result["baseline_s"] > 0


@pytest.mark.postgres
def test_portal_benchmark_stores_every_accepted_submission(province: Engine) -> None:
    only_on(province, "postgresql")  # the API benchmark is specified on PostgreSQL
    result = bench_portal.run(province, requests=24, concurrency=4)
    assert result["accepted"] == result["stored"] == 24
    assert result["statuses"] == {"201": 24}
    assert result["p99_ms"] >= result["p50_ms"] > 0


def test_hostile_upload_benchmark_measures_with_and_without_the_uploads(province: Engine) -> None:
    result = bench_portal.run_hostile(province, requests=20, uploaders=1)
    assert result["requests"] == 20 and result["uploaders"] == 1
    assert result["hostile_answers"]["wide sent"] >= 1  # the uploads ran while measuring
    assert result["hostile_file_bytes"]["wide"] < 10_000  # the files are the issue's
    assert result["hostile_file_bytes"]["cells"] < 200_000
    assert result["baseline_p99_ms"] > 0 and 0 < result["p99_ms"] <= result["max_ms"]
    assert "hostile" in summary(result)


def test_desk_benchmark_answers_every_page_it_times(province: Engine) -> None:
    as_of = pendulum.datetime(2024, 6, 20, 9, tz="Asia/Ho_Chi_Minh")
    result = bench_desk.run(province, as_of, communes=COMMUNES, warm=2, cold=1)
    pages = result["pages"]
    assert set(pages) == {"dashboard_first", "dashboard_filtered", "dashboard_search", "unit_page"}
    assert all(page["status"] == 200 for page in pages.values())
    assert all(0 < p["p50_ms"] <= p["p99_ms"] for p in pages.values())
    assert result["baseline_ms"] > 0 and "desk" in summary(result)
