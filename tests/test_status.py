"""Item status and rates: the status rule table, then the set-based query on both databases."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pendulum
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cli.main import app
from models import DueItem, Submission
from models.db import transaction
from models.reliefs import ReliefKind
from plan_sync.sync import load_plan
from plans.loader import parse_plan
from schedules.calendar import WorkCalendar
from status.states import ItemStatus, classify, grant_relief, item_states, rates

VN = "Asia/Ho_Chi_Minh"
CAL = WorkCalendar()
MINI = Path(__file__).parent / "data" / "mini-plan.yaml"


def vn(*args: int) -> datetime:
    return pendulum.datetime(*args, tz=VN)


# February 2024 item: opens Wed 14/2 00:00, deadline Fri 16/2 (24:00 = Sat 17/2 00:00 +07).
OPENS, DEADLINE, DEADLINE_ON = vn(2024, 2, 14), vn(2024, 2, 17), date(2024, 2, 16)


@pytest.mark.parametrize(
    ("first_accepted", "excused", "as_of", "status", "overdue"),
    [
        (None, False, vn(2024, 2, 13, 23, 59), ItemStatus.NOT_YET_OPEN, 0),
        (None, False, vn(2024, 2, 14), ItemStatus.OPEN, 0),
        (None, False, vn(2024, 2, 16, 23, 59, 59), ItemStatus.OPEN, 0),
        # The deadline instant itself is still on time (at or before).
        (vn(2024, 2, 17), False, vn(2024, 2, 20), ItemStatus.SUBMITTED_ON_TIME, 0),
        (vn(2024, 2, 17, 0, 0, 1), False, vn(2024, 2, 20), ItemStatus.SUBMITTED_LATE, 1),
        # Over the weekend: Sat and Sun are not working days, so Mon 19/2 is 1 day overdue.
        (None, False, vn(2024, 2, 17, 9), ItemStatus.OVERDUE, 1),
        (None, False, vn(2024, 2, 19, 9), ItemStatus.OVERDUE, 1),
        (None, False, vn(2024, 2, 21, 9), ItemStatus.OVERDUE, 3),
        # Late submission counted in working days: Fri 23/2 is 5 working days after Fri 16/2.
        (vn(2024, 2, 23, 10), False, vn(2024, 3, 1), ItemStatus.SUBMITTED_LATE, 5),
        # A submission after as_of does not count yet.
        (vn(2024, 2, 23, 10), False, vn(2024, 2, 22, 9), ItemStatus.OVERDUE, 4),
        (None, True, vn(2024, 3, 1), ItemStatus.EXCUSED, 0),
    ],
)
def test_status_rule(
    first_accepted: datetime | None,
    excused: bool,
    as_of: datetime,
    status: ItemStatus,
    overdue: int,
) -> None:
    assert classify(
        opens_at=OPENS,
        deadline_at=DEADLINE,
        deadline_on=DEADLINE_ON,
        first_accepted_at=first_accepted,
        excused=excused,
        as_of=as_of,
        calendar=CAL,
    ) == (status, overdue)


def _submit(session, item: DueItem, at: datetime, version: int, accepted: bool = True) -> None:  # type: ignore[no-untyped-def]
    session.add(
        Submission(
            item_id=item.id,
            version=version,
            receipt_no=f"R-{item.id}-{version}",
            received_at=at,
            channel="cli",
            submitted_by="test",
            accepted=accepted,
            narrative={"Kết quả thực hiện": "x"},
            content_hash=f"h{version}",
        )
    )


def test_states_and_rates_for_a_period(engine: Engine) -> None:
    with transaction(engine) as session:
        load_plan(parse_plan(MINI.read_text(encoding="utf-8")), session=session, now=OPENS)
    with transaction(engine) as session:
        items = {
            i.key.split(":")[3]: i
            for i in session.scalars(select(DueItem).where(DueItem.period_label == "2024-02"))
        }
        assert set(items) == {"xa-mot", "xa-hai"}
        # xa-mot: a rejected version first, then an accepted amendment on time, then another.
        _submit(session, items["xa-mot"], vn(2024, 2, 15, 9), 1, accepted=False)
        _submit(session, items["xa-mot"], vn(2024, 2, 16, 9), 2)
        _submit(session, items["xa-mot"], vn(2024, 2, 20, 9), 3)
    with transaction(engine) as session:
        states = {
            s.unit_code: s
            for s in item_states(
                session=session, as_of=vn(2024, 2, 21, 9), calendar=CAL, period="2024-02"
            )
        }
    assert states["xa-mot"].status is ItemStatus.SUBMITTED_ON_TIME
    assert states["xa-mot"].first_accepted_at == vn(2024, 2, 16, 9).astimezone(UTC)
    assert states["xa-hai"].status is ItemStatus.OVERDUE
    assert states["xa-hai"].working_days_overdue == 3
    r = rates(list(states.values()))
    assert (r.expected, r.received, r.on_time, r.reporting_rate, r.timeliness) == (
        2,
        1,
        1,
        50.0,
        50.0,
    )

    # An extension to Thu 22/2 makes xa-hai open again; submitting on 22/2 is on time.
    with transaction(engine) as session:
        item = session.get(DueItem, items["xa-hai"].id)
        assert item is not None
        grant_relief(
            session=session,
            item=item,
            kind=ReliefKind.EXTENSION,
            reason="Lũ",
            granted_by="admin",
            now=vn(2024, 2, 21, 10),
            calendar=CAL,
            until=date(2024, 2, 22),
        )
    with transaction(engine) as session:
        hai = item_states(
            session=session,
            as_of=vn(2024, 2, 21, 11),
            calendar=CAL,
            period="2024-02",
            unit="xa-hai",
        )[0]
        assert (hai.status, hai.extended, hai.deadline_on) == (
            ItemStatus.OPEN,
            True,
            date(2024, 2, 22),
        )
        item = session.get(DueItem, items["xa-hai"].id)
        assert item is not None
        grant_relief(
            session=session,
            item=item,
            kind=ReliefKind.EXEMPTION,
            reason="Sáp nhập",
            granted_by="admin",
            now=vn(2024, 2, 21, 12),
            calendar=CAL,
        )
    with transaction(engine) as session:
        states_list = item_states(
            session=session, as_of=vn(2024, 2, 23), calendar=CAL, period="2024-02"
        )
    r = rates(states_list)
    assert (r.expected, r.received, r.on_time) == (1, 1, 1)  # never above 100%


def test_status_command(db_env: Engine) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--plan", str(MINI)]).exit_code == 0
    result = runner.invoke(
        app, ["status", "--period", "2024-02", "--as-of", "2024-02-21T09:00", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {i["unit"]: i["status"] for i in data["items"]} == {
        "xa-mot": "overdue",
        "xa-hai": "overdue",
    }
    assert data["rates"]["bao-cao-thang"]["reporting_rate"] == 0.0
    table = runner.invoke(
        app, ["status", "--period", "2024-02", "--as-of", "2024-02-21"], env={"COLUMNS": "200"}
    )
    assert "Quá hạn" in table.output and "tỷ lệ báo cáo: 0%" in table.output
    bad = runner.invoke(app, ["status", "--period", "2024-02", "--as-of", "hôm qua"])
    assert bad.exit_code == 1 and "«hôm qua» không phải ngày hoặc thời điểm" in bad.output
    key = data["items"][0]["key"]
    ok = runner.invoke(
        app, ["extend", "--item", key, "--until", "2024-02-24", "--reason", "Mưa lũ"]
    )
    assert ok.exit_code == 0 and "26/02/2024" in ok.output  # Sat 24/2 rolls to Mon 26/2
