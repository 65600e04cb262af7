"""The demo's parts: the seeded behaviour of units and the local message sinks."""

from __future__ import annotations

import json
import smtplib
from collections import Counter
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import apprise
import httpx
import pendulum

from demo.behaviour import (
    ItemFacts,
    Outcome,
    TargetFacts,
    decide,
    values_for,
)
from demo.sinks import mail_sink, read_mailbox, read_webhook_log, webhook_sink
from plans.vocabulary import TargetKind
from schedules.calendar import VN_TZ, WorkCalendar

CAL = WorkCalendar()


def _item(n: int, deadline: date = date(2024, 3, 19), period: str = "2024-Q1") -> ItemFacts:
    return ItemFacts(
        item_id=n,
        key=f"report:plan:obl:xa-{n}:{period}",
        kind="report",
        unit_code=f"xa-{n}",
        unit_kind="commune",
        period_label=period,
        opens_at=pendulum.datetime(2024, 3, 15, tz=VN_TZ),
        deadline_on=deadline,
    )


def test_the_same_seed_replays_the_same_year() -> None:
    items = [_item(n) for n in range(200)]
    first = [decide(i, seed=7, calendar=CAL) for i in items]
    again = [decide(i, seed=7, calendar=CAL) for i in reversed(items)]
    assert first == list(reversed(again))
    other = [decide(i, seed=8, calendar=CAL) for i in items]
    assert first != other


def test_outcomes_fall_where_they_say() -> None:
    behaviours = [decide(_item(n), seed=1, calendar=CAL) for n in range(400)]
    counts = Counter(b.outcome for b in behaviours)
    # About 65% / 25% / 10%; every kind shows up.
    assert 0.55 < counts[Outcome.ON_TIME] / 400 < 0.75
    assert 0.15 < counts[Outcome.LATE] / 400 < 0.35
    assert counts[Outcome.NEVER] > 10
    opens = date(2024, 3, 15)
    for b in behaviours:
        if b.outcome is Outcome.NEVER:
            assert b.submit_on is None and b.submit_at() is None
            continue
        assert b.submit_on is not None
        assert CAL.is_working_day(b.submit_on)
        assert b.submit_on >= opens
        if b.outcome is Outcome.ON_TIME:
            assert b.submit_on <= date(2024, 3, 19)
        else:
            assert b.submit_on > date(2024, 3, 19)
        at = b.submit_at()
        assert at is not None and at.utcoffset() is not None


def test_values_are_readable_as_officers_type_them() -> None:
    targets = [
        TargetFacts("lao-dong-qua-dao-tao", TargetKind.COUNT, True),
        TargetFacts("lao-dong-trong-do-tuoi", TargetKind.COUNT, True),
        TargetFacts("ty-le-lao-dong-qua-dao-tao", TargetKind.PERCENT, True),
        TargetFacts("dai-hoi-dtts", TargetKind.YES_NO, True),
    ]
    item = _item(1)
    values = values_for(item, targets, seed=3)
    assert values == values_for(item, targets, seed=3)
    trained, working = values["lao-dong-qua-dao-tao"], values["lao-dong-trong-do-tuoi"]
    percent = float(values["ty-le-lao-dong-qua-dao-tao"].replace(",", "."))
    assert abs(percent - trained / working * 100) < 0.06  # a ratio of its parts, not invented
    assert values["dai-hoi-dtts"] in ("có", "không")


def test_mail_sink_keeps_every_message_with_its_recipients(tmp_path: Path) -> None:
    with mail_sink(tmp_path / "mail" / "mailbox.mbox") as sink:
        message = EmailMessage()
        message["From"] = "dondoc@example.org"
        message["To"] = "can-bo@caoloc.example"
        message["Subject"] = "Nhắc hạn gửi báo cáo quý I năm 2024"
        message.set_content("Kính gửi đồng chí Lương Thị Hằng,\nđề nghị gửi báo cáo.")
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            smtp.send_message(message, to_addrs=["can-bo@caoloc.example", "bcc@caoloc.example"])
        # Through apprise as dondoc's email channel sends it (plain SMTP on the loopback).
        url = (
            f"mailto://{sink.host}:{sink.port}?from=dondoc@example.org"
            "&to=truong-phong@caoloc.example&name=dondoc"
        )
        assert apprise.Apprise.instantiate(url).notify(
            title="Quá hạn báo cáo tháng 01/2024", body="Đơn vị chưa gửi báo cáo."
        )
        assert sink.count == 2
    messages = read_mailbox(tmp_path / "mail" / "mailbox.mbox")
    assert [m["Subject"] for m in messages] == [
        "Nhắc hạn gửi báo cáo quý I năm 2024",
        "Quá hạn báo cáo tháng 01/2024",
    ]
    assert messages[0]["X-Dondoc-Delivered-To"] == "can-bo@caoloc.example, bcc@caoloc.example"
    body = messages[0].get_body()
    assert body is not None and "Lương Thị Hằng" in body.get_content()


def test_webhook_sink_logs_each_post(tmp_path: Path) -> None:
    log = tmp_path / "webhooks.jsonl"
    with webhook_sink(log) as sink:
        response = httpx.post(
            f"{sink.base}/hook",
            json={"title": "Nhắc hạn", "message": "Đơn vị xã Bảo Lâm chưa gửi báo cáo."},
            headers={"Idempotency-Key": "abc", "Authorization": "Bearer secret"},
        )
        assert response.status_code == 200
        url = sink.base.replace("http://", "json://") + "/apprise"
        assert apprise.Apprise.instantiate(url).notify(title="Quá hạn", body="Xã Bảo Lâm")
        assert sink.count == 2
    entries = read_webhook_log(log)
    assert [e["path"] for e in entries] == ["/hook", "/apprise"]
    assert entries[0]["body"]["message"] == "Đơn vị xã Bảo Lâm chưa gửi báo cáo."
    assert entries[0]["headers"]["Idempotency-Key"] == "abc"
    assert "Authorization" not in entries[0]["headers"]  # secrets never reach the log
    assert entries[1]["body"]["title"] == "Quá hạn"
    assert json.loads(log.read_text(encoding="utf-8").splitlines()[1])["body"]["message"] == (
        "Xã Bảo Lâm"
    )
