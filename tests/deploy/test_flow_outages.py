"""A scheduled flow that keeps failing is one outage for the admin: one mail when it starts,
a reminder a day while it lasts, one mail when a run completes again; on SQLite and
PostgreSQL, with a real SMTP server (aiosmtpd), runs racing, and dondoc's database itself
broken (the outage is then kept in the data folder)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, select

from demo.sinks import SmtpServer
from flows.alerting import alert_admin, note_completed
from models.db import make_engine, session_factory
from models.outbox import FlowOutage
from notifications.outage_file import FOLDER
from notifications.run_outages import alert_failed_run, alert_recovered
from settings import Settings, get_settings
from tests.deploy.test_run_safety import ADMIN, alert_settings
from tests.support.escalation import SMTP_PASSWORD, SMTP_USER

INBOX = "collect-submissions"
T0 = datetime(2024, 3, 19, 1, 0, tzinfo=UTC)  # 08 giờ 00, thứ Ba, 19/03/2024
# The admin's subjects, whole: long enough to be folded, with a space at a fold.
INBOX_FAILED = "[dondoc] Lỗi: lượt nhận báo cáo từ thư mục hộp thư đến không hoàn thành"
INBOX_STILL_FAILING = (
    "[dondoc] Vẫn lỗi: lượt nhận báo cáo từ thư mục hộp thư đến chưa chạy lại được"
)
INBOX_BACK = "[dondoc] Đã hoạt động trở lại: lượt nhận báo cáo từ thư mục hộp thư đến"


@pytest.fixture
def settings(smtp: SmtpServer, tmp_path: Path) -> Settings:
    return alert_settings(smtp).model_copy(update={"data_dir": tmp_path / "var"})


def fail(engine: Engine, settings: Settings, run: str, at: datetime, flow: str = INBOX) -> bool:
    return alert_failed_run(
        session_factory(engine),
        settings=settings,
        flow_name=flow,
        run_name=f"run-{run}",
        run_id=run,
        error="could not connect to server: Connection refused",
        now=at,
    )


def succeed(engine: Engine, settings: Settings, at: datetime, flow: str = INBOX) -> bool:
    return alert_recovered(session_factory(engine), settings=settings, flow_name=flow, now=at)


def outages(engine: Engine) -> list[FlowOutage]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(FlowOutage).order_by(FlowOutage.id)))


def test_an_outage_mails_when_it_starts_and_when_it_ends(
    engine: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    # The inbox every 5 minutes: three failed runs are one outage, one mail.
    assert fail(engine, settings, "a1", T0)
    assert not fail(engine, settings, "a2", T0 + timedelta(minutes=5))
    assert not fail(engine, settings, "a3", T0 + timedelta(minutes=10))
    [started] = smtp.received()
    assert started.rcpt_tos == (ADMIN,) and started.message_id.startswith("<alert-a1@")
    assert started.message["Subject"] == INBOX_FAILED and "đã thất bại" in started.text
    assert "không gửi thư riêng" in started.text and "sau mỗi 24 giờ" in started.text
    [outage] = outages(engine)
    assert (outage.failed_runs, outage.last_run_id, outage.ended_at) == (3, "a3", None)

    # The first run that completes ends it: one mail, how long and how many.
    assert succeed(engine, settings, T0 + timedelta(minutes=15))
    assert not succeed(engine, settings, T0 + timedelta(minutes=20))
    first, over = smtp.received()
    assert first == started
    assert over.message["Subject"] == INBOX_BACK
    assert "từ 08 giờ 00, thứ Ba, 19/03/2024 đến 08 giờ 15, thứ Ba, 19/03/2024" in over.text
    assert "(15 phút); 3 lượt chạy đã thất bại" in over.text
    assert "Connection refused" in over.text

    # Failing again later is a new outage, and a new mail.
    assert fail(engine, settings, "b1", T0 + timedelta(hours=2))
    assert not fail(engine, settings, "b2", T0 + timedelta(hours=2, minutes=5))
    assert len(smtp.received()) == 3 and "b1" in smtp.received()[2].text
    assert [(o.failed_runs, o.ended_at is None) for o in outages(engine)] == [(3, False), (2, True)]


def test_a_long_outage_is_recalled_once_a_day(
    engine: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    assert fail(engine, settings, "r0", T0)
    assert not fail(engine, settings, "r1", T0 + timedelta(hours=23, minutes=55))
    assert fail(engine, settings, "r2", T0 + timedelta(hours=24))  # a day after the first mail
    assert not fail(engine, settings, "r3", T0 + timedelta(hours=24, minutes=5))
    assert not fail(engine, settings, "r4", T0 + timedelta(hours=47, minutes=55))
    assert fail(engine, settings, "r5", T0 + timedelta(hours=48, minutes=1))
    first, day_one, day_two = smtp.received()
    assert [m.message["Subject"] for m in (day_one, day_two)] == [INBOX_STILL_FAILING] * 2
    assert "vẫn lỗi: từ 08 giờ 00, thứ Ba, 19/03/2024 đến 08 giờ 00, thứ Tư" in day_one.text
    assert "(1 ngày), 3 lượt chạy đã thất bại" in day_one.text and "«run-r2»" in day_one.text
    assert "(2 ngày 1 phút), 6 lượt chạy" in day_two.text
    assert len({first.message_id, day_one.message_id, day_two.message_id}) == 3

    shorter = settings.model_copy(update={"alert_reminder_hours": 6})
    assert fail(engine, shorter, "r6", T0 + timedelta(hours=54, minutes=1))
    assert "sau mỗi 6 giờ" in smtp.received()[-1].text


def test_each_flow_has_its_own_outage(engine: Engine, settings: Settings, smtp: SmtpServer) -> None:
    assert fail(engine, settings, "i1", T0)
    assert fail(engine, settings, "c1", T0, flow="compile-report")
    assert succeed(engine, settings, T0 + timedelta(minutes=5))  # the inbox works again
    assert not fail(engine, settings, "c2", T0 + timedelta(minutes=5), flow="compile-report")
    assert not succeed(engine, settings, T0 + timedelta(minutes=5), flow="check-and-escalate")
    assert [m.message["Subject"] for m in smtp.received()] == [
        INBOX_FAILED,
        "[dondoc] Lỗi: lượt tổng hợp báo cáo không hoàn thành",
        INBOX_BACK,
    ]
    assert "tổng hợp lại" not in smtp.received()[2].text  # the inbox's, not the compilation's


def test_runs_failing_at_once_send_one_mail(
    engine: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    runs = 6
    ready = threading.Barrier(runs)
    sent: list[bool] = []
    errors: list[BaseException] = []

    def one(run: int) -> None:
        ready.wait()
        try:
            sent.append(fail(engine, settings, f"x{run}", T0))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(sent) == [False] * (runs - 1) + [True]
    assert len(smtp.received()) == 1
    [outage] = outages(engine)
    assert outage.failed_runs == runs


def test_a_mail_the_server_refused_goes_with_the_next_run(
    engine: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    smtp.stop()
    with pytest.raises(Exception):  # noqa: B017 (whatever the mail channel raises)
        fail(engine, settings, "s1", T0)
    smtp.start()
    assert fail(engine, settings, "s2", T0 + timedelta(minutes=5))  # not lost, not doubled
    [mail] = smtp.received()
    assert "2 lượt" not in mail.text and "s2" in mail.text
    assert outages(engine)[0].failed_runs == 2


def broken(tmp_path: Path) -> Engine:
    """dondoc's database as a failing flow may find it: without its tables."""
    return make_engine(f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")


def test_without_a_database_the_data_folder_keeps_the_outage(
    engine: Engine, settings: Settings, smtp: SmtpServer, tmp_path: Path
) -> None:
    gone = broken(tmp_path)
    assert fail(gone, settings, "d1", T0)
    assert not fail(gone, settings, "d2", T0 + timedelta(minutes=5))
    assert not fail(gone, settings, "d2", T0 + timedelta(minutes=6))  # the alert flow, again
    assert fail(gone, settings, "d3", T0 + timedelta(hours=24))  # the day's reminder
    first, reminder = smtp.received()
    assert "không ghi được vào cơ sở dữ liệu" in first.text
    assert "(1 ngày), 3 lượt chạy" in reminder.text
    assert (settings.data_dir / FOLDER / f"{INBOX}.json").exists()

    # The database is back, the flow still fails: the same outage goes on there, no mail.
    assert not fail(engine, settings, "d4", T0 + timedelta(hours=25))
    [outage] = outages(engine)
    assert (outage.started_at, outage.failed_runs) == (T0, 4)
    assert not (settings.data_dir / FOLDER / f"{INBOX}.json").exists()
    assert succeed(engine, settings, T0 + timedelta(hours=26))
    over = smtp.received()[-1]
    assert "(1 ngày 2 giờ); 4 lượt chạy" in over.text and len(smtp.received()) == 3


def test_a_database_failing_within_an_outage_adds_one_mail_then_carries_back(
    engine: Engine, settings: Settings, smtp: SmtpServer, tmp_path: Path
) -> None:
    assert fail(engine, settings, "p1", T0)
    gone = broken(tmp_path)  # then the database breaks too: the file cannot know of p1's mail
    assert fail(gone, settings, "p2", T0 + timedelta(minutes=5))
    assert not fail(gone, settings, "p3", T0 + timedelta(minutes=10))
    assert not fail(engine, settings, "p4", T0 + timedelta(minutes=15))
    [outage] = outages(engine)
    assert (outage.started_at, outage.failed_runs, outage.alerted_at) == (T0, 4, T0)
    assert len(smtp.received()) == 2
    assert not fail(engine, settings, "p5", T0 + timedelta(hours=23))
    assert fail(engine, settings, "p6", T0 + timedelta(hours=24))  # a day after the first
    assert "(1 ngày), 6 lượt chạy" in smtp.received()[-1].text


def test_a_run_the_folder_counted_is_not_counted_again_in_the_database(
    engine: Engine, settings: Settings, smtp: SmtpServer, tmp_path: Path
) -> None:
    assert fail(broken(tmp_path), settings, "c1", T0)  # its hook, the database down
    assert not fail(engine, settings, "c1", T0 + timedelta(minutes=1))  # the alert flow
    [outage] = outages(engine)
    assert (outage.started_at, outage.failed_runs) == (T0, 1)
    assert succeed(engine, settings, T0 + timedelta(minutes=10))
    assert "(10 phút); 1 lượt chạy" in smtp.received()[-1].text


def test_without_a_database_a_completed_run_ends_the_folder_s_outage(
    engine: Engine, settings: Settings, smtp: SmtpServer, tmp_path: Path
) -> None:
    gone = broken(tmp_path)
    assert fail(gone, settings, "e1", T0)
    assert not fail(gone, settings, "e2", T0 + timedelta(minutes=5))
    assert succeed(engine, settings, T0 + timedelta(minutes=10))  # the database is back
    over = smtp.received()[-1]
    assert over.message["Subject"] == INBOX_BACK
    assert "(10 phút); 2 lượt chạy" in over.text and len(smtp.received()) == 2


def test_without_a_database_runs_failing_at_once_send_one_mail(
    settings: Settings, smtp: SmtpServer, tmp_path: Path
) -> None:
    gone = broken(tmp_path)
    ready = threading.Barrier(4)
    sent: list[bool] = []

    def one(run: int) -> None:
        ready.wait()
        sent.append(fail(gone, settings, f"z{run}", T0))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == [False, False, False, True] and len(smtp.received()) == 1


def test_with_neither_database_nor_data_folder_every_failure_still_mails(
    settings: Settings, smtp: SmtpServer, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    nowhere = settings.model_copy(update={"data_dir": blocked})
    assert fail(broken(tmp_path), nowhere, "n1", T0)
    assert fail(broken(tmp_path), nowhere, "n2", T0 + timedelta(minutes=5))
    assert all("lẫn thư mục dữ liệu" in m.text for m in smtp.received())
    assert len(smtp.received()) == 2


def test_the_flows_hooks_count_failures_and_end_the_outage(
    engine: Engine,
    settings: Settings,
    smtp: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hooks as Prefect calls them (its flow, run and state objects stood in for by plain
    ones: the real Prefect run is tests/escalation/test_flow.py's)."""
    monkeypatch.setenv("DONDOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DONDOC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DONDOC_ADMIN_EMAIL", ADMIN)
    monkeypatch.setenv("DONDOC_SMTP__HOST", smtp.host)
    monkeypatch.setenv("DONDOC_SMTP__PORT", str(smtp.port))
    monkeypatch.setenv("DONDOC_SMTP__USERNAME", SMTP_USER)
    monkeypatch.setenv("DONDOC_SMTP__PASSWORD", SMTP_PASSWORD)
    get_settings.cache_clear()
    flow = SimpleNamespace(name=INBOX)
    failed = SimpleNamespace(is_crashed=lambda: False, message="database is locked")
    for n in range(3):
        alert_admin(flow, SimpleNamespace(name=f"hook-{n}", id=f"h{n}"), failed)
    note_completed(flow, SimpleNamespace(name="ok", id="h9"), SimpleNamespace())
    note_completed(flow, SimpleNamespace(name="ok", id="h10"), SimpleNamespace())
    get_settings.cache_clear()
    assert [m.message["Subject"] for m in smtp.received()] == [INBOX_FAILED, INBOX_BACK]
    assert "3 lượt chạy" in smtp.received()[1].text
