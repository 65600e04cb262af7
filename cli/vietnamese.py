"""Typer's own words (usage line, panel titles, help option, usage errors) said in Vietnamese."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import typer
from pydantic import ValidationError
from typer import rich_utils
from typer._click import exceptions as click_errors  # Typer's own Click (pyproject: >=0.29)
from typer.core import TyperCommand, TyperGroup, TyperOption

from wording.validation import pydantic_reason

# Typer (0.29) carries its own copy of Click without gettext, so a message catalogue would
# translate nothing: its words are replaced here, through the hooks Typer offers (the
# `rich_utils` module constants, the `cls` of commands and groups), and its usage errors are
# said again from their parts. tests/test_cli_vietnamese.py renders each of them.
USAGE = "Cách dùng: "
HELP_OPTION_HELP = "Hiện hướng dẫn này rồi thoát."
COMPLETION_HELP = {
    "install_completion": "Cài gợi ý lệnh (tab) cho shell đang dùng.",
    "show_completion": "In đoạn gợi ý lệnh cho shell đang dùng, để chép hoặc tự cài.",
}
_PANEL_WORDS = {
    "ARGUMENTS_PANEL_TITLE": "Đối số",
    "OPTIONS_PANEL_TITLE": "Tùy chọn",
    "COMMANDS_PANEL_TITLE": "Lệnh",
    "ERRORS_PANEL_TITLE": "Lỗi",
    "ABORTED_TEXT": "Đã dừng.",
    "RICH_HELP": "Xem hướng dẫn: [blue]{command_path} {help_option}[/]",
    "DEFAULT_STRING": "[mặc định: {}]",
    "ENVVAR_STRING": "[biến môi trường: {}]",
    "REQUIRED_LONG_STRING": "[bắt buộc]",
    "DEPRECATED_STRING": "(không còn dùng) ",
}
PARAM_KIND = {"argument": "đối số", "option": "tùy chọn", "parameter": "tham số"}


def install_rich_words() -> None:
    """Typer's panel titles and tags: module constants it reads each time it renders."""
    for name, words in _PANEL_WORDS.items():
        # A constant renamed upstream leaves its English in the help: the CLI test shows it.
        setattr(rich_utils, name, words)


# ---------------------------------------------------------------- usage errors


def _hint(param: Any, param_hint: Sequence[str] | str | None) -> str:
    if param_hint is None and param is not None:
        param_hint = param.get_error_hint()
    if param_hint is None:
        return ""
    return param_hint if isinstance(param_hint, str) else " / ".join(param_hint)


# Typer's and Click's sentences that carry no parts of their own, each said again.
_SENTENCES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Missing command\.?"), lambda m: "Thiếu lệnh."),
    (re.compile(r"No such command '(.*)'\.?"), lambda m: f"Không có lệnh «{m[1]}»."),
    (
        re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)"),
        lambda m: f"Thừa đối số không dùng đến: {m[1]}.",
    ),
    (
        re.compile(r"Option '(.*)' requires an argument\.?"),
        lambda m: f"Tùy chọn {m[1]} cần một giá trị.",
    ),
    (
        re.compile(r"Option '(.*)' requires (\d+) arguments\.?"),
        lambda m: f"Tùy chọn {m[1]} cần {m[2]} giá trị.",
    ),
    (
        re.compile(r"Option '(.*)' does not take a value\.?"),
        lambda m: f"Tùy chọn {m[1]} không nhận giá trị.",
    ),
    (
        re.compile(r"Argument '(.*)' takes (\d+) values\.?"),
        lambda m: f"Đối số {m[1]} cần {m[2]} giá trị.",
    ),
    (
        re.compile(r"(?:Value error, )?'(.*)' is not one of (.*?)\.?"),
        lambda m: f"«{m[1]}» không phải một trong các giá trị {m[2].replace(chr(39), '')}.",
    ),
    (
        re.compile(r"(?:File|Directory|Path) '(.*)' does not exist\."),
        lambda m: f"không có «{m[1]}».",
    ),
    (re.compile(r"(?:File|Path) '(.*)' is a directory\."), lambda m: f"«{m[1]}» là một thư mục."),
    (re.compile(r"(?:Directory|Path) '(.*)' is a file\."), lambda m: f"«{m[1]}» là một tệp."),
    (re.compile(r".* '(.*)' is not readable\."), lambda m: f"không đọc được «{m[1]}»."),
    (re.compile(r".* '(.*)' is not writable\."), lambda m: f"không ghi được vào «{m[1]}»."),
    (re.compile(r"Value must be an iterable\."), lambda m: "cần một danh sách giá trị."),
    (
        re.compile(r"Value (.*) is not a valid (.*)\."),
        lambda m: f"{m[1]} không phải giá trị hợp lệ ({m[2]}).",
    ),
]


def say_sentence(message: str) -> str:
    """One of Typer's fixed sentences in Vietnamese; anything else unchanged."""
    for pattern, words in _SENTENCES:
        match = pattern.fullmatch(message.strip())
        if match:
            return words(match)
    return message


def _choices(param: Any) -> str:
    """The values to choose from, for a parameter with a fixed set of them; else nothing."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or not descriptor.is_choice or not descriptor.choices:
        return ""
    values = ", ".join(str(getattr(c, "value", c)) for c in descriptor.choices)
    return f" Chọn một trong: {values}."


def _bad_value(error: click_errors.BadParameter) -> tuple[str, str]:
    """The value refused (when known) and why, from pydantic's error when Typer kept it."""
    cause = error.__cause__
    if isinstance(cause, ValidationError) and cause.errors():
        first = cause.errors(include_url=False)[0]
        given = first.get("input")
        if first.get("type") == "value_error":  # Typer's own check, e.g. of a choice
            return "", say_sentence(pydantic_reason(first))
        return (f"«{given}» " if isinstance(given, str) and given else ""), pydantic_reason(first)
    return "", say_sentence(error.message)


def said_in_vietnamese(error: click_errors.ClickException) -> str:
    """What a usage error says, in Vietnamese, from its parts (its class and attributes)."""
    if isinstance(error, click_errors.MissingParameter):
        kind = error.param_type or (error.param.param_type_name if error.param else "parameter")
        hint = _hint(error.param, error.param_hint)
        said = f"Thiếu {PARAM_KIND.get(kind, kind)} {hint}.".replace(" .", ".")
        return said + _choices(error.param)
    if isinstance(error, click_errors.BadParameter):
        hint = _hint(error.param, error.param_hint)
        given, reason = _bad_value(error)
        where = f"của {hint} " if hint else ""
        return f"Giá trị {given}{where}không hợp lệ: {reason.rstrip('.')}."
    if isinstance(error, click_errors.NoSuchOption):
        said = f"Không có tùy chọn {error.option_name}."
        if error.possibilities:
            said += f" Có phải là: {', '.join(sorted(error.possibilities))}?"
        return said
    return say_sentence(error.message)


class VietnameseUsageError(click_errors.UsageError):
    """A usage error already said in Vietnamese (translated once, by the innermost group)."""


def _vietnamese(error: Exception) -> Exception:
    if (
        not isinstance(error, click_errors.UsageError)
        or isinstance(error, VietnameseUsageError)
        or type(error).__name__ == "NoArgsIsHelpError"  # Typer shows the help, not an error
    ):
        return error
    said = VietnameseUsageError(said_in_vietnamese(error), ctx=error.ctx)
    said.exit_code = error.exit_code
    return said


# ---------------------------------------------------------------- commands and groups


class _Words:
    """What a Vietnamese command or group changes: its usage prefix and its help option."""

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=USAGE)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option


class VietnameseCommand(_Words, TyperCommand):
    """A command whose framework words are Vietnamese."""


class VietnameseGroup(_Words, TyperGroup):
    """A group whose framework words and usage errors are Vietnamese."""

    def get_params(self, ctx: Any) -> Any:
        params = super().get_params(ctx)
        for param in params:  # the root's shell-completion options, added after __init__
            if isinstance(param, TyperOption) and param.name in COMPLETION_HELP:
                param.help = COMPLETION_HELP[param.name]
        return params

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except click_errors.UsageError as error:
            raise _vietnamese(error) from error

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except click_errors.UsageError as error:
            raise _vietnamese(error) from error


def speak_vietnamese(app: typer.Typer) -> typer.Typer:
    """Give every command and group of `app` (sub-apps too) the Vietnamese classes."""
    install_rich_words()
    if app.info.cls is None or isinstance(app.info.cls, typer.models.DefaultPlaceholder):
        app.info.cls = VietnameseGroup
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):  # Typer's default, not a class of our own
            command.cls = VietnameseCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            speak_vietnamese(group.typer_instance)
    return app
