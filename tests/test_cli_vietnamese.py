"""The CLI speaks Vietnamese: every command's help, Typer's own words and usage errors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from cli.main import app
from cli.vietnamese import say_sentence

# Words of an English sentence; none of them is Vietnamese, a command, an option or a format.
ENGLISH = re.compile(
    r"\b(the|of|and|or|to|for|with|this|is|are|by|from|Usage|Show|Options|Commands|Arguments|"
    r"Error|Missing|Invalid|default|required|Try|help|message|exit|file|unit|period|plan|"
    r"report|token|date|code|print|every|each|only|when|which|not|no|a|an)\b"
)
# What stays as it is: the usage line, command names (first in a row of a panel), options and
# metavars, technical names, example values and commands.
TECHNICAL = re.compile(
    r"(?m)^.*(?:Cách dùng|Xem hướng dẫn): .*$|^│ [\w-]+ |"
    r"--[\w-]+|<[\w|]+>|\[OPTIONS\]|COMMAND \[ARGS\]\.\.\.|\{\w+\}|`[^`]*`|"
    r"\b(?:dondoc|prefect|worker|start|pool|deployment|report|deliverable|commune|town|"
    r"day_off|workday|all|email|zalo_oa|zalo_bot|webhook|xlsx|csv|json|uvicorn|"
    r"collect_submissions|PREFECT_API_URL|YAML|JSON|API|Ctrl-C|Prefect|Work|work pool|"
    r"process|shell|tab|Markdown|DOCX|XLSX|HTML|PDF|TCP|ISO|Zalo OA|Zalo Bot|Webhook)\b"
)


def _commands(
    command: typer.core.TyperGroup | typer.core.TyperCommand, path: tuple[str, ...]
) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, typer.core.TyperGroup):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


ROOT = typer.main.get_command(app)
PATHS = list(_commands(ROOT, ()))
runner = CliRunner()


def _help(path: tuple[str, ...]) -> str:
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_walk_reaches_every_command() -> None:
    names = {" ".join(p) for p in PATHS}
    # The groups and some leaves, so that a walk that stops early fails here.
    assert {"", "plan", "plan validate", "calendar add", "token issue", "period lock"} <= names
    assert len(PATHS) > 25


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "dondoc")
def test_help_is_vietnamese(path: tuple[str, ...]) -> None:
    shown = _help(path)
    assert "Cách dùng: dondoc" in shown
    assert "Tùy chọn" in shown and "Hiện hướng dẫn này rồi thoát." in shown
    left = ENGLISH.findall(TECHNICAL.sub(" ", shown))
    assert not left, f"English words in `dondoc {' '.join(path)} --help`: {left}\n{shown}"


def test_root_help_lists_commands_in_vietnamese() -> None:
    shown = _help(())
    assert "Lệnh" in shown and "Cài gợi ý lệnh" in shown
    assert "Gia hạn nộp cho một việc." in shown
    assert "[mặc định:" in _help(("serve",))
    assert "[bắt buộc]" in _help(("calendar", "add"))
    assert "Đối số" in _help(("plan", "validate"))


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["plan", "validate"], "Thiếu đối số 'path'."),
        (["status"], "Thiếu tùy chọn '--period'."),
        (
            ["calendar", "add", "--date", "2024-01-01", "--reason", "x", "--announcement", "y"],
            "Thiếu tùy chọn '--kind'. Chọn một trong: day_off, workday.",
        ),
        (["status", "--period"], "Tùy chọn --period cần một giá trị."),
        (["status", "--perio", "x"], "Không có tùy chọn --perio. Có phải là: --period?"),
        (["demo", "--seed", "x"], "Giá trị «x» của '--seed' không hợp lệ: phải là số nguyên."),
        (
            ["calendar", "add", "--date", "2024-01-01", "--kind", "bogus"],
            "Giá trị của '--kind' không hợp lệ: «bogus» không phải một trong các giá trị "
            "day_off, workday.",
        ),
        (["nope"], "Không có lệnh «nope»."),
        (["token"], "Thiếu lệnh."),
        (["plan", "validate", "a.yaml", "b"], "Thừa đối số không dùng đến: b."),
        (["dues", "--json=1"], "Tùy chọn --json không nhận giá trị."),
    ],
)
def test_usage_errors_are_vietnamese(args: list[str], said: str) -> None:
    result = runner.invoke(app, args, terminal_width=200)
    assert result.exit_code == 2
    assert said in result.output
    assert "─ Lỗi ─" in result.output
    if "Cách dùng: dondoc" in result.output:  # the command is known: its usage and where to look
        assert "Xem hướng dẫn: dondoc" in result.output
    left = ENGLISH.findall(TECHNICAL.sub(" ", result.output.replace(said, "")))
    assert not left, f"English words after `dondoc {' '.join(args)}`: {left}\n{result.output}"


@pytest.mark.parametrize(
    ("english", "said"),
    [
        ("Option '--out' requires 2 arguments.", "Tùy chọn --out cần 2 giá trị."),
        ("Path 'a.yaml' does not exist.", "không có «a.yaml»."),
        ("File 'x' is a directory.", "«x» là một thư mục."),
        ("Value 'x' is not a valid Foo.", "'x' không phải giá trị hợp lệ (Foo)."),
        ("Một câu đã là tiếng Việt.", "Một câu đã là tiếng Việt."),
    ],
)
def test_typer_sentences_are_said_again(english: str, said: str) -> None:
    assert say_sentence(english) == said
