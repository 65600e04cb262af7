"""Ad-hoc requests become items due that status and submissions treat like the plan's own."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from adhoc.requests import CreatedRequest, RequestSpec, create_request
from intake.address import ItemAddress
from intake.store import SubmitRequest, submit
from models.calendar import load_calendar
from models.db import session_factory, transaction
from models.items import DueItem
from plans.vocabulary import ItemKind
from status.states import ItemStatus, item_states
from submissions.content import RawSubmission
from submissions.errors import Invalid
from tests.support.intake import LOADER, NOW


def _create(engine: Engine, spec: RequestSpec) -> CreatedRequest:
    with transaction(engine) as session:
        return create_request(
            spec, session=session, actor=LOADER, now=NOW, calendar=load_calendar(session=session)
        )


def test_reusing_an_ad_hoc_obligation_of_the_plan(loaded: Engine, tmp_path: Path) -> None:
    created = _create(
        loaded,
        RequestSpec(
            kind=ItemKind.REPORT,
            title="Báo cáo vụ việc đột xuất tại xã Một",
            obligation="dot-xuat",
            due_on=date(2024, 4, 25),
        ),
    )
    assert (created.label, created.code, created.units) == ("YC-1", "dot-xuat", ("phong-a",))
    sessions = session_factory(loaded)
    receipt = submit(
        sessions,
        SubmitRequest(
            address=ItemAddress(unit="phong-a", source="dot-xuat", period="YC-1"),
            actor=LOADER,
            channel="api",
            raw=RawSubmission(narrative={"ket-qua-thuc-hien": "Đã xử lý xong."}),
        ),
        now=NOW,
        data_dir=tmp_path,
        max_attachment_bytes=1,
    )
    assert receipt.narrative == {"Kết quả thực hiện": "Đã xử lý xong."}
    with sessions() as session:
        states = item_states(
            session=session, as_of=NOW, calendar=load_calendar(session=session), period="YC-1"
        )
        assert [(s.unit_code, s.status) for s in states] == [
            ("phong-a", ItemStatus.SUBMITTED_ON_TIME)
        ]
        item = session.scalars(select(DueItem).where(DueItem.period_label == "YC-1")).one()
        assert item.key == f"request:{created.request_id}:phong-a"


def test_a_deliverable_request_asks_for_progress(loaded: Engine) -> None:
    created = _create(
        loaded,
        RequestSpec(
            kind=ItemKind.DELIVERABLE,
            title="Rà soát hộ nghèo",
            units=("xa-mot", "xa-hai"),
            within_working_days=5,
            instructions="Gửi danh sách kèm biên bản.",
        ),
    )
    # Saturday 20/04/2024 + 5 working days: 22, 23, 24, 25, 26 April.
    assert created.deadline_on == date(2024, 4, 26)
    with session_factory(loaded)() as session:
        items = session.scalars(select(DueItem).where(DueItem.period_label == "YC-1")).all()
        assert {(i.kind, i.deliverable and i.deliverable.code) for i in items} == {
            ("deliverable", "yc-1")
        }


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        (
            RequestSpec(
                kind=ItemKind.REPORT, title="x", obligation="bao-cao-thang", within_working_days=1
            ),
            {("obligation", "periodic")},
        ),
        (
            RequestSpec(
                kind=ItemKind.REPORT,
                title="x",
                units=("xa-cu", "xa-khong-co"),
                targets=(("khong-co", True),),
                due_on=date(2024, 4, 30),
            ),
            {
                ("units", "unknown_unit"),
                ("units", "unit_not_existing"),
                ("targets", "unknown_target"),
            },
        ),
        (
            RequestSpec(
                kind=ItemKind.REPORT, title=" ", units=("xa-mot",), due_on=date(2024, 4, 1)
            ),
            {("title", "required"), ("due_on", "in_past")},
        ),
        (
            RequestSpec(
                kind=ItemKind.DELIVERABLE,
                title="x",
                units=("xa-mot",),
                sections=("Kết quả",),
                within_working_days=99,
            ),
            {("targets", "not_for_deliverable"), ("within_working_days", "out_of_range")},
        ),
    ],
)
def test_bad_requests_are_refused_whole(
    loaded: Engine, spec: RequestSpec, fields: set[tuple[str, str]]
) -> None:
    with pytest.raises(Invalid) as refused:
        _create(loaded, spec)
    assert {(f.field, f.code) for f in refused.value.fields} == fields
    with session_factory(loaded)() as session:
        assert session.scalars(select(DueItem).where(DueItem.key.like("request:%"))).all() == []
