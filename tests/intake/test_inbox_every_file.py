"""Whatever a file holds, the inbox moves it on: to processed/ or rejected/, with its note.

The inbox's steps run here without Prefect (the flow only batches them), on SQLite and
PostgreSQL, with the hostile files seen stalling it: a lone surrogate, JSON 100,000 deep, a
5,000-digit number, a workbook whose `[Content_Types].xml` entry differs in case, report
names of 218 to 255 bytes, a name that is not UTF-8, a file over the upload limit.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from intake import inbox as box
from models.db import make_engine, session_factory
from models.submissions import Submission
from tests.support.intake import NOTHING, UPLOAD_LIMIT, filled_template, run_inbox, stored


def _in_work(inbox: Path) -> list[Path]:
    return [p for p in (inbox / box.WORK).rglob("*") if p.is_file() and p.name != box.LOCK]


def _name_of(length: int, stem: str, suffix: str) -> str:
    """A Vietnamese file name of exactly `length` bytes in UTF-8."""
    name = stem
    while len((name + "ạ" + suffix).encode()) <= length:
        name += "ạ"
    return name + "-" * (length - len((name + suffix).encode())) + suffix


def _recased(xlsx: bytes) -> bytes:
    """The workbook with its `[Content_Types].xml` entry named in other letter case."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            name = info.filename.replace("[Content_Types].xml", "[content_types].XML")
            target.writestr(name, source.read(info))
    return out.getvalue()


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def test_every_hostile_file_is_moved_on_and_the_others_are_stored(
    loaded: Engine, inbox: Path, tmp_path: Path
) -> None:
    good_xlsx = filled_template(loaded, "xlsx", {"viec-lam": 7, "ty-le": 70}, "xa-mot", "2024-04")
    long_218 = _name_of(218, "Báo cáo tháng 4 năm 2024 của UBND xã Một ", ".xlsx")
    long_255 = _name_of(255, "Báo cáo tháng 4 năm 2024 của UBND xã Hai ", ".csv")
    no_extension = _name_of(254, "bao-cao.", "")  # all after the dot: not an extension
    not_utf8 = os.fsdecode(b"bao-cao-thi-tran-ba-\xff\xfe.csv")
    deep = "[" * 100_000 + "]" * 100_000
    files = {
        "xa-mot__bao-cao-thang__2024-01.json": b'{"values": {"viec-lam": "\\ud800"}}',
        "xa-mot__bao-cao-thang__2024-02.json": (
            b'{"values": {"viec-lam": 1, "ty-le": 1},'
            b' "narrative": {"ket-qua-thuc-hien": "\\udfff"}}'
        ),
        "xa-mot__bao-cao-thang__2024-03.json": f'{{"values": {{"viec-lam": {deep}}}}}'.encode(),
        "xa-hai__bao-cao-thang__2024-01.json": json.dumps({"values": {"viec-lam": 0}})
        .replace("0", "9" * 5_000)
        .encode(),
        "xa-hai__bao-cao-thang__2024-02.xlsx": _recased(good_xlsx),
        long_218: good_xlsx,
        no_extension: good_xlsx,
        long_255: filled_template(loaded, "csv", {"viec-lam": 8, "ty-le": 80}, "xa-hai", "2024-04"),
        not_utf8: filled_template(loaded, "csv", {"viec-lam": 9, "ty-le": 90}, "tt-ba", "2024-04"),
        "xa-hai__bao-cao-thang__2024-03.csv": filled_template(
            loaded, "csv", {"viec-lam": 10, "ty-le": 95}
        ),
    }
    for name, data in files.items():
        (inbox / name).write_bytes(data)

    outcomes = run_inbox(loaded, inbox, tmp_path / "var")

    assert len(outcomes) == len(files)
    assert _in_work(inbox) == [] and [p for p in inbox.iterdir() if p.is_file()] == []
    by_outcome = {o.name: o.outcome for o in outcomes}
    shown = box.shown_name(not_utf8)
    assert shown == "bao-cao-thi-tran-ba-\ufffd\ufffd.csv"
    # A lone surrogate in a narrative fails when stored; the text rules may refuse it or
    # replace it before that: either way the file is moved on.
    either = "xa-mot__bao-cao-thang__2024-02.json"
    stored_names = {long_218, long_255, shown, "xa-hai__bao-cao-thang__2024-03.csv"}
    assert {n for n, o in by_outcome.items() if o == "processed"} - {either} == stored_names
    assert {n for n, o in by_outcome.items() if o == "rejected"} - {either} == set(files) - {
        either,
        long_218,
        long_255,
        not_utf8,
        "xa-hai__bao-cao-thang__2024-03.csv",
    }
    for outcome in outcomes:
        assert outcome.moved_to is not None
        moved = Path(outcome.moved_to)
        suffix = box.RECEIPT_SUFFIX if outcome.outcome == "processed" else box.REPORT_SUFFIX
        note = moved.with_name(moved.name + suffix)
        assert len(os.fsencode(note.name)) <= box.NAME_MAX
        text = note.read_text(encoding="utf-8")
        assert f"Tệp: {outcome.name}" in text  # the full name, even where it was shortened
        assert text.startswith(
            "ĐÃ TIẾP NHẬN BÁO CÁO" if outcome.outcome == "processed" else "BÁO CÁO KHÔNG ĐƯỢC"
        )
    # The long names' files are kept byte for byte beside their receipts.
    processed = {o.name: Path(o.moved_to or "") for o in outcomes if o.outcome == "processed"}
    assert processed[long_218].read_bytes() == good_xlsx
    assert processed[long_255].name.endswith(".csv")
    with session_factory(loaded)() as session:
        sources = set(session.scalars(select(Submission.source_address)))
    assert sources - {f"inbox:{either}"} == {f"inbox:{name}" for name in stored_names}


def test_a_long_name_dropped_again_is_recognised_and_moved_beside_the_first(
    loaded: Engine, inbox: Path, tmp_path: Path
) -> None:
    name = _name_of(250, "Báo cáo tháng 4 năm 2024 của UBND xã Một ", ".xlsx")
    data = filled_template(loaded, "xlsx", {"viec-lam": 7, "ty-le": 70}, "xa-mot", "2024-04")
    moved = []
    for _ in range(3):
        (inbox / name).write_bytes(data)
        [outcome] = run_inbox(loaded, inbox, tmp_path / "var")
        assert outcome.outcome == "processed"
        moved.append(Path(outcome.moved_to or ""))
    assert [path.stem.endswith(")") for path in moved] == [False, True, True]
    assert len(set(moved)) == 3 and all(p.read_bytes() == data for p in moved)
    assert stored(loaded)["submissions"] == 1


def test_a_file_over_the_limit_is_refused_without_being_read(
    loaded: Engine, inbox: Path, tmp_path: Path
) -> None:
    big = inbox / "xa-mot__bao-cao-thang__2024-04.xlsx"
    with open(big, "wb") as handle:
        handle.truncate(256 * UPLOAD_LIMIT)  # sparse: 64 MiB that take no disk
    tracemalloc.start()
    try:
        [outcome] = run_inbox(loaded, inbox, tmp_path / "var")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * UPLOAD_LIMIT  # far below the file's size: it was never read whole
    assert outcome.outcome == "rejected"
    assert outcome.problems == ("Tệp quá lớn (tối đa 0,25 MB).",)
    assert (inbox / box.REJECTED / big.name).stat().st_size == 256 * UPLOAD_LIMIT
    assert stored(loaded) == NOTHING


def test_an_unforeseen_failure_rejects_the_file_with_an_incident_number_and_a_log_line(
    loaded: Engine,
    inbox: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dropped = inbox / "a__bao-cao-thang__2024-04.csv"
    dropped.write_bytes(b"viec-lam,31337")
    content = dropped.read_text()

    # Stands for any failure nobody foresaw, raised with the file's content in its message.
    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"could not handle {content}")

    good = filled_template(loaded, "csv", {"viec-lam": 5, "ty-le": 5}, "xa-hai", "2024-04")
    with monkeypatch.context() as patch:
        patch.setattr(box, "submit", crash)
        with caplog.at_level(logging.ERROR, logger="intake.inbox"):
            [outcome] = run_inbox(loaded, inbox, tmp_path / "var")
    assert outcome.outcome == "rejected"
    [record] = [r for r in caplog.records if r.name == "intake.inbox"]
    message = record.getMessage()
    assert "RuntimeError" in message and "a__bao-cao-thang__2024-04.csv" in message
    assert "31337" not in message  # the type and the frames, never the content
    incident = message.split("(incident ")[1][:8]
    note = (inbox / box.REJECTED / ("a__bao-cao-thang__2024-04.csv" + box.REPORT_SUFFIX)).read_text(
        encoding="utf-8"
    )
    assert f"mã sự cố {incident}" in note and "chưa lưu gì" in note
    # The next file goes on as usual.
    (inbox / "b.csv").write_bytes(good)
    assert [o.outcome for o in run_inbox(loaded, inbox, tmp_path / "var")] == ["processed"]


def test_with_the_database_down_the_file_waits_in_work_for_the_next_run(
    loaded: Engine, inbox: Path, tmp_path: Path
) -> None:
    name = "xa-mot__bao-cao-thang__2024-04.csv"
    (inbox / name).write_bytes(filled_template(loaded, "csv", {"viec-lam": 5, "ty-le": 5}))
    down = make_engine(f"sqlite:///{tmp_path / 'missing' / 'dondoc.sqlite3'}")
    with pytest.raises(Exception, match="unable to open database"):
        run_inbox(loaded, inbox, tmp_path / "var", sessions=session_factory(down))
    assert [p.name for p in _in_work(inbox)] == [name]
    assert list((inbox / box.REJECTED).iterdir()) == []

    [outcome] = run_inbox(loaded, inbox, tmp_path / "var")
    assert (outcome.name, outcome.outcome) == (name, "processed")
    assert _in_work(inbox) == []


def test_a_live_run_stores_each_file_at_the_time_it_is_stored(
    loaded: Engine, inbox: Path, tmp_path: Path
) -> None:
    """Two files of one batch: each gets the clock's reading as it is stored (inside its
    item's lock), not the batch's start, so an as-of instant between them splits them."""
    from datetime import UTC, datetime, timedelta

    for unit in ("xa-mot", "xa-hai"):
        data = filled_template(loaded, "xlsx", {"viec-lam": 7, "ty-le": 70}, unit, "2024-04")
        (inbox / f"{unit}__bao-cao-thang__2024-04.xlsx").write_bytes(data)
    start = datetime(2024, 5, 3, 2, 0, tzinfo=UTC)
    readings = iter(start + timedelta(minutes=m) for m in range(1, 100))
    outcomes = box.process_files(
        box.claim_files(inbox),
        inbox=inbox,
        sessions=session_factory(loaded),
        now=start,
        data_dir=tmp_path / "var",
        max_upload_bytes=UPLOAD_LIMIT,
        clock=lambda: next(readings),
    )
    assert [o.outcome for o in outcomes] == ["processed", "processed"]
    with session_factory(loaded)() as session:
        times = sorted(
            r.replace(tzinfo=UTC) for r in session.scalars(select(Submission.received_at))
        )
    assert len(times) == 2 and start < times[0] < times[1]


def test_with_the_disk_full_the_file_waits_in_work_for_the_next_run(
    loaded: Engine, inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk fails every file alike (simulated: filling a real disk here would fill the
    machine's): the file is not rejected, and the next run stores it."""
    import errno

    name = "xa-mot__bao-cao-thang__2024-04.csv"
    (inbox / name).write_bytes(filled_template(loaded, "csv", {"viec-lam": 5, "ty-le": 5}))

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(box, "submit", disk_full)
        with pytest.raises(OSError, match="No space left"):
            run_inbox(loaded, inbox, tmp_path / "var")
    assert [p.name for p in _in_work(inbox)] == [name]
    assert list((inbox / box.REJECTED).iterdir()) == []
    [outcome] = run_inbox(loaded, inbox, tmp_path / "var")
    assert (outcome.name, outcome.outcome) == (name, "processed")
