"""What a submission holds, and the one check every channel runs before anything is stored."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from plans.vocabulary import ItemKind, ProgressState, TargetKind
from submissions.errors import FieldError, Invalid, shown
from submissions.values import (
    BIDI_CONTROLS,
    PROGRESS_VI,
    Value,
    ValueProblem,
    is_blank,
    parse_day,
    parse_progress_state,
    parse_text,
    parse_value,
    slug,
)
from wording.vietnamese import megabytes

MAX_NARRATIVE = 20_000
MAX_NOTE = 5_000
MAX_ATTACHMENTS = 10

# The sections of a Vietnamese report when an ad-hoc request names none.
DEFAULT_SECTIONS = ("Kết quả thực hiện", "Khó khăn, vướng mắc", "Đề xuất, kiến nghị")


@dataclass(frozen=True)
class TargetSpec:
    """One target the form asks for."""

    target_id: int
    code: str
    name: str
    kind: TargetKind
    unit_of_measure: str | None
    required: bool


@dataclass(frozen=True)
class FormSpec:
    """What an item's submission may contain: its targets and narrative sections, or progress."""

    kind: ItemKind
    targets: tuple[TargetSpec, ...] = ()
    sections: tuple[str, ...] = ()

    def section_for(self, key: str) -> str | None:
        """The section a key names: its exact title, or its ASCII slug."""
        wanted = unicodedata.normalize("NFC", key.strip())
        for section in self.sections:
            if wanted in (section, slug(section)) or slug(wanted) == slug(section):
                return section
        return None

    def target(self, code: str) -> TargetSpec | None:
        return next((t for t in self.targets if t.code == code), None)


@dataclass(frozen=True)
class Upload:
    """A file sent along: evidence, or the spreadsheet the values were read from."""

    filename: str
    content_type: str
    data: bytes
    role: str = "evidence"  # or "source": the file a submission was read from

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class RawSubmission:
    """What a channel received, before checking; `where` maps a field to a cell or line."""

    values: Mapping[str, Any] = field(default_factory=dict)
    narrative: Mapping[str, Any] = field(default_factory=dict)
    progress: Mapping[str, Any] | None = None
    attachments: Sequence[Upload] = ()
    where: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckedValue:
    target: TargetSpec
    value: Value


@dataclass(frozen=True)
class CheckedSubmission:
    """A submission that passed every rule, ready to store."""

    values: tuple[CheckedValue, ...]
    narrative: dict[str, str]
    progress_state: ProgressState | None
    progress_note: str | None
    progress_on: date | None
    attachments: tuple[Upload, ...]

    def content_hash(self) -> str:
        """SHA-256 of the content in canonical form: same content, same hash, any channel."""
        canonical = {
            "values": {v.target.code: v.value.canonical() for v in self.values},
            "narrative": self.narrative,
            "progress": [
                self.progress_state.value if self.progress_state else None,
                self.progress_note,
                self.progress_on.isoformat() if self.progress_on else None,
            ],
            "attachments": sorted([a.role, a.filename, a.sha256] for a in self.attachments),
        }
        blob = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def safe_filename(name: str) -> str:
    """The last part of a client's file name, without control characters or path tricks.

    Bidirectional controls go too: with U+202E "baocao\u202excod.exe" shows as
    "baocaoexe.docx"; lone surrogates (which no file system stores) become U+FFFD.
    """
    base = PurePath(shown(name).replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f-\x9f/]", "", unicodedata.normalize("NFC", base))
    base = BIDI_CONTROLS.sub("", base).strip(" .")
    return base[:200] or "tep-dinh-kem"


class _Problems:
    """The problems found so far, each with the cell or line the channel read its field from."""

    def __init__(self, raw: RawSubmission) -> None:
        self.raw = raw
        self.found: list[FieldError] = []

    def add(self, name: str, code: str, message: str) -> None:
        self.found.append(FieldError(name, code, message, self.raw.where.get(name)))

    def about(self, name: str) -> bool:
        return any(e.field == name for e in self.found)


def check_submission(
    spec: FormSpec, raw: RawSubmission, *, today: date, max_attachment_bytes: int
) -> CheckedSubmission:
    """Every rule of a submission in one place; raises Invalid listing all problems at once."""
    problems = _Problems(raw)
    values = _check_values(spec, raw.values, problems)
    narrative = _check_narrative(spec, raw.narrative, problems)
    state, note, on = _check_progress(spec, raw.progress or {}, problems, today)
    attachments = tuple(raw.attachments)
    _check_attachments(attachments, problems, max_attachment_bytes)
    # Only a submission with nothing in it at all is "empty"; a wrong value has its own error.
    if spec.kind is ItemKind.REPORT and not values and not narrative and not problems.found:
        problems.found.append(
            FieldError(
                "values",
                "empty",
                "Báo cáo chưa có số liệu hoặc nội dung nào: "
                "hãy nhập ít nhất một chỉ tiêu hoặc một phần nội dung.",
            )
        )
    if problems.found:
        raise Invalid(problems.found)
    return CheckedSubmission(
        values=values,
        narrative=narrative,
        progress_state=state,
        progress_note=note,
        progress_on=on,
        attachments=attachments,
    )


def _check_values(
    spec: FormSpec, given: Mapping[str, Any], problems: _Problems
) -> tuple[CheckedValue, ...]:
    """The values read by their target's kind, in the form's order; required ones present."""
    values: list[CheckedValue] = []
    for code, value in given.items():
        name = f"values.{code}"
        target = spec.target(code)
        if target is None:
            problems.add(name, "unknown_field", f"Chỉ tiêu «{code}» không có trong báo cáo này.")
        elif not is_blank(value):
            try:
                values.append(CheckedValue(target, parse_value(target.kind, value)))
            except ValueProblem as problem:
                problems.add(name, problem.code, f"{target.name}: {problem.message}")
    given_codes = {v.target.code for v in values}
    for target in spec.targets:
        name = f"values.{target.code}"
        if target.required and target.code not in given_codes and not problems.about(name):
            problems.add(name, "required", f"{target.name}: chưa nhập (chỉ tiêu bắt buộc).")
    return tuple(sorted(values, key=lambda v: spec.targets.index(v.target)))


def _check_narrative(
    spec: FormSpec, given: Mapping[str, Any], problems: _Problems
) -> dict[str, str]:
    """The narrative by the form's section titles, in the form's order."""
    narrative: dict[str, str] = {}
    keyed: dict[str, str] = {}  # section -> the key it was given under
    for key, text in given.items():
        name = f"narrative.{key}"
        section = spec.section_for(str(key))
        if section is None:
            problems.add(name, "unknown_field", f"Phần «{key}» không có trong báo cáo này.")
            continue
        if section in keyed:
            # «Kết quả thực hiện» and «ket-qua-thuc-hien» both given: one would overwrite
            # the other, so neither is taken.
            problems.add(
                name,
                "duplicate",
                f"Phần «{section}» được ghi hai lần («{keyed[section]}» và «{key}»).",
            )
            continue
        keyed[section] = str(key)
        if not is_blank(text):
            try:
                narrative[section] = parse_text(text, MAX_NARRATIVE)
            except ValueProblem as problem:
                problems.add(name, problem.code, f"{section}: {problem.message}")
    return {s: narrative[s] for s in spec.sections if s in narrative}


def _check_attachments(
    attachments: tuple[Upload, ...], problems: _Problems, max_attachment_bytes: int
) -> None:
    if len([a for a in attachments if a.role == "evidence"]) > MAX_ATTACHMENTS:
        problems.add("attachments", "too_many", f"Tối đa {MAX_ATTACHMENTS} tệp đính kèm.")
    for upload in attachments:
        if len(upload.data) > max_attachment_bytes:
            problems.add(
                "attachments",
                "too_large",
                f"Tệp «{upload.filename}» quá lớn (tối đa {megabytes(max_attachment_bytes)}).",
            )
        elif not upload.data and upload.role == "evidence":
            problems.add("attachments", "empty_file", f"Tệp «{upload.filename}» rỗng.")


Progress = tuple[ProgressState | None, str | None, date | None]


def _check_progress(
    spec: FormSpec, progress: Mapping[str, Any], problems: _Problems, today: date
) -> Progress:
    """A deliverable's state, note and date; a report has none."""
    if spec.kind is not ItemKind.DELIVERABLE:
        if any(not is_blank(v) for v in progress.values()):
            problems.add(
                "progress",
                "unknown_field",
                "Báo cáo định kỳ không có mục tình trạng thực hiện.",
            )
        return None, None, None
    for key in progress:
        if key not in ("state", "note", "on"):
            problems.add(f"progress.{key}", "unknown_field", f"Mục «{key}» không hợp lệ.")
    return (
        _progress_state(progress.get("state"), problems),
        _progress_note(progress.get("note"), problems),
        _progress_on(progress.get("on"), problems, today),
    )


def _progress_state(given: Any, problems: _Problems) -> ProgressState | None:
    if is_blank(given):
        choices = ", ".join(f"«{v}»" for v in PROGRESS_VI.values())
        problems.add("progress.state", "required", f"Chưa chọn tình trạng ({choices}).")
        return None
    try:
        return parse_progress_state(given)
    except ValueProblem as problem:
        problems.add("progress.state", problem.code, problem.message)
        return None


def _progress_note(given: Any, problems: _Problems) -> str | None:
    if is_blank(given):
        return None
    try:
        return parse_text(given, MAX_NOTE)
    except ValueProblem as problem:
        problems.add("progress.note", problem.code, f"Ghi chú: {problem.message}")
        return None


def _progress_on(given: Any, problems: _Problems, today: date) -> date | None:
    """The day of the update: today when not given, never in the future."""
    if is_blank(given):
        return today
    try:
        on = parse_day(given)
    except ValueProblem as problem:
        problems.add("progress.on", problem.code, problem.message)
        return None
    if on > today:
        problems.add("progress.on", "in_future", f"Ngày cập nhật {on:%d/%m/%Y} chưa đến.")
    return on


def canonical_number(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros, for JSON output."""
    return format(value.normalize(), "f")
