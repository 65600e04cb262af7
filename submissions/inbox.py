"""The inbox folder: claim files by atomic rename, finish them into processed/ or rejected/.

A file is always in exactly one place: inbox/, work/<claim>/, processed/ or rejected/. Each
move is one rename on the same file system, so a run killed at any instant loses nothing; the
next run finishes what it finds in work/ first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from submissions.errors import FieldError

WORK = "work"
PROCESSED = "processed"
REJECTED = "rejected"
REPORT_SUFFIX = ".loi.txt"  # the Vietnamese error report beside a rejected file
RECEIPT_SUFFIX = ".bien-nhan.txt"  # the receipt beside a processed file

# Files still being written by their sender, or an editor's lock file: left alone.
_IGNORED_PREFIXES = (".", "~$")
_IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial")


LOCK = ".lock"  # in work/, where only dondoc writes


@contextlib.contextmanager
def exclusive(inbox: Path) -> Iterator[bool]:
    """Hold the inbox for one run; yields False when another run holds it.

    Without it, a run started while another is working would take the other's claims for a
    killed run's leftovers. The operating system releases the lock when a process dies.
    """
    ensure_folders(inbox)
    with open(inbox / WORK / LOCK, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_folders(inbox: Path) -> None:
    for name in (WORK, PROCESSED, REJECTED):
        (inbox / name).mkdir(parents=True, exist_ok=True)


def _wanted(path: Path) -> bool:
    name = path.name
    return (
        path.is_file()
        and not name.startswith(_IGNORED_PREFIXES)
        and not name.casefold().endswith(_IGNORED_SUFFIXES)
    )


def waiting(inbox: Path) -> list[Path]:
    """Files dropped in the inbox, oldest name first."""
    return sorted(p for p in inbox.iterdir() if _wanted(p))


def leftovers(inbox: Path) -> list[Path]:
    """Files a killed run claimed but did not finish; empty claim folders are removed."""
    found: list[Path] = []
    for claim in sorted((inbox / WORK).iterdir()):
        if not claim.is_dir():
            continue
        files = [p for p in claim.iterdir() if p.is_file()]
        if files:
            found += sorted(files)
        else:
            claim.rmdir()
    return found


def claim(path: Path, inbox: Path) -> Path | None:
    """Move a waiting file into its own work/<claim>/ folder; None if another run took it."""
    folder = inbox / WORK / uuid.uuid4().hex
    folder.mkdir()
    target = folder / path.name
    try:
        os.rename(path, target)
    except FileNotFoundError:
        folder.rmdir()
        return None
    return target


def _free_name(folder: Path, name: str) -> Path:
    """`name` in folder, or "name (2)", "name (3)"... when a file of that name is there."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem} ({n}){suffix}"
        n += 1
    return candidate


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def finish(path: Path, inbox: Path, outcome: str, note: str) -> Path:
    """Write the note beside the destination, then move the file there (the last step)."""
    destination = _free_name(inbox / outcome, path.name)
    suffix = REPORT_SUFFIX if outcome == REJECTED else RECEIPT_SUFFIX
    _write_atomically(destination.with_name(destination.name + suffix), note)
    os.rename(path, destination)
    with contextlib.suppress(OSError):  # the emptied claim folder; a later run removes it else
        path.parent.rmdir()
    return destination


def address_from_name(name: str) -> tuple[str | None, str | None, str | None]:
    """(unit, obligation, period) from "unit__obligation__period.xlsx" or "unit__obligation.csv".

    Any other name gives (None, None, None): the template's header must then say it.
    """
    parts = Path(name).stem.split("__")
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1], None
    return None, None, None


def rejection_report(name: str, when: str, message: str, fields: Iterable[FieldError]) -> str:
    """The Vietnamese note written beside a rejected file."""
    lines = [
        "BÁO CÁO KHÔNG ĐƯỢC TIẾP NHẬN",
        "",
        f"Tệp: {name}",
        f"Xử lý lúc: {when} (giờ Việt Nam)",
        f"Lý do: {message}",
    ]
    details = [f"  - {f.render()}" for f in fields if f.render() != message]
    if details:
        lines += ["Chi tiết:", *details]
    lines += [
        "",
        "Cách xử lý: sửa tệp theo các lỗi trên rồi đặt lại vào thư mục nhận tệp.",
        "Tên tệp nên theo dạng <mã đơn vị>__<mã báo cáo>__<kỳ báo cáo>.xlsx, ví dụ",
        "xa-mot__bao-cao-thang__2024-04.xlsx; mẫu lấy bằng lệnh «dondoc template».",
        "",
    ]
    return "\n".join(lines)


def receipt_note(
    name: str, when: str, receipt_no: str, version: int, unit: str, title: str, replayed: bool
) -> str:
    """The Vietnamese note written beside a processed file."""
    lines = [
        "ĐÃ TIẾP NHẬN BÁO CÁO",
        "",
        f"Tệp: {name}",
        f"Xử lý lúc: {when} (giờ Việt Nam)",
        f"Số biên nhận: {receipt_no} (lần gửi {version})",
        f"Đơn vị: {unit}",
        f"Báo cáo: {title}",
    ]
    if replayed:
        lines.append("Tệp này trùng với tệp đã nhận trước đó: không lưu thêm bản mới.")
    return "\n".join([*lines, ""])
