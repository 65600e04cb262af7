"""The collect_submissions flow under a real Prefect API, including a run killed half way."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from flows.collect_submissions import collect_submissions
from intake import inbox as box
from models.db import session_factory, transaction
from models.submissions import Submission
from plan_sync.sync import load_plan
from plans.loader import read_plan
from tests.support.intake import NOW, PLAN, filled_template, stored

# slow: the Prefect test harness (a Prefect server process); one test kills the flow
pytestmark = [pytest.mark.slow, pytest.mark.serial]  # one test kills its reader mid-file

ROOT = Path(__file__).parents[2]


@pytest.fixture
def inbox_db(db_env: Engine, prefect_api: None, tmp_path: Path) -> tuple[Engine, Path]:
    """Settings pointing at the test database, the intake plan loaded, an empty inbox."""
    with transaction(db_env) as session:
        load_plan(read_plan(PLAN), session=session, now=NOW)
    folder = tmp_path / "inbox"
    folder.mkdir()
    return db_env, folder


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_inbox_stores_good_files_and_rejects_bad_ones_with_a_vietnamese_report(
    inbox_db: tuple[Engine, Path],
) -> None:
    engine, inbox = inbox_db
    good_xlsx = filled_template(engine, "xlsx", {"viec-lam": 1300, "ty-le": "67,5"})
    files = {
        "xa-mot__bao-cao-thang__2024-04.xlsx": good_xlsx,
        "bao cao xa hai.csv": filled_template(
            engine, "csv", {"viec-lam": 20, "ty-le": "50"}, unit="xa-hai", period="2024-04"
        ),
        "xa-mot__ke-hoach-xa.json": json.dumps(
            {"progress": {"state": "done", "note": "Đã ban hành kế hoạch", "on": "2024-04-19"}}
        ).encode(),
        "tt-ba__bao-cao-thang__2024-04.xlsx": filled_template(
            engine, "xlsx", {"viec-lam": "nhiều", "ty-le": 5}
        ),
        "xa-hai__bao-cao-thang__2024-03.csv": filled_template(
            engine, "csv", {"viec-lam": 1, "ty-le": 1}, unit="xa-hai", period="2024-04"
        ),
        "bao-cao-co-macro.xlsm": good_xlsx,
        "cong-van.docx": b"PK\x03\x04 not a report",
        "~$xa-mot__bao-cao-thang__2024-04.xlsx": b"an Excel lock file",
    }
    for name, data in files.items():
        (inbox / name).write_bytes(data)

    summary = collect_submissions(inbox=str(inbox))

    assert (summary["processed"], summary["rejected"]) == (3, 4)
    assert _names(inbox) == ["~$xa-mot__bao-cao-thang__2024-04.xlsx"]  # left alone
    assert [p for p in (inbox / box.WORK).iterdir() if p.name != box.LOCK] == []
    processed, rejected = inbox / box.PROCESSED, inbox / box.REJECTED
    assert _names(processed) == sorted(
        [
            "bao cao xa hai.csv",
            "bao cao xa hai.csv.bien-nhan.txt",
            "xa-mot__bao-cao-thang__2024-04.xlsx",
            "xa-mot__bao-cao-thang__2024-04.xlsx.bien-nhan.txt",
            "xa-mot__ke-hoach-xa.json",
            "xa-mot__ke-hoach-xa.json.bien-nhan.txt",
        ]
    )
    # The files are kept byte for byte.
    assert (processed / "xa-mot__bao-cao-thang__2024-04.xlsx").read_bytes() == good_xlsx
    reports = {
        p.name.removesuffix(box.REPORT_SUFFIX): p.read_text(encoding="utf-8")
        for p in rejected.glob("*" + box.REPORT_SUFFIX)
    }
    assert set(reports) == {
        "tt-ba__bao-cao-thang__2024-04.xlsx",
        "xa-hai__bao-cao-thang__2024-03.csv",
        "bao-cao-co-macro.xlsm",
        "cong-van.docx",
    }
    for name in reports:
        assert (rejected / name).exists()
    text = reports["tt-ba__bao-cao-thang__2024-04.xlsx"]
    assert text.startswith("BÁO CÁO KHÔNG ĐƯỢC TIẾP NHẬN")
    assert "ô F7: Tạo việc làm mới: «nhiều» không phải là số." in text
    assert "«2024-03», «2024-04»" in reports["xa-hai__bao-cao-thang__2024-03.csv"]
    assert "macro" in reports["bao-cao-co-macro.xlsm"]
    assert "Chỉ nhận tệp .xlsx, .csv" in reports["cong-van.docx"]

    counts = stored(engine)
    assert counts["submissions"] == 3
    with session_factory(engine)() as session:
        assert set(session.scalars(select(Submission.channel))) == {"inbox"}

    # A second run finds nothing; the same file dropped again is recognised, not stored twice.
    assert collect_submissions(inbox=str(inbox))["processed"] == 0
    (inbox / "xa-mot__bao-cao-thang__2024-04.xlsx").write_bytes(good_xlsx)
    again = collect_submissions(inbox=str(inbox))
    assert again["files"][0]["replayed"] is True
    assert (processed / "xa-mot__bao-cao-thang__2024-04 (2).xlsx").exists()
    assert stored(engine)["submissions"] == 3


class Killed(BaseException):
    """Stands for SIGKILL at one exact instant: nothing catches it."""


def test_killed_after_storing_before_moving_the_rerun_stores_nothing_twice(
    inbox_db: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, inbox = inbox_db
    name = "xa-mot__bao-cao-thang__2024-04.csv"
    (inbox / name).write_bytes(filled_template(engine, "csv", {"viec-lam": 5, "ty-le": 5}))
    claimed = box.claim_files(inbox)
    assert [p.name for p in claimed] == [name] and _names(inbox) == []

    def killed(*_args: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(box, "finish", killed)
        with pytest.raises(Killed):
            from settings import get_settings

            settings = get_settings()
            box.process_file(
                claimed[0],
                inbox=inbox,
                sessions=session_factory(engine),
                now=NOW,
                data_dir=settings.data_dir,
                max_upload_bytes=settings.upload_max_bytes,
                max_item_bytes=settings.item_max_stored_bytes,
            )
    assert stored(engine)["submissions"] == 1  # stored, but the file is still in work/
    assert box.leftovers(inbox) == claimed

    summary = collect_submissions(inbox=str(inbox))
    assert summary["processed"] == 1 and summary["files"][0]["replayed"] is True
    assert stored(engine)["submissions"] == 1
    assert (inbox / box.PROCESSED / name).exists()
    assert [p for p in (inbox / box.WORK).iterdir() if p.name != box.LOCK] == []


def test_flow_killed_with_sigkill_then_rerun_every_file_ends_stored_once(
    inbox_db: tuple[Engine, Path],
) -> None:
    from prefect.settings import PREFECT_API_URL

    engine, inbox = inbox_db
    good: list[str] = []
    bad: list[str] = []
    units, periods = ["xa-mot", "xa-hai", "tt-ba"], ["2024-01", "2024-02", "2024-03", "2024-04"]
    for n in range(96):
        unit, period = units[n % 3], periods[n % 4]
        valid = n % 8 != 0
        name = f"bao-cao-{n:03d}.csv"  # no address in the name: the template's header has it
        data = filled_template(
            engine,
            "csv",
            {"viec-lam": n if valid else -n - 1, "ty-le": 50},
            unit=unit,
            period=period,
        )
        (inbox / name).write_bytes(data)
        (good if valid else bad).append(name)
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PYTHONPATH": str(ROOT),
    }
    code = (
        "from flows.collect_submissions import collect_submissions\n"
        f"collect_submissions(inbox={str(inbox)!r}, batch_size=4)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            finished = inbox / box.PROCESSED
            if finished.exists() and len(list(finished.glob("*.csv"))) >= 10:
                break
            time.sleep(0.01)
        assert child.poll() is None, "the flow finished before it could be killed"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    interrupted = len(list((inbox / box.PROCESSED).glob("*.csv"))) + len(
        list((inbox / box.REJECTED).glob("*.csv"))
    )
    assert 0 < interrupted < len(good) + len(bad)  # really killed half way

    collect_submissions(inbox=str(inbox))

    assert _names(inbox) == []
    assert [p for p in (inbox / box.WORK).rglob("*") if p.is_file() and p.name != box.LOCK] == []
    assert sorted(p.name for p in (inbox / box.PROCESSED).glob("*.csv")) == sorted(good)
    assert sorted(p.name for p in (inbox / box.REJECTED).glob("*.csv")) == sorted(bad)
    for name in bad:
        assert (inbox / box.REJECTED / (name + box.REPORT_SUFFIX)).exists()
    with session_factory(engine)() as session:
        total = session.scalar(select(func.count()).select_from(Submission))
        contents = session.scalar(select(func.count(func.distinct(Submission.content_hash))))
    assert total == contents == len(good)  # each good file stored exactly once
    shutil.rmtree(inbox)


def test_a_run_started_while_another_holds_the_inbox_leaves_it_alone(
    inbox_db: tuple[Engine, Path],
) -> None:
    engine, inbox = inbox_db
    name = "xa-mot__bao-cao-thang__2024-04.csv"
    (inbox / name).write_bytes(filled_template(engine, "csv", {"viec-lam": 5, "ty-le": 5}))
    with box.exclusive(inbox) as held:
        assert held
        busy = collect_submissions(inbox=str(inbox))
        assert busy["busy"] is True
        assert _names(inbox) == [name]
    assert collect_submissions(inbox=str(inbox))["processed"] == 1
    assert stored(engine)["submissions"] == 1


def test_dondoc_inbox_with_the_database_down_says_so_in_one_line_and_keeps_the_files(
    inbox_db: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from cli import common
    from cli.main import app
    from settings import get_settings

    engine, inbox = inbox_db
    name = "xa-mot__bao-cao-thang__2024-04.csv"
    (inbox / name).write_bytes(filled_template(engine, "csv", {"viec-lam": 5, "ty-le": 5}))
    # A server that does not answer (nothing listens on port 1).
    monkeypatch.setenv("DONDOC_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/dondoc")
    get_settings.cache_clear()
    common.engine.cache_clear()
    result = CliRunner().invoke(app, ["inbox", "--dir", str(inbox)])
    assert result.exit_code == 1, result.output
    assert "chưa xử lý hết hộp thư (OperationalError" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert [p.name for p in inbox.rglob(name)] == [name]  # waiting still, not rejected
    assert list((inbox / box.REJECTED).glob("*")) == []
