"""No command but `dondoc init` (and the demo) creates dondoc's database: on a missing or
empty one each refuses in Vietnamese, naming the database and `dondoc init`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import make_url
from typer.testing import CliRunner

from cli.main import app
from models.db import DatabaseMissing, open_database, where

runner = CliRunner()


def test_a_missing_sqlite_file_is_refused_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "dondoc.sqlite3"
    with pytest.raises(DatabaseMissing) as refused:
        open_database(f"sqlite:///{path}")
    assert "Chưa có cơ sở dữ liệu" in str(refused.value)
    assert str(path) in str(refused.value) and "`dondoc init`" in str(refused.value)
    assert not path.exists()


def test_a_database_without_dondocs_tables_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    sqlite3.connect(path).close()  # an empty file: what a run in the wrong folder left
    with pytest.raises(DatabaseMissing, match="chưa có bảng nào của dondoc"):
        open_database(f"sqlite:///{path}")


def test_a_server_database_is_named_without_its_password() -> None:
    named = where(make_url("postgresql+psycopg://dondoc:s3cret-pw@db.local:5432/dondoc"))
    assert "s3cret-pw" not in named and "db.local:5432/dondoc" in named


def test_commands_refuse_and_init_creates(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.chdir(tmp_path)  # the home: a relative SQLite file lands here
    database = tmp_path / "dondoc.sqlite3"

    for command in (
        ["dues"],
        ["status", "--period", "2024-Q1"],
        ["compile", "--period", "2024", "--format", "json"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, (command, result.output)
        assert "Chưa có cơ sở dữ liệu của dondoc" in result.output, (command, result.output)
        assert "dondoc init" in result.output
        assert not database.exists(), command

    # The calendar is useful without a database: the law's days off, no file created.
    assert runner.invoke(app, ["calendar", "--year", "2026"]).exit_code == 0
    assert not database.exists()

    assert runner.invoke(app, ["init"]).exit_code == 0
    assert database.is_file()
    # A bare init creates the database and loads no plan (issue 14): the sample only when asked.
    assert runner.invoke(app, ["dues", "--json", "--unit", "xa-gia-cat"]).output == "[]\n"
    assert runner.invoke(app, ["init", "--sample"]).exit_code == 0
    result = runner.invoke(app, ["dues", "--json", "--unit", "xa-gia-cat"])
    assert result.exit_code == 0, result.output
    assert '"period": "2024-Q1"' in result.output
