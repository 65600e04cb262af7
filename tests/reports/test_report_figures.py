"""Figures: every total equals an independent computation from the submissions made here."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import DueItem, Plan, Submission, Target
from models.db import transaction
from reports.figures import (
    NOTE_PERCENT_UNITS,
    Figure,
    ReportedValue,
    TargetSpec,
    aggregate,
    period_labels,
    tally,
    to_date_labels,
)
from reports.indicators import figure_sentence
from reports.levels import ReportFigures, report_figures
from reports.reported import compute_figures
from schedules.periods import Period
from tests.support.reports import (
    COMMUNE_JOBS,
    DEPARTMENT_JOBS,
    DEPARTMENT_LEARNERS,
    Q1_AS_OF,
    SILENT_COMMUNES,
    at,
    cao_loc_plan,
    deliverable_key,
    key,
    seed_cao_loc_q1,
)
from tests.support.reports import (
    submit as submit_value,
)

D = Decimal


def spec(code: str, kind: str = "count", aggregation: str = "sum", **kw: object) -> TargetSpec:
    base: dict[str, object] = {
        "code": code,
        "name": code,
        "unit_of_measure": None,
        "kind": kind,
        "aggregation": aggregation,
        "comparator": None,
        "goal_number": None,
        "goal_text": None,
    }
    base.update(kw)
    return TargetSpec(**base)  # type: ignore[arg-type]


def row(
    unit: str,
    target: str,
    value: int | float | bool | None,
    period: str,
    *,
    obligation: str = "o",
    cadence: str = "monthly",
) -> ReportedValue:
    p = Period.parse(period)
    return ReportedValue(
        unit_code=unit,
        unit_name=unit.upper(),
        obligation_code=obligation,
        cadence=cadence,
        period_label=period,
        window_end=p.end,
        target_code=target,
        number=None if isinstance(value, bool) or value is None else D(str(value)),
        text=None,
        flag=value if isinstance(value, bool) else None,
    )


def figures_of(targets: list[TargetSpec], rows: list[ReportedValue], period: str) -> list[Figure]:
    """The figures of a report `period` whose year to date is `rows`."""
    p = Period.parse(period)
    return aggregate(targets, tally(targets, rows, set(period_labels(p))), p.last_month)


def by_code(figures: list[Figure]) -> dict[str, Figure]:
    return {f.target.code: f for f in figures}


# --- periods ---------------------------------------------------------------------------------


def test_a_quarter_is_made_of_its_months_and_itself() -> None:
    q1 = Period.parse("2024-Q1")
    assert period_labels(q1) == ["2024-01", "2024-02", "2024-03", "2024-Q1"]
    q2 = Period.parse("2024-Q2")
    assert period_labels(q2) == ["2024-04", "2024-05", "2024-06", "2024-Q2"]  # H1 is not in Q2
    assert to_date_labels(q2) == [
        *(f"2024-{m:02d}" for m in range(1, 7)),
        "2024-Q1",
        "2024-Q2",
        "2024-H1",
    ]
    year = period_labels(Period.parse("2024"))
    assert len(year) == 12 + 4 + 2 + 1 and year == to_date_labels(Period.parse("2024"))
    assert period_labels(Period.parse("2024-03")) == ["2024-03"]


# --- combining values (pure) -----------------------------------------------------------------


def test_flows_add_over_months_and_units_stocks_take_each_units_latest() -> None:
    jobs = spec("jobs", goal_number=D(120), comparator=">=")
    stock = spec("trained", aggregation="last")
    rows = [
        row("a", "jobs", 10, "2024-01"),
        row("a", "jobs", 20, "2024-02"),
        row("b", "jobs", 5, "2024-03"),
        row("a", "trained", 100, "2024-01"),
        row("a", "trained", 130, "2024-03"),  # a's latest
        row("b", "trained", 40, "2024-02"),
    ]
    figures = by_code(figures_of([jobs, stock], rows, "2024-Q1"))
    assert figures["jobs"].period == 35
    assert figures["trained"].period == 170  # 130 + 40, never 100 + 130 + 40
    assert {u.unit_code: u.period for u in figures["trained"].by_unit} == {"a": 130, "b": 40}
    # 35 of 120 is 29,2%; pro rata after 3 months: 30 of 120 (25%): on track.
    assert figures["jobs"].percent_of_goal == D(35) * 100 / 120
    assert figures["jobs"].expected_percent == 25
    assert figures["jobs"].on_track is True


def test_a_rate_comes_from_summed_parts_never_an_average_of_percentages() -> None:
    n = spec("n", aggregation="last")
    d = spec("d", aggregation="last")
    rate = spec(
        "rate",
        kind="percent",
        aggregation="ratio",
        numerator="n",
        denominator="d",
        goal_number=D(67),
        comparator=">=",
    )
    rows = [
        row("small", "n", 9, "2024-Q1", cadence="quarterly"),
        row("small", "d", 10, "2024-Q1", cadence="quarterly"),  # 90%
        row("big", "n", 500, "2024-Q1", cadence="quarterly"),
        row("big", "d", 1000, "2024-Q1", cadence="quarterly"),  # 50%
    ]
    figure = by_code(figures_of([n, d, rate], rows, "2024-Q1"))["rate"]
    assert figure.period == D(509) * 100 / D(1010)  # 50,4%; the average of rates would be 70%
    assert figure.on_track is False
    assert {u.unit_code: u.period for u in figure.by_unit} == {"small": 90, "big": 50}


def test_a_unit_missing_one_part_of_a_ratio_is_left_out_and_said_so() -> None:
    n, d = spec("n", aggregation="last"), spec("d", aggregation="last")
    rate = spec("rate", kind="percent", aggregation="ratio", numerator="n", denominator="d")
    rows = [row("a", "n", 3, "2024-01"), row("a", "d", 4, "2024-01"), row("b", "n", 7, "2024-01")]
    figure = by_code(figures_of([n, d, rate], rows, "2024-01"))["rate"]
    assert figure.period == 75
    assert figure.note is not None and "tử số và mẫu số" in figure.note


def test_percentages_of_several_units_make_no_total() -> None:
    poverty = spec("poverty", kind="percent", aggregation="last", goal_number=D(3), comparator=">")
    one = figures_of([poverty], [row("a", "poverty", 2.5, "2024-01")], "2024-01")[0]
    assert one.period == D("2.5")
    two_rows = [row("a", "poverty", 2.5, "2024-01"), row("b", "poverty", 4, "2024-01")]
    two = figures_of([poverty], two_rows, "2024-01")[0]
    assert two.period is None and two.to_date is None
    assert two.note == NOTE_PERCENT_UNITS
    assert [u.period for u in two.by_unit] == [D("2.5"), D(4)]


def test_a_unit_reporting_a_target_monthly_and_quarterly_is_counted_once() -> None:
    jobs = spec("jobs")
    rows = [
        row("c", "jobs", 10, "2024-01"),
        row("c", "jobs", 10, "2024-02"),
        row("c", "jobs", 10, "2024-03"),
        row("c", "jobs", 30, "2024-Q1", obligation="quarterly", cadence="quarterly"),
        row("x", "jobs", 4, "2024-Q1", obligation="quarterly", cadence="quarterly"),
    ]
    assert figures_of([jobs], rows, "2024-Q1")[0].period == 34


def test_yes_no_is_met_when_every_unit_says_yes_and_behind_only_at_year_end() -> None:
    event = spec("event", kind="yes_no", aggregation="last", goal_text="yes")
    no = [row("a", "event", False, "2024-Q1", cadence="quarterly")]
    assert figures_of([event], no, "2024-Q1")[0].on_track is None  # not behind in March
    assert figures_of([event], no, "2024")[0].on_track is False
    mixed = [*no, row("b", "event", True, "2024-Q1", cadence="quarterly")]
    assert figures_of([event], mixed, "2024-Q1")[0].period is False
    yes = [row("a", "event", True, "2024-Q2", cadence="quarterly")]
    assert figures_of([event], [*no, *yes], "2024-Q2")[0].to_date is True


def test_a_cap_is_kept_until_passed_and_warned_above_its_pro_rata_share() -> None:
    cap = spec("accidents", unit_of_measure="vụ", goal_number=D(12), comparator="<=")

    def q1(accidents: int) -> Figure:
        return figures_of([cap], [row("a", "accidents", accidents, "2024-03")], "2024-Q1")[0]

    assert q1(2).on_track is True and q1(2).expected_percent == 25
    assert q1(4).on_track is True  # above the pace of 3 a quarter, but the year's limit holds
    assert q1(13).on_track is False
    assert "cao hơn mức bình quân đến hết kỳ (3 vụ)" in figure_sentence(q1(4))
    assert "cao hơn" not in figure_sentence(q1(2))


# --- from the database -----------------------------------------------------------------------


def independent(
    session: Session, labels: list[str], as_of: datetime
) -> dict[tuple[str, str], list[tuple[date, Decimal | bool | None]]]:
    """(unit, target) -> [(window end, value)] from each item's newest accepted version, by hand."""
    items = {
        i.id: i for i in session.scalars(select(DueItem).where(DueItem.period_label.in_(labels)))
    }
    newest: dict[int, Submission] = {}
    for s in session.scalars(select(Submission)):
        counts = s.item_id in items and s.accepted and s.received_at <= as_of
        if counts and (s.item_id not in newest or s.version > newest[s.item_id].version):
            newest[s.item_id] = s
    codes = {t.id: t.code for t in session.scalars(select(Target))}
    values: dict[tuple[str, str], list[tuple[date, Decimal | bool | None]]] = defaultdict(list)
    for item_id, s in newest.items():
        unit = items[item_id].unit.code
        for v in s.values:
            value = v.flag if v.flag is not None else v.number
            values[(unit, codes[v.target_id])].append((items[item_id].window_end, value))
    return values


def expected_totals(values: dict[tuple[str, str], list[tuple[date, object]]]) -> dict[str, object]:
    """The Cao Lộc rules written out plainly: flows add, stocks take each unit's latest."""

    def flow(target: str) -> Decimal:
        return sum(
            (Decimal(str(v)) for (u, t), vs in values.items() if t == target for _, v in vs),
            Decimal(0),
        )

    def stock(target: str) -> Decimal:
        return sum(
            (
                Decimal(str(max(vs, key=lambda x: x[0])[1]))
                for (u, t), vs in values.items()
                if t == target
            ),
            Decimal(0),
        )

    return {
        "viec-lam-moi": flow("viec-lam-moi"),
        "lao-dong-hoc-nghe": flow("lao-dong-hoc-nghe"),
        "lao-dong-qua-dao-tao": stock("lao-dong-qua-dao-tao"),
        "lao-dong-trong-do-tuoi": stock("lao-dong-trong-do-tuoi"),
        "ty-le-lao-dong-qua-dao-tao": stock("lao-dong-qua-dao-tao")
        * 100
        / stock("lao-dong-trong-do-tuoi"),
    }


def test_every_units_figures_equal_an_independent_computation(engine: Engine) -> None:
    seed_cao_loc_q1(engine)
    with transaction(engine) as session:
        plan = cao_loc_plan(session)
        q1 = Period.parse("2024-Q1")
        figures = by_code(
            compute_figures(session=session, plan_id=plan.id, period=q1, as_of=Q1_AS_OF)
        )
        expected = expected_totals(independent(session, period_labels(q1), Q1_AS_OF))
    for code, value in expected.items():
        assert figures[code].period == value, code
        assert figures[code].to_date == value, code
    # Amended Gia Cát (41 -> 14) and the centre's February (40 -> 45) count as amended, the
    # rejected 600 never, silent units add 0.
    jobs = figures["viec-lam-moi"]
    reported = {u.unit_code for u in jobs.by_unit}
    assert reported == {*COMMUNE_JOBS, "tt-gdnn-gdtx", "phong-ldtbxh-dt"}
    assert not reported & set(SILENT_COMMUNES)
    assert {u.unit_code: u.period for u in jobs.by_unit}["xa-gia-cat"] == 14
    assert {u.unit_code: u.period for u in jobs.by_unit}["tt-gdnn-gdtx"] == 12 + 9 + 15


def levelled(session: Session, plan: Plan, period: str, as_of: datetime) -> ReportFigures:
    return report_figures(session=session, plan=plan, period=Period.parse(period), as_of=as_of)


def test_cao_loc_q1_report_takes_the_departments_consolidated_figures(engine: Engine) -> None:
    seed_cao_loc_q1(engine)
    with transaction(engine) as session:
        plan = cao_loc_plan(session)
        q1 = levelled(session, plan, "2024-Q1", Q1_AS_OF)
    figures = by_code(q1.figures)
    jobs = figures["viec-lam-moi"]
    assert jobs.period == jobs.to_date == DEPARTMENT_JOBS == 293
    assert [(u.unit_code, u.period) for u in jobs.by_unit] == [("phong-ldtbxh-dt", 293)]
    assert figures["lao-dong-hoc-nghe"].period == DEPARTMENT_LEARNERS == 160
    assert figures["ty-le-lao-dong-qua-dao-tao"].period == D(45600) * 100 / D(69800)
    assert figures["ty-le-giam-ngheo"].period == D("0.85")
    assert figures["dai-hoi-dtts"].period is False and figures["dai-hoi-dtts"].on_track is None
    assert jobs.percent_of_goal == D(293) * 100 / D(1300)
    assert jobs.on_track is False  # 293 < 1300 × 3/12 = 325
    assert jobs.provisional == () and jobs.note is None
    period = {(r.target.code, r.window): r for r in q1.reconciliation}
    inputs = sum(COMMUNE_JOBS.values()) + 12 + 9 + 15
    assert (period["viec-lam-moi", "period"].reported, period["viec-lam-moi", "period"].inputs) == (
        293,
        inputs,
    )
    assert period["viec-lam-moi", "period"].difference == 293 - inputs == 32
    assert period["viec-lam-moi", "period"].input_units == len(COMMUNE_JOBS) + 1


def test_only_versions_received_by_the_compilation_instant_count(engine: Engine) -> None:
    seed_cao_loc_q1(engine)
    with transaction(engine) as session:
        plan = cao_loc_plan(session)
        # Xuất Lễ reports to the department only after the compilation instant.
        submit_value(
            session,
            key("bc-quy-xa-thi-tran", "xa-xuat-le", "2024-Q1"),
            received=at(21, 3),
            values={"viec-lam-moi": 50},
        )
        before = levelled(session, plan, "2024-Q1", Q1_AS_OF)
        after = levelled(session, plan, "2024-Q1", at(22, 3))
    # The department's report stands; only what it received changed.
    assert by_code(before.figures)["viec-lam-moi"].period == 293
    assert by_code(after.figures)["viec-lam-moi"].period == 293
    inputs = {r.inputs for r in before.reconciliation if r.target.code == "viec-lam-moi"}
    assert inputs == {261}
    inputs = {r.inputs for r in after.reconciliation if r.target.code == "viec-lam-moi"}
    assert inputs == {311}


def test_the_second_quarter_carries_stocks_and_adds_flows_to_date(engine: Engine) -> None:
    seed_cao_loc_q1(engine)
    with transaction(engine) as session:
        plan = cao_loc_plan(session)
        centre, monthly = "tt-gdnn-gdtx", "bc-thang-tt-gdnn-gdtx"
        submit_value(
            session,
            key(monthly, centre, "2024-04"),
            received=at(16, 4),
            values={"lao-dong-hoc-nghe": 70},
        )
        submit_value(
            session,
            key("bc-quy-xa-thi-tran", "tt-cao-loc", "2024-Q2"),
            received=at(17, 6),
            values={"viec-lam-moi": 40},
        )
        # The department's Q2 report leaves jobs, learners and trained labour out.
        submit_value(
            session,
            key("bc-quy-ldtbxh", "phong-ldtbxh-dt", "2024-Q2"),
            received=at(18, 6),
            values={"lao-dong-trong-do-tuoi": 70000, "dai-hoi-dtts": True},
        )
        figures = by_code(levelled(session, plan, "2024-Q2", at(20, 6)).figures)
    # What the department received stands in for its Q2 figures, marked provisional; Q1 is its
    # own report.
    assert figures["lao-dong-hoc-nghe"].period == 70
    assert figures["lao-dong-hoc-nghe"].to_date == 160 + 70
    assert figures["viec-lam-moi"].period == 40
    assert figures["viec-lam-moi"].to_date == 293 + 40
    department = "Phòng Lao động, Thương binh, Xã hội - Dân tộc"
    assert figures["viec-lam-moi"].provisional == (department,)
    assert "tạm tính" in (figures["viec-lam-moi"].note or "")
    # Stocks: Q2 has no numerator, so no Q2 rate; to date takes each part's latest value.
    assert figures["lao-dong-qua-dao-tao"].period is None
    assert figures["lao-dong-qua-dao-tao"].to_date == 45600
    assert figures["ty-le-lao-dong-qua-dao-tao"].period is None
    assert figures["ty-le-lao-dong-qua-dao-tao"].to_date == D(45600) * 100 / D(70000)
    assert figures["dai-hoi-dtts"].to_date is True and figures["dai-hoi-dtts"].on_track is True


@pytest.mark.parametrize(("period", "jobs", "learners"), [("2024-03", 15, 60), ("2024", 293, 160)])
def test_a_month_and_the_year(engine: Engine, period: str, jobs: int, learners: int) -> None:
    seed_cao_loc_q1(engine)
    with transaction(engine) as session:
        plan = cao_loc_plan(session)
        submit_value(
            session,
            deliverable_key("kh-dieu-tra-ra-soat-ho-ngheo", "phong-ldtbxh-dt"),
            received=at(1, 4),
            progress_state="in_progress",
        )
        figures = by_code(levelled(session, plan, period, at(31, 12)).figures)
    assert figures["viec-lam-moi"].period == jobs
    assert figures["lao-dong-hoc-nghe"].period == learners
    if period == "2024":
        assert figures["viec-lam-moi"].expected_percent == 100
        assert figures["viec-lam-moi"].to_date == figures["viec-lam-moi"].period
