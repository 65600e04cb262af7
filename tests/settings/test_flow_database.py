"""A flow run on a missing database fails at once with the Vietnamese message, creating
nothing (not "no such table: plans" fifteen seconds in, nor a new empty database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.check_and_escalate import check_and_escalate
from flows.collect_submissions import collect_submissions
from flows.compile_report import compile_report


@pytest.mark.slow  # the Prefect test harness: flows against a Prefect server process
@pytest.mark.parametrize(
    ("flow", "parameters"),
    [
        (compile_report, {"period": 2024}),
        (check_and_escalate, {"as_of": "2024-03-20T08:00"}),
        (collect_submissions, {}),
    ],
)
def test_a_flow_run_on_a_missing_database_fails_saying_to_run_init(
    flow: Any,
    parameters: dict[str, Any],
    prefect_api: None,
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    clean_env.setenv("DONDOC_HOME", str(tmp_path))  # a relative SQLite file and data dir

    state = flow(**parameters, return_state=True)

    assert state.is_failed()
    assert "Chưa có cơ sở dữ liệu của dondoc" in str(state.message)
    assert f"{tmp_path}/dondoc.sqlite3" in str(state.message)
    assert "`dondoc init`" in str(state.message)
    assert list(tmp_path.iterdir()) == []  # no database, no data folder


@pytest.mark.slow  # the flow, run in-process by the command, on the Prefect test harness
def test_dondoc_inbox_on_a_missing_database_says_so_without_a_traceback(
    prefect_api: None, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    clean_env.chdir(tmp_path)
    (tmp_path / "hop-thu").mkdir()
    result = CliRunner().invoke(app, ["inbox", "--dir", "hop-thu"])
    assert result.exit_code == 1, result.output
    assert "Chưa có cơ sở dữ liệu của dondoc" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "dondoc.sqlite3").exists()
