"""The report's content: header, sections, narratives, late and missing units, placeholders."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from models import DueItem, Submission
from models.db import transaction
from reports.content import build_report
from reports.document import PLACEHOLDER, Block, Para, ParaKind, Part, Report, ReportError
from reports.heading import report_number
from schedules.periods import Period
from tests.support.reports import Q1_AS_OF, SILENT_COMMUNES, load_cao_loc


def part(report: Report, *path: str) -> Part:
    """The part whose headings start with each of `path` in turn, e.g. ("I.", "2.", "b)")."""
    blocks: tuple[Block, ...] = report.body
    found = None
    for prefix in path:
        found = next(b for b in blocks if isinstance(b, Part) and b.heading.startswith(prefix))
        blocks = found.blocks
    assert found is not None
    return found


def texts(p: Part) -> list[str]:
    out = []
    for b in p.blocks:
        if isinstance(b, Para):
            out.append(b.display)
        elif isinstance(b, Part):
            out += [b.heading, *texts(b)]
    return out


def test_header_follows_the_decree(q1_report: Report) -> None:
    r = q1_report
    assert r.agency_lines == ("ỦY BAN NHÂN DÂN", "HUYỆN CAO LỘC")
    assert r.number_line == "Số: 05/BC-UBND"
    assert r.place_date == "Cao Lộc, ngày 20 tháng 3 năm 2024"
    assert r.title == "BÁO CÁO"
    assert r.summary == (
        "Kết quả triển khai, thực hiện nhiệm vụ trọng tâm năm 2024 (Lĩnh vực Lao động, "
        "Thương binh, Xã hội - Dân tộc) quý I năm 2024"
    )
    assert r.signer_title_lines == ("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")
    assert r.signer_name == "Nguyễn Văn Thịnh"
    assert r.distribution[0] == "- UBND tỉnh;"
    assert r.distribution[-1] == "- Lưu: VT."
    assert all(e.endswith(";") for e in r.distribution[:-1])
    opening = r.body[0]
    assert isinstance(opening, Para)
    # The plan gives no number, and its issue date is sample data: both left for the office.
    assert opening.text.startswith(
        "Thực hiện Kế hoạch số …/KH-UBND ngày … của Ủy ban nhân dân huyện Cao Lộc về việc"
    )
    assert "25/01/2024" not in opening.text
    assert r.governing_body == ""
    window = r.body[1]
    assert isinstance(window, Para)
    assert "từ ngày 15/12/2023 đến ngày 14/03/2024" in window.text
    assert "08 giờ 00 phút, ngày 20/03/2024" in window.text


def test_the_number_is_given_or_left_blank_never_invented() -> None:
    assert report_number(None, "UBND") == "Số:      /BC-UBND"
    assert report_number("  ", "UBND") == "Số:      /BC-UBND"
    assert report_number("5", "UBND") == "Số: 05/BC-UBND"
    assert report_number("123", "UBND") == "Số: 123/BC-UBND"
    with pytest.raises(ReportError, match="chữ số"):
        report_number("5a", "UBND")


def test_sections_tasks_and_figures(q1_report: Report) -> None:
    headings = [p.heading for p in q1_report.parts()]
    assert headings == [
        "I. KẾT QUẢ THỰC HIỆN",
        "II. TỒN TẠI, HẠN CHẾ VÀ NGUYÊN NHÂN",
        "III. NHIỆM VỤ, GIẢI PHÁP THỜI GIAN TỚI; KIẾN NGHỊ, ĐỀ XUẤT",
    ]
    tasks = part(q1_report, "I.", "2.")
    assert [b.heading[:15] for b in tasks.blocks if isinstance(b, Part)][:3] == [
        "a) Nhiệm vụ 1: ",
        "b) Nhiệm vụ 2: ",
        "c) Nhiệm vụ 3: ",
    ]
    nv2 = texts(part(q1_report, "I.", "2.", "b)"))
    assert "- Lãnh đạo phụ trách: Đồng chí Nguyễn Văn Thịnh - Phó Chủ tịch UBND huyện." in nv2
    assert "- Đơn vị chủ trì: Phòng Lao động, Thương binh, Xã hội - Dân tộc." in nv2
    assert any(t.startswith("- Đơn vị phối hợp: Phòng Nông nghiệp") for t in nv2)
    assert (
        "+ Số lao động được tạo việc làm mới: thực hiện trong kỳ 293 lao động; lũy kế từ đầu "
        "năm 293 lao động, đạt 22,5% kế hoạch năm (1.300 lao động trở lên); chậm so với tiến độ "
        "(cần đạt 25% kế hoạch năm đến hết kỳ)."
    ) in nv2
    assert (
        "+ Tỷ lệ lao động qua đào tạo: 65,33%, đạt 97,5% kế hoạch năm (67% trở lên); "
        "chưa đạt chỉ tiêu." in nv2
    )
    # The centre's monthly narratives roll into the quarter, under the task its report serves.
    assert any(
        t.startswith(
            "+ Trung tâm Giáo dục nghề nghiệp - Giáo dục thường xuyên huyện "
            "(tháng 2 năm 2024): Tuyển sinh và khai giảng 01 lớp may"
        )
        for t in nv2
    )
    rows = {r.code: r for r in q1_report.indicator_rows}
    assert (rows["viec-lam-moi"].goal, rows["viec-lam-moi"].period) == ("≥ 1.300", "293")
    assert (rows["viec-lam-moi"].to_date, rows["viec-lam-moi"].percent) == ("293", "22,5%")
    assert (rows["ty-le-giam-ngheo"].goal, rows["ty-le-giam-ngheo"].to_date) == ("> 3", "0,85")
    assert rows["dai-hoi-dtts"].period == "Chưa thực hiện"


def test_deliverables_done_and_overdue(q1_report: Report) -> None:
    nv1 = texts(part(q1_report, "I.", "2.", "a)"))
    assert (
        "+ Kế hoạch định hướng giảm nghèo năm 2024 (Phòng Lao động, Thương binh, Xã hội - Dân "
        "tộc; hạn 29/02/2024): đã hoàn thành ngày 27/02/2024."
    ) in nv1
    overdue = next(t for t in nv1 if t.startswith("+ Kế hoạch giảm nghèo cấp xã"))
    assert "18/22 đơn vị đã hoàn thành" in overdue
    for name in ("UBND xã Mẫu Sơn", "UBND xã Xuất Lễ", "UBND xã Xuân Long", "UBND xã Yên Trạch"):
        assert name in overdue
    upcoming = texts(part(q1_report, "III.", "1."))
    assert any(
        "Kế hoạch điều tra rà soát hộ nghèo" in t and "hạn 30/08/2024" in t for t in upcoming
    )


def test_units_that_reported_late_or_not_at_all_with_dates(
    engine: Engine, q1_report: Report
) -> None:
    lines = texts(part(q1_report, "I.", "3."))
    assert (
        "+ UBND xã Hòa Cư (quý I năm 2024): hạn 15/03/2024, gửi ngày 19/03/2024 "
        "(muộn 2 ngày làm việc)."
    ) in lines
    missing = [t for t in lines if "chưa gửi (quá hạn" in t]
    assert all("hạn 15/03/2024" in t and "quá hạn 3 ngày làm việc" in t for t in missing)
    # Independently: the Q1 report items without any accepted submission by the instant.
    with transaction(engine) as session:
        accepted = set(
            session.scalars(
                select(Submission.item_id).where(
                    Submission.accepted.is_(True), Submission.received_at <= Q1_AS_OF
                )
            )
        )
        silent = {
            i.unit.name
            for i in session.scalars(select(DueItem).where(DueItem.period_label == "2024-Q1"))
            if i.id not in accepted
        }
    assert {t[2 : t.index(" (")] for t in missing} == silent
    assert len(silent) == len(SILENT_COMMUNES) + 1  # and Phòng Văn hóa và Thông tin
    assert (
        "- Báo cáo đánh giá kết quả thực hiện kế hoạch của UBND các xã, thị trấn: đã nhận "
        "20/22 báo cáo, trong đó đúng hạn 19." in lines
    )


def test_narratives_are_gathered_never_invented(q1_report: Report) -> None:
    nv1 = part(q1_report, "I.", "2.", "a)")
    assert nv1.blocks[-1] == Para(PLACEHOLDER, ParaKind.PLACEHOLDER)  # no unit wrote on task 1
    assert part(q1_report, "II.", "2.").blocks == (Para(PLACEHOLDER, ParaKind.PLACEHOLDER),)
    difficulties = texts(part(q1_report, "II.", "1."))
    hostile = next(t for t in difficulties if t.startswith("+ UBND thị trấn Cao Lộc"))
    assert "<script>alert('x')</script>" in hostile  # kept as text; each format escapes it
    assert "\x07" not in hostile and "\ndòng hai" in hostile  # control characters dropped
    general = texts(part(q1_report, "I.", "2.", "đ)"))
    assert any(
        t.startswith("+ Phòng Lao động, Thương binh, Xã hội - Dân tộc (quý I") for t in general
    )
    proposals = texts(part(q1_report, "III.", "2."))
    assert proposals[1].startswith("+ Trung tâm Giáo dục nghề nghiệp")


def test_nothing_reported_leaves_every_figure_and_text_empty(engine: Engine) -> None:
    with transaction(engine) as session:
        plan = load_cao_loc(session)
        report = build_report(
            session=session, plan=plan, period=Period.parse("2024-Q1"), as_of=Q1_AS_OF
        )
        with pytest.raises(ReportError, match="nằm ngoài năm 2024"):
            build_report(session=session, plan=plan, period=Period.parse("2025-Q1"), as_of=Q1_AS_OF)
    assert report.number_line == "Số:      /BC-UBND"
    assert {(r.period, r.to_date, r.percent) for r in report.indicator_rows} == {("-", "-", "")}
    for label in ("a)", "b)", "c)"):
        assert part(report, "I.", "2.", label).blocks[-1].kind is ParaKind.PLACEHOLDER  # type: ignore[union-attr]
    assert texts(part(report, "III.", "2.")) == [
        "- Kiến nghị, đề xuất của các đơn vị:",
        PLACEHOLDER,
    ]
    # 2 monthly reports of the centre (the plan, issued 25/01, owes none for January), the
    # department, 22 communes, 4 departments.
    assert sum("chưa gửi (quá hạn" in t for t in texts(part(report, "I.", "3."))) == 2 + 1 + 22 + 4


@pytest.mark.parametrize(
    ("period", "summary_end", "closing"),
    [
        ("2024", "năm 2024 (Lĩnh vực Lao động, Thương binh, Xã hội - Dân tộc)", "năm 2024"),
        ("2024-H1", "Dân tộc) 6 tháng đầu năm 2024", "6 tháng đầu năm 2024"),
        ("2024-03", "Dân tộc) tháng 3 năm 2024", "tháng 3 năm 2024"),
    ],
)
def test_the_year_half_year_and_month_reports(
    engine: Engine, period: str, summary_end: str, closing: str
) -> None:
    with transaction(engine) as session:
        plan = load_cao_loc(session)
        report = build_report(
            session=session, plan=plan, period=Period.parse(period), as_of=Q1_AS_OF
        )
    assert report.summary.endswith(summary_end)
    last = report.body[-1]
    assert isinstance(last, Para) and f"kết quả thực hiện {closing} của" in last.text
