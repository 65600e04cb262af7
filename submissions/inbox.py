"""The inbox's rules: a file's address from its name, and the Vietnamese notes left beside it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from submissions.errors import FieldError


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


def unexpected_failure(incident: str) -> str:
    """Why a file was rejected when reading or storing it failed in an unforeseen way."""
    return (
        "Không xử lý được tệp do nội dung bất thường hoặc một lỗi của hệ thống "
        f"(mã sự cố {incident}); chưa lưu gì từ tệp này. Hãy mở tệp, lưu lại theo mẫu rồi đặt "
        "lại vào thư mục nhận tệp; nếu vẫn bị từ chối, báo quản trị viên kèm mã sự cố."
    )


def receipt_note(
    name: str,
    when: str,
    receipt_no: str,
    version: int,
    unit: str,
    title: str,
    replayed: bool,
    warnings: Sequence[str] = (),
) -> str:
    """The Vietnamese note written beside a processed file, with the receipt's warnings."""
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
        lines.append("Nội dung trùng với lần gửi mới nhất đã nhận: không lưu thêm bản mới.")
    lines += [f"Lưu ý: {w}" for w in warnings]
    return "\n".join([*lines, ""])
