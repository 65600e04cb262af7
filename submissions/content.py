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
from submissions.errors import FieldError, Invalid
from submissions.values import (
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
    """The last part of a client's file name, without control characters or path tricks."""
    base = PurePath(name.replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f/]", "", unicodedata.normalize("NFC", base)).strip(" .")
    return base[:200] or "tep-dinh-kem"


def _err(errors: list[FieldError], raw: RawSubmission, name: str, code: str, message: str) -> None:
    errors.append(FieldError(name, code, message, raw.where.get(name)))


def check_submission(
    spec: FormSpec, raw: RawSubmission, *, today: date, max_attachment_bytes: int
) -> CheckedSubmission:
    """Every rule of a submission in one place; raises Invalid listing all problems at once."""
    errors: list[FieldError] = []
    values: list[CheckedValue] = []
    for code, given in raw.values.items():
        name = f"values.{code}"
        target = spec.target(code)
        if target is None:
            _err(
                errors, raw, name, "unknown_field", f"Chỉ tiêu «{code}» không có trong báo cáo này."
            )
            continue
        if is_blank(given):
            continue
        try:
            values.append(CheckedValue(target, parse_value(target.kind, given)))
        except ValueProblem as problem:
            _err(errors, raw, name, problem.code, f"{target.name}: {problem.message}")
    given_codes = {v.target.code for v in values}
    for target in spec.targets:
        blank = target.code not in given_codes
        failed = any(e.field == f"values.{target.code}" for e in errors)
        if target.required and blank and not failed:
            _err(
                errors,
                raw,
                f"values.{target.code}",
                "required",
                f"{target.name}: chưa nhập (chỉ tiêu bắt buộc).",
            )

    narrative: dict[str, str] = {}
    for key, given in raw.narrative.items():
        name = f"narrative.{key}"
        section = spec.section_for(str(key))
        if section is None:
            _err(errors, raw, name, "unknown_field", f"Phần «{key}» không có trong báo cáo này.")
            continue
        if is_blank(given):
            continue
        try:
            narrative[section] = parse_text(given, MAX_NARRATIVE)
        except ValueProblem as problem:
            _err(errors, raw, name, problem.code, f"{section}: {problem.message}")
    narrative = {s: narrative[s] for s in spec.sections if s in narrative}

    state: ProgressState | None = None
    note: str | None = None
    on: date | None = None
    progress = raw.progress or {}
    if spec.kind is ItemKind.DELIVERABLE:
        state, note, on = _check_progress(progress, raw, errors, today)
    elif any(not is_blank(v) for v in progress.values()):
        _err(
            errors,
            raw,
            "progress",
            "unknown_field",
            "Báo cáo định kỳ không có mục tình trạng thực hiện.",
        )

    attachments = tuple(raw.attachments)
    if len([a for a in attachments if a.role == "evidence"]) > MAX_ATTACHMENTS:
        _err(errors, raw, "attachments", "too_many", f"Tối đa {MAX_ATTACHMENTS} tệp đính kèm.")
    for upload in attachments:
        if len(upload.data) > max_attachment_bytes:
            _err(
                errors,
                raw,
                "attachments",
                "too_large",
                f"Tệp «{upload.filename}» quá lớn "
                f"(tối đa {max_attachment_bytes // (1024 * 1024)} MB).",
            )
        elif not upload.data and upload.role == "evidence":
            _err(errors, raw, "attachments", "empty_file", f"Tệp «{upload.filename}» rỗng.")

    # Only a submission with nothing in it at all is "empty"; a wrong value has its own error.
    if spec.kind is ItemKind.REPORT and not values and not narrative and not errors:
        errors.append(
            FieldError(
                "values",
                "empty",
                "Báo cáo chưa có số liệu hoặc nội dung nào: "
                "hãy nhập ít nhất một chỉ tiêu hoặc một phần nội dung.",
            )
        )
    if errors:
        raise Invalid(errors)
    return CheckedSubmission(
        values=tuple(sorted(values, key=lambda v: spec.targets.index(v.target))),
        narrative=narrative,
        progress_state=state,
        progress_note=note,
        progress_on=on,
        attachments=attachments,
    )


def _check_progress(
    progress: Mapping[str, Any], raw: RawSubmission, errors: list[FieldError], today: date
) -> tuple[ProgressState | None, str | None, date | None]:
    for key in progress:
        if key not in ("state", "note", "on"):
            _err(errors, raw, f"progress.{key}", "unknown_field", f"Mục «{key}» không hợp lệ.")
    state: ProgressState | None = None
    note: str | None = None
    on: date | None = today
    given_state = progress.get("state")
    if is_blank(given_state):
        choices = ", ".join(f"«{v}»" for v in PROGRESS_VI.values())
        _err(errors, raw, "progress.state", "required", f"Chưa chọn tình trạng ({choices}).")
    else:
        try:
            state = parse_progress_state(given_state)
        except ValueProblem as problem:
            _err(errors, raw, "progress.state", problem.code, problem.message)
    if not is_blank(progress.get("note")):
        try:
            note = parse_text(progress["note"], MAX_NOTE)
        except ValueProblem as problem:
            _err(errors, raw, "progress.note", problem.code, f"Ghi chú: {problem.message}")
    if not is_blank(progress.get("on")):
        try:
            on = parse_day(progress["on"])
        except ValueProblem as problem:
            _err(errors, raw, "progress.on", problem.code, problem.message)
            on = None
        else:
            if on > today:
                _err(
                    errors,
                    raw,
                    "progress.on",
                    "in_future",
                    f"Ngày cập nhật {on:%d/%m/%Y} chưa đến.",
                )
    return state, note, on


def canonical_number(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros, for JSON output."""
    return format(value.normalize(), "f")
