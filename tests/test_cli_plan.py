"""The plan commands as a user runs them: init, dues, plan validate/show, calendar."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from cli.main import app
from models import AuditEvent, DueItem, Unit
from models.calendar import CalendarAnnouncement
from models.db import transaction
from schedules.calendar import WorkCalendar

runner = CliRunner()
MINI = Path(__file__).parent / "data" / "mini-plan.yaml"


def _dues(*args: str) -> list[dict[str, str]]:
    result = runner.invoke(app, ["dues", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_init_loads_the_cao_loc_plan_and_lists_every_item_due(db_env: Engine) -> None:
    result = runner.invoke(app, ["init", "--sample"])
    assert result.exit_code == 0, result.output
    dues = _dues("--year", "2024")
    by_source = Counter((d["obligation"] or d["deliverable"], d["unit"]) for d in dues)
    centre = [d for d in dues if d["unit"] == "tt-gdnn-gdtx" and d["obligation"]]
    # The plan was issued on 25/01/2024: January's report, due 16/01, was never owed.
    assert [d["period"] for d in centre] == [f"2024-{m:02d}" for m in range(2, 13)]
    labour = [
        d for d in dues if d["unit"] == "phong-ldtbxh-dt" and d["obligation"] == "bc-quy-ldtbxh"
    ]
    assert [d["period"] for d in labour] == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    assert labour[0]["window_start"] == "2023-12-15" and labour[0]["window_end"] == "2024-03-14"
    communes = {u for (src, u) in by_source if src == "bc-quy-xa-thi-tran"}
    assert len(communes) == 22
    assert by_source[("dai-hoi-dtts-lan-iv", "phong-ldtbxh-dt")] == 1
    assert len({u for (src, u) in by_source if src == "kh-giam-ngheo-cap-xa"}) == 22
    calendar = WorkCalendar()  # the 2026 swap does not matter for 2024 deadlines
    for d in dues:
        assert d["deadline"].endswith("+07:00")
        assert calendar.is_working_day(date.fromisoformat(d["deadline_on"])), d
    assert _dues("--unit", "tt-gdnn-gdtx", "--obligation", "bc-thang-tt-gdnn-gdtx") == centre


def test_init_twice_is_idempotent(db_env: Engine) -> None:
    assert runner.invoke(app, ["init", "--sample"]).exit_code == 0
    first = _dues()
    result = runner.invoke(app, ["init", "--sample"])
    assert result.exit_code == 0
    assert _dues() == first


def _plan_state(engine: Engine) -> dict[str, object]:
    """Everything a plan load could change: items, their deadlines, plans, schedules."""
    from deploy.deployments import build_deployments
    from models import Plan
    from models.calendar import load_calendar

    with transaction(engine) as session:
        items = sorted(
            (i.key, i.deadline_at, i.opens_at, i.withdrawn_at)
            for i in session.scalars(select(DueItem))
        )
        plans = sorted((p.code, p.year, p.title) for p in session.scalars(select(Plan)))
        built = build_deployments(
            session=session, calendar=load_calendar(session=session), today=date(2024, 1, 2)
        )
        schedules = sorted(
            (s.slug, str(s.schedule), str(s.parameters)) for d in built for s in d.schedules
        )
    return {"items": items, "plans": plans, "schedules": schedules}


def test_a_bare_init_migrates_and_loads_no_plan(
    db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The units run `dondoc init` at every boot: it must never revert the office's plan."""
    monkeypatch.delenv("DONDOC_PLAN_FILE", raising=False)
    edited = tmp_path / "ke-hoach.yaml"  # the office's own plan, with an edited deadline
    edited.write_text(
        MINI.read_text(encoding="utf-8").replace("due_on: 2024-02-10", "due_on: 2024-03-11"),
        encoding="utf-8",
    )
    assert runner.invoke(app, ["init", "--plan", str(edited)]).exit_code == 0
    before = _plan_state(db_env)
    assert before["items"] and before["schedules"]

    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert "không nạp kế hoạch nào" in result.stdout
    assert _plan_state(db_env) == before
    with transaction(db_env) as session:
        keys = set(session.scalars(select(DueItem.key)))
    assert not any(":cao-loc-2024" in k for k in keys)  # the sample plan stayed out


def test_init_loads_the_plan_the_setting_names(
    db_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DONDOC_PLAN_FILE", str(MINI))
    from settings import get_settings

    get_settings.cache_clear()
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert {d["unit"] for d in _dues()} == {"xa-mot", "xa-hai"}

    monkeypatch.setenv("DONDOC_PLAN_FILE", str(MINI.with_name("ke-hoach-khong-co.yaml")))
    get_settings.cache_clear()
    missing = runner.invoke(app, ["init"])
    assert missing.exit_code == 1
    assert "DONDOC_PLAN_FILE chỉ tới" in missing.stderr and "Traceback" not in missing.output


def test_init_refuses_a_plan_and_the_sample_together(db_env: Engine) -> None:
    result = runner.invoke(app, ["init", "--plan", str(MINI), "--sample"])
    assert result.exit_code == 1
    assert "chọn một trong hai" in result.stderr


def test_init_warns_when_the_loaded_plans_year_is_over(db_env: Engine) -> None:
    """The 2024 plan's year report was compiled in December 2024: nothing of it runs now."""
    result = runner.invoke(app, ["init", "--plan", str(MINI)])
    assert result.exit_code == 0, result.output
    warning = " ".join(result.stderr.split())
    assert "Cảnh báo: Kế hoạch mini-2024 (năm 2024) đã hết năm" in warning
    assert "không lịch tổng hợp nào của kế hoạch này còn chạy" in warning
    assert "dondoc init --plan TỆP-KẾ-HOẠCH.yaml" in warning


def test_a_bad_plan_is_refused_and_writes_nothing(db_env: Engine, tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", "--plan", str(MINI)]).exit_code == 0
    with transaction(db_env) as session:
        before = (
            session.scalar(select(func.count(Unit.id))),
            session.scalar(select(func.count(DueItem.id))),
        )
    bad = tmp_path / "bad.yaml"
    text = MINI.read_text(encoding="utf-8").replace(
        "  - code: xa-hai\n", "  - code: xa-hai\n    kind: 12\n", 1
    )
    bad.write_text(
        text.replace("    recipient: phong-a\n    targets", "    recipient: phong-z\n    targets"),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["init", "--plan", str(bad)])
    assert result.exit_code == 1
    assert (
        f"{bad}:65: obligations[0].recipient: kế hoạch không có đơn vị mã 'phong-z'"
        in result.stderr
    )
    assert "Traceback" not in result.output
    with transaction(db_env) as session:
        after = (
            session.scalar(select(func.count(Unit.id))),
            session.scalar(select(func.count(DueItem.id))),
        )
    assert after == before


def test_plan_validate_reports_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        MINI.read_text(encoding="utf-8").replace("  year: 2024", "  year: 20x4"), encoding="utf-8"
    )
    result = runner.invoke(app, ["plan", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:6: plan.year:" in result.output
    assert runner.invoke(app, ["plan", "validate", str(MINI)]).exit_code == 0


def test_plan_show_writes_goals_the_vietnamese_way(db_env: Engine) -> None:
    assert runner.invoke(app, ["init", "--sample"]).exit_code == 0
    result = runner.invoke(app, ["plan", "show"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "≥ 1.300" in result.output
    assert "Nguyễn Văn Thịnh" in result.output


def test_calendar_lists_the_days_off_and_the_2026_swap(db_env: Engine) -> None:
    assert runner.invoke(app, ["init", "--sample"]).exit_code == 0
    days = json.loads(runner.invoke(app, ["calendar", "--year", "2026", "--json"]).stdout)
    kinds = {d["date"]: (d["kind"], d["source"]) for d in days}
    assert kinds["2026-01-02"] == ("day_off", "announcement")
    assert kinds["2026-01-10"] == ("workday", "announcement")
    assert kinds["2026-02-17"][0] == "day_off"


PLANS = Path(__file__).parent / "data" / "plans"


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("province-department.yaml", "thứ Sáu của tuần báo cáo, trước 15 giờ"),
        ("commune-2025-reform.yaml", "ngày 15 tháng liền trước tháng cuối kỳ báo cáo"),
    ],
)
def test_other_offices_plans_validate_and_load(db_env: Engine, name: str, rule: str) -> None:
    plan = str(PLANS / name)
    assert runner.invoke(app, ["plan", "validate", plan]).exit_code == 0
    result = runner.invoke(app, ["init", "--plan", plan])
    assert result.exit_code == 0, result.output
    assert _dues()
    shown = runner.invoke(app, ["plan", "show"], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    assert rule in " ".join(shown.output.split())
    days = json.loads(runner.invoke(app, ["calendar", "--year", "2026", "--json"]).stdout)
    swap = {d["date"]: d for d in days}["2026-01-02"]
    assert (swap["kind"], swap["source"]) == ("day_off", "announcement")


def test_calendar_load_refuses_a_bad_file_in_vietnamese(db_env: Engine, tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", "--plan", str(MINI)]).exit_code == 0
    bad = tmp_path / "lich.yaml"
    bad.write_text(
        "announcements:\n"
        "- code: le-2027\n"
        "  title: Thông báo mẫu\n"
        "  days:\n"
        "  - date: 2027-02-30\n"
        "    kind: day_off\n"
        "    reason: Nghỉ mẫu\n"
        "  - date: 2027-01-02\n"
        "    kind: day_off\n"
        "    reason: Thứ Bảy\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["calendar", "load", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:5: announcements[0].days[0].date: ngày không hợp lệ" in result.stderr
    assert f"{bad}:8: announcements[0].days[1]: thứ Bảy 02/01/2027 vốn là ngày nghỉ" in (
        result.stderr
    )
    with transaction(db_env) as session:
        assert session.scalar(select(func.count(CalendarAnnouncement.id))) == 1  # shipped only


def test_calendar_add_and_load_are_audited_and_listed(db_env: Engine, tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", "--plan", str(MINI)]).exit_code == 0
    add = [
        "calendar", "add", "--date", "2027-02-05", "--kind", "day_off",
        "--reason", "Nghỉ Tết Nguyên đán (mẫu)", "--announcement", "tet-2027",
    ]  # fmt: skip
    refused = runner.invoke(app, add)
    assert refused.exit_code == 1 and "cần --title" in refused.stderr
    result = runner.invoke(app, [*add, "--title", "Thông báo lịch nghỉ Tết 2027 (mẫu)"])
    assert result.exit_code == 0, result.output
    assert "thêm 1 ngày" in result.stdout
    good = tmp_path / "lich.yaml"
    good.write_text(
        "announcements:\n"
        "- code: tet-2027\n"
        "  title: Thông báo lịch nghỉ Tết 2027 (mẫu)\n"
        "  days:\n"
        "  - date: 2027-02-05\n"
        "    kind: day_off\n"
        "    reason: Nghỉ Tết Nguyên đán (mẫu)\n"
        "  - date: 2027-02-20\n"
        "    kind: workday\n"
        "    reason: Làm bù (mẫu)\n",
        encoding="utf-8",
    )
    loaded = runner.invoke(app, ["calendar", "load", str(good)])
    assert loaded.exit_code == 0, loaded.output
    assert "thêm 1 ngày" in loaded.stdout
    days = json.loads(runner.invoke(app, ["calendar", "--year", "2027", "--json"]).stdout)
    by_day = {d["date"]: d for d in days}
    assert by_day["2027-02-05"]["basis"] == "Thông báo lịch nghỉ Tết 2027 (mẫu)"
    assert (by_day["2027-02-20"]["kind"], by_day["2027-02-20"]["source"]) == (
        "workday",
        "announcement",
    )
    assert by_day["2027-01-01"]["source"] == "law"
    with transaction(db_env) as session:
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.object_id == "tet-2027").order_by(AuditEvent.id)
        ).all()
        assert [e.details["added"] for e in audit] == [["2027-02-05"], ["2027-02-20"]]
        assert all(e.actor.startswith("cli:") for e in audit)
