"""The corpus of broken spreadsheets and CSVs (tests/data/broken/) through every way in.

Each file goes to the API upload (real uvicorn), `dondoc submit` and the inbox flow (real
Prefect API). Each must be refused with a structured error in Vietnamese that names what is
wrong (and where, when a cell is at fault), and nothing may be stored: no submission, no
value, no audit row, not one attachment byte.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cli import intake as cli_intake
from cli.main import app
from flows.collect_submissions import collect_submissions
from intake import inbox as box
from settings import get_settings
from tests.support.intake import NOTHING, NOW, Portal, new_token, stored

CORPUS = Path(__file__).parents[1] / "data" / "broken"

# file -> (field, code) of the first problem reported
EXPECTED: dict[str, tuple[str, str]] = {
    "array.json": ("file", "malformed"),
    "blank-lines.csv": ("file", "not_a_template"),
    "bom-only.csv": ("file", "not_a_template"),
    "broken-workbook-xml.xlsx": ("file", "malformed"),
    "docx-renamed.xlsx": ("file", "malformed"),
    "double-bom.csv": ("file", "not_a_template"),
    "empty.csv": ("file", "empty_file"),
    # Cells beyond the form's columns: a CSV's unquoted «67,5» splits into 67 | 5, and a
    # figure in an added column would be dropped; both are refused, naming the cell.
    "extra-columns.csv": ("file", "unknown_field"),
    "extra-columns.xlsx": ("file", "unknown_field"),
    "empty.xlsx": ("file", "empty_file"),
    "encrypted.xlsx": ("file", "unsupported_format"),
    "formula.csv": ("values.viec-lam", "not_a_number"),
    # A formula saved without its computed value (not by Excel) reads as an empty cell.
    "formula.xlsx": ("values.viec-lam", "required"),
    "huge-cell.csv": ("narrative.Kết quả thực hiện", "too_long"),
    "huge-cell.xlsx": ("narrative.Kết quả thực hiện", "too_long"),
    "macro-content-type.xlsx": ("file", "macro_enabled"),
    "macro-enabled.xlsm": ("file", "macro_enabled"),
    "merged-headers.xlsx": ("file", "malformed"),
    "not-a-template.csv": ("file", "not_a_template"),
    "not-a-template.xlsx": ("file", "not_a_template"),
    "not-a-zip.xlsx": ("file", "malformed"),
    "nul-bytes.csv": ("file", "malformed"),
    "old-excel.xls": ("file", "unsupported_format"),
    "png-renamed.csv": ("file", "not_utf8"),
    "report.ods": ("file", "unsupported_format"),
    "report.pdf": ("file", "unsupported_format"),
    "too-many-rows.csv": ("file", "too_many_rows"),
    "truncated.json": ("file", "malformed"),
    "truncated.xlsx": ("file", "malformed"),
    "utf-16.csv": ("file", "not_utf8"),
    "vba-inside.xlsx": ("file", "macro_enabled"),
    "windows-1258.csv": ("file", "not_utf8"),
    "zip-bomb.xlsx": ("file", "malformed"),
    # Hostile or unlucky JSON: each once a crash further on, or half of it silently kept.
    "lone-surrogate.json": ("narrative.Kết quả thực hiện", "invalid_character"),
    "deep.json": ("file", "too_deep"),
    "long-number.json": ("file", "malformed"),
    "not-utf8.json": ("file", "not_utf8"),
    "duplicate-key.json": ("file", "duplicate"),
    "title-and-code.json": ("narrative.ket-qua-thuc-hien", "duplicate"),
    # Characters that look like something else, and rows given twice.
    "c1-control.csv": ("narrative.Kết quả thực hiện", "control_character"),
    "rtl-override.csv": ("narrative.Kết quả thực hiện", "bidi_control"),
    "arabic-digits.csv": ("values.viec-lam", "foreign_digits"),
    "fullwidth-digits.xlsx": ("values.viec-lam", "foreign_digits"),
    "two-periods.csv": ("period", "duplicate"),
    "two-sections.csv": ("narrative.Kết quả thực hiện", "duplicate"),
    # Workbooks costing far more than their size, and zip anomalies.
    "many-cells.xlsx": ("file", "too_many_cells"),
    "far-column.xlsx": ("file", "too_many_columns"),
    "content-types-case.xlsx": ("file", "malformed"),
    "corrupt-deflate.xlsx": ("file", "malformed"),
    "encrypted-entry.xlsx": ("file", "encrypted"),
    "unknown-compression.xlsx": ("file", "malformed"),
}


_VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]")


def _files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_file() and not p.name.endswith(".md"))


def _attachments(data_dir: Path) -> list[Path]:
    folder = data_dir / "attachments"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_every_corpus_file_has_an_expectation() -> None:
    names = {p.name for p in _files()}
    assert names == set(EXPECTED), "describe the new file's refusal here"


def _content_type(name: str) -> str:
    if name.endswith(".xlsx"):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return "text/csv" if name.endswith(".csv") else "application/octet-stream"


def test_the_api_refuses_each_broken_file_and_stores_nothing(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    before = _attachments(portal.settings.data_dir)
    wrong = []
    with portal.client(token) as client:
        for path in _files():
            response = client.post(
                "/api/v1/submissions/upload",
                files={"file": (path.name, path.read_bytes(), _content_type(path.name))},
            )
            body = response.json()
            first = body["error"]["fields"][0] if response.status_code == 422 else {}
            got = (response.status_code, first.get("field"), first.get("code"))
            if got != (422, *EXPECTED[path.name]) or not _VIETNAMESE.search(first["message"]):
                wrong.append((path.name, got, body))
            if path.name.startswith(("formula", "huge-cell", "two-", "c1-", "rtl-", "arabic")):
                assert first["where"].startswith(("ô ", "dòng ")), body  # the cell at fault
    assert wrong == []
    assert stored(portal.engine) == NOTHING
    assert _attachments(portal.settings.data_dir) == before


@pytest.fixture
def cli_db(db_env: Engine, loaded: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """`dondoc` on the loaded test database, its clock at NOW."""
    monkeypatch.setattr(cli_intake, "now", lambda: NOW)
    return db_env


def test_dondoc_submit_refuses_each_broken_file_and_stores_nothing(cli_db: Engine) -> None:
    runner = CliRunner()
    wrong = []
    for path in _files():
        result = runner.invoke(app, ["submit", "--file", str(path)])
        lines = result.stderr.strip().splitlines()
        if (
            result.exit_code != 1
            or not lines
            or not lines[0].startswith("Không tiếp nhận:")
            or not _VIETNAMESE.search(lines[-1])
            or "Traceback" in result.output + result.stderr
        ):
            wrong.append((path.name, result.exit_code, result.stderr, result.stdout))
    assert wrong == []
    assert stored(cli_db) == NOTHING
    assert _attachments(get_settings().data_dir) == []


@pytest.mark.slow  # the Prefect test harness: the inbox flow against a Prefect server process
def test_the_inbox_rejects_each_broken_file_with_a_report_and_stores_nothing(
    cli_db: Engine, prefect_api: None, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    names = [p.name for p in _files()]
    for name in names:
        (inbox / name).write_bytes((CORPUS / name).read_bytes())
    summary = collect_submissions(inbox=str(inbox))
    assert (summary["processed"], summary["rejected"]) == (0, len(names))
    rejected = inbox / box.REJECTED
    for outcome in summary["files"]:
        assert outcome["outcome"] == "rejected", outcome
        report = (rejected / (outcome["name"] + box.REPORT_SUFFIX)).read_text(encoding="utf-8")
        assert _VIETNAMESE.search(report) and "Traceback" not in report, report
        assert (rejected / outcome["name"]).read_bytes() == (CORPUS / outcome["name"]).read_bytes()
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == []
    assert stored(cli_db) == NOTHING
    assert _attachments(get_settings().data_dir) == []
