"""Reading values the way Vietnamese users write them, and the submission rules (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from plans.vocabulary import ItemKind, TargetKind
from submissions.content import (
    FormSpec,
    RawSubmission,
    TargetSpec,
    Upload,
    check_submission,
    safe_filename,
)
from submissions.errors import Invalid
from submissions.values import (
    PercentCell,
    ValueProblem,
    display,
    parse_count,
    parse_day,
    parse_flag,
    parse_percent,
    parse_progress_state,
    slug,
)

TODAY = date(2024, 4, 20)
SPEC = FormSpec(
    kind=ItemKind.REPORT,
    targets=(
        TargetSpec(1, "viec-lam", "Tạo việc làm mới", TargetKind.COUNT, "lao động", True),
        TargetSpec(2, "ty-le", "Tỷ lệ qua đào tạo", TargetKind.PERCENT, "%", False),
    ),
    sections=("Kết quả thực hiện", "Khó khăn, vướng mắc"),
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1300", 1300),
        ("1.300", 1300),
        ("1.300.000", 1_300_000),
        ("1 300", 1300),
        ("1\u00a0300", 1300),
        (1300, 1300),
        (1300.0, 1300),
        ("0", 0),
    ],
)
def test_counts(raw: Any, expected: int) -> None:
    assert parse_count(raw) == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("-5", "negative"),
        (-1, "negative"),
        ("12,5", "not_integer"),
        ("nhiều", "not_a_number"),
        ("1,300", "not_integer"),  # Vietnamese: one point three
        ("1.30", "not_integer"),  # a machine's decimal point
        (True, "not_a_number"),
        (float("nan"), "not_a_number"),
        ("1e5", "not_a_number"),
        ("10000000000000", "too_large"),
    ],
)
def test_bad_counts(raw: Any, code: str) -> None:
    with pytest.raises(ValueProblem) as problem:
        parse_count(raw)
    assert problem.value.code == code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("67,5", "67.5"),
        ("67,5%", "67.5"),
        ("67.5", "67.5"),
        (67.5, "67.5"),
        ("100", "100"),
        ("0", "0"),
        (" 3,25 % ", "3.25"),
    ],
)
def test_percentages(raw: Any, expected: str) -> None:
    assert parse_percent(raw) == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("100,5", "out_of_range"),
        ("120", "out_of_range"),
        ("-1", "out_of_range"),
        ("67.500", "out_of_range"),  # dots group thousands: sixty-seven thousand five hundred
        ("0,1234567", "too_precise"),
        ("khoảng 60", "not_a_number"),
    ],
)
def test_bad_percentages(raw: Any, code: str) -> None:
    with pytest.raises(ValueProblem) as problem:
        parse_percent(raw)
    assert problem.value.code == code


def test_out_of_range_message_shows_the_value_the_vietnamese_way() -> None:
    with pytest.raises(ValueProblem) as problem:
        parse_percent("67.500")
    assert problem.value.message == "Tỷ lệ phải từ 0 đến 100 (đã nhập 67.500)."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Có", True), ("có", True), ("x", True), (1, True), ("Không", False), ("khong", False)],
)
def test_yes_no(raw: Any, expected: bool) -> None:
    assert parse_flag(raw) is expected


def test_yes_no_refuses_anything_else() -> None:
    with pytest.raises(ValueProblem) as problem:
        parse_flag("có lẽ")
    assert problem.value.code == "not_yes_no"


def test_dates_and_states_in_vietnamese() -> None:
    assert parse_day("20/04/2024") == date(2024, 4, 20)
    assert parse_day("2024-04-20") == date(2024, 4, 20)
    with pytest.raises(ValueProblem):
        parse_day("31/02/2024")
    assert parse_progress_state("Hoàn thành").value == "done"
    assert parse_progress_state("dang-thuc-hien").value == "in_progress"
    assert slug("Khó khăn, vướng mắc") == "kho-khan-vuong-mac"
    assert slug("Đề xuất, kiến nghị") == "de-xuat-kien-nghi"


def test_display() -> None:
    count = parse_count("1300")
    assert display(TargetKind.COUNT, _value(number=count)) == "1.300"
    assert display(TargetKind.PERCENT, _value(number=Decimal("67.5"))) == "67,5%"
    assert display(TargetKind.YES_NO, _value(flag=False)) == "Không"


def _value(**kw: Any) -> Any:
    from submissions.values import Value

    return Value(**kw)


def _check(raw: RawSubmission, spec: FormSpec = SPEC) -> Any:
    return check_submission(spec, raw, today=TODAY, max_attachment_bytes=100)


def test_a_report_collects_every_problem_at_once() -> None:
    with pytest.raises(Invalid) as refused:
        _check(
            RawSubmission(
                values={"ty-le": "101", "la": 1},
                narrative={"Phần lạ": "x"},
                where={"values.ty-le": "ô F8"},
            )
        )
    found = {(f.field, f.code, f.where) for f in refused.value.fields}
    assert found == {
        ("values.ty-le", "out_of_range", "ô F8"),
        ("values.la", "unknown_field", None),
        ("narrative.Phần lạ", "unknown_field", None),
        ("values.viec-lam", "required", None),
    }
    assert refused.value.message == "Báo cáo chưa hợp lệ: 4 lỗi cần sửa."


def test_nothing_at_all_is_not_a_report() -> None:
    narrative_only = FormSpec(kind=ItemKind.REPORT, sections=SPEC.sections)
    with pytest.raises(Invalid) as refused:
        _check(RawSubmission(narrative={"Kết quả thực hiện": "   "}), narrative_only)
    assert [f.code for f in refused.value.fields] == ["empty"]
    checked = _check(RawSubmission(narrative={"kho-khan-vuong-mac": "Thiếu vốn"}), narrative_only)
    assert checked.narrative == {"Khó khăn, vướng mắc": "Thiếu vốn"}


def test_the_content_hash_is_the_same_for_the_same_reading() -> None:
    one = _check(RawSubmission(values={"viec-lam": "1.300", "ty-le": "67,5"}))
    two = _check(RawSubmission(values={"viec-lam": 1300, "ty-le": 67.5}))
    three = _check(RawSubmission(values={"viec-lam": 1301, "ty-le": 67.5}))
    assert one.content_hash() == two.content_hash() != three.content_hash()
    with_file = _check(
        RawSubmission(
            values={"viec-lam": 1300, "ty-le": 67.5},
            attachments=[Upload("a.pdf", "application/pdf", b"x")],
        )
    )
    assert with_file.content_hash() != two.content_hash()


def test_deliverable_progress_rules() -> None:
    spec = FormSpec(kind=ItemKind.DELIVERABLE)
    checked = _check(RawSubmission(progress={"state": "done", "note": " Xong "}), spec)
    assert (checked.progress_state, checked.progress_note, checked.progress_on) == (
        parse_progress_state("done"),
        "Xong",
        TODAY,
    )
    with pytest.raises(Invalid) as refused:
        _check(
            RawSubmission(
                values={"viec-lam": 1},
                progress={"state": "gần xong", "on": "21/04/2024", "when": "x"},
                attachments=[Upload("big.pdf", "application/pdf", b"x" * 101)],
            ),
            spec,
        )
    assert {(f.field, f.code) for f in refused.value.fields} == {
        ("values.viec-lam", "unknown_field"),
        ("progress.state", "not_a_state"),
        ("progress.on", "in_future"),
        ("progress.when", "unknown_field"),
        ("attachments", "too_large"),
    }


def test_file_names_from_clients_are_made_safe() -> None:
    assert safe_filename("C:\\Users\\lan\\bao cao.xlsx") == "bao cao.xlsx"
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("..") == "tep-dinh-kem"
    # The right-to-left override would show "baocao\u202excod.exe" as "baocaoexe.docx".
    assert safe_filename("baocao\u202excod.exe") == "baocaoxcod.exe"
    assert safe_filename("bao\u0085cao\u200f.pdf") == "baocao.pdf"  # C1 and bidi marks go
    assert safe_filename("bc\ud800.csv") == "bc\ufffd.csv"  # storable in any file system


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("١٣٠٠", "foreign_digits"),  # Arabic-Indic: Decimal() and \d would read 1300
        ("۱۳۰۰", "foreign_digits"),  # Extended Arabic-Indic (Persian)
        ("１３００", "foreign_digits"),  # full-width, as an IME types them
        ("1.３00", "foreign_digits"),
        ("१२", "foreign_digits"),  # Devanagari
    ],
)
def test_digits_of_other_scripts_are_refused_saying_why(raw: str, code: str) -> None:
    for parse in (parse_count, parse_percent):
        with pytest.raises(ValueProblem) as refused:
            parse(raw)
        assert refused.value.code == code
        assert "0–9" in refused.value.message and raw in refused.value.message


def test_digits_of_other_scripts_are_not_dates() -> None:
    with pytest.raises(ValueProblem):
        parse_day("٢٠/٠٣/٢٠٢٤")


@pytest.mark.parametrize(
    ("text", "code", "shown"),
    [
        ("Đã làm\x85 xong", "control_character", "U+0085"),  # C1: cp1258 bytes read as Latin-1
        ("Đã làm\x9f xong", "control_character", "U+009F"),
        ("Đã làm\x07 xong", "control_character", "U+0007"),
        ("Đã làm \u202exong", "bidi_control", "U+202E"),  # right-to-left override
        ("Đã làm \u2067xong\u2069", "bidi_control", "U+2067"),
        ("Đã làm \u200fxong", "bidi_control", "U+200F"),
        ("Đã làm \ud800", "invalid_character", "UTF-16"),  # JSON's "\ud800"
    ],
)
def test_texts_with_characters_that_hide_or_break_are_refused(
    text: str, code: str, shown: str
) -> None:
    raw = RawSubmission(values={"viec-lam": 5}, narrative={"Kết quả thực hiện": text})
    with pytest.raises(Invalid) as refused:
        check_submission(SPEC, raw, today=TODAY, max_attachment_bytes=1)
    (problem,) = refused.value.fields
    assert (problem.field, problem.code) == ("narrative.Kết quả thực hiện", code)
    assert shown in problem.message and problem.message.startswith("Kết quả thực hiện: ")


def test_tabs_newlines_and_vietnamese_pass_the_character_check() -> None:
    text = "Kết quả:\r\n\t- Đạt 67,5% «kế hoạch»; ổ dịch: 0 — tốt."
    raw = RawSubmission(values={"viec-lam": 5}, narrative={"Kết quả thực hiện": text})
    checked = check_submission(SPEC, raw, today=TODAY, max_attachment_bytes=1)
    assert checked.narrative["Kết quả thực hiện"] == text.replace("\r\n", "\n")


def test_a_section_given_by_its_title_and_by_its_code_is_refused() -> None:
    raw = RawSubmission(
        values={"viec-lam": 5},
        narrative={"Kết quả thực hiện": "Bản một.", "ket-qua-thuc-hien": "Bản hai."},
    )
    with pytest.raises(Invalid) as refused:
        check_submission(SPEC, raw, today=TODAY, max_attachment_bytes=1)
    (problem,) = refused.value.fields
    assert (problem.field, problem.code) == ("narrative.ket-qua-thuc-hien", "duplicate")
    assert "«Kết quả thực hiện» và «ket-qua-thuc-hien»" in problem.message


def test_a_percent_cell_is_read_as_its_percentage_only_for_a_percent_target() -> None:
    assert parse_percent(PercentCell(Decimal("67.5"))) == Decimal("67.5")
    with pytest.raises(ValueProblem) as refused:
        parse_count(PercentCell(Decimal("67.5")))
    assert refused.value.code == "percent_cell" and "67,5%" in refused.value.message
