"""`dondoc compile`: files, the summary table, clear errors, sending."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cli.main import app
from demo.sinks import SmtpServer, free_port
from models.db import transaction
from tests.support.reports import load_cao_loc, seed_cao_loc_q1

runner = CliRunner()
AS_OF = "2024-03-20T08:00"


def test_compile_writes_the_files_and_shows_the_table(db_env: Engine, tmp_path: Path) -> None:
    seed_cao_loc_q1(db_env)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["compile", "--period", "2024-Q1", "--format", "docx,json,md", "--out", str(out),
         "--as-of", AS_OF, "--number", "5", "--date", "2024-03-21",
         "--recipient", "UBND tỉnh Lạng Sơn", "--recipient", "Sở LĐTBXH"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    stem = "bao-cao-cao-loc-2024-ldtbxh-2024-Q1"
    assert names == [f"{stem}-bieu-do.png", f"{stem}.docx", f"{stem}.json", f"{stem}.md"]
    data = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))
    assert data["header"]["number"] == "Số: 05/BC-UBND"
    assert data["header"]["place_date"] == "Cao Lộc, ngày 21 tháng 3 năm 2024"
    assert data["compiled_at"] == "2024-03-20T01:00:00+00:00"
    assert data["distribution"] == ["- UBND tỉnh Lạng Sơn;", "- Sở LĐTBXH;", "- Lưu: VT."]
    shown = " ".join(result.output.split())  # the table wraps to the terminal's width
    assert "STT" in shown and "% so KH" in shown and "│ 293 │ 293 │ 22,5% │" in shown


def test_compile_defaults_to_every_format_in_the_data_folder(
    db_env: Engine, tmp_path: Path
) -> None:
    seed_cao_loc_q1(db_env)
    result = runner.invoke(app, ["compile", "--period", "2024", "--as-of", "2025-01-10"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "var" / "reports" / "2024"  # db_env's DONDOC_DATA_DIR
    assert {p.suffix for p in folder.iterdir()} == {
        ".docx",
        ".xlsx",
        ".html",
        ".md",
        ".json",
        ".png",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2024-Q5"], "'2024-Q5' không phải một kỳ báo cáo"),
        (["--period", "2024-Q1", "--format", "docx,pdf"], "không có định dạng pdf"),
        (["--period", "2023-Q1"], "Chưa nạp kế hoạch nào của năm 2023"),
        (["--period", "2024-Q1", "--number", "năm"], "phải là chữ số"),
        (["--period", "2024-Q1", "--date", "21/03/2024"], "không phải một ngày"),
        (["--period", "2024-Q1", "--as-of", "2999-01-01"], "chưa tới"),
        (
            ["--period", "2024-Q1", "--as-of", "2024-09-03", "--date", "2024-06-23"],
            "Ngày văn bản 23/06/2024 đứng trước thời điểm tổng hợp",
        ),
    ],
)
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # checks before any query
def test_bad_input_is_a_clear_error_and_writes_nothing(
    db_env: Engine, tmp_path: Path, args: list[str], message: str
) -> None:
    with transaction(db_env) as session:
        load_cao_loc(session)
    out = tmp_path / "out"
    result = runner.invoke(app, ["compile", *args, "--out", str(out)])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_send_emails_the_files(
    db_env: Engine, smtp_server: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    inbox, _ = smtp_server
    seed_cao_loc_q1(db_env)
    result = runner.invoke(
        app,
        ["compile", "--period", "2024-Q1", "--format", "xlsx", "--out", str(tmp_path),
         "--as-of", AS_OF, "--send"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(inbox.messages) == 3  # the signer, the chairman, the committee's address
    (attachment,) = list(inbox.messages[0][1].iter_attachments())
    assert attachment.get_filename() == "bao-cao-cao-loc-2024-ldtbxh-2024-Q1.xlsx"
    assert "nguyen-van-thinh@caoloc.example" in result.output


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_failed_send_says_the_files_are_written(
    db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from settings import get_settings

    monkeypatch.setenv("DONDOC_SMTP__PORT", str(free_port()))  # nothing listens there
    get_settings.cache_clear()
    seed_cao_loc_q1(db_env)
    result = runner.invoke(
        app,
        ["compile", "--period", "2024-Q1", "--format", "json", "--out", str(tmp_path),
         "--as-of", AS_OF, "--send"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"đã ghi các tệp vào {tmp_path}" in " ".join(result.output.split())
    assert (tmp_path / "bao-cao-cao-loc-2024-ldtbxh-2024-Q1.json").exists()
