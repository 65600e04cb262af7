"""The dashboard /tinh-hinh through the portal: figures, filters, search, order, pages, scope.

The province (tests/desk/conftest.py), as of 15/08/2024:

| unit                  | Q1 2024                     | Q2 2024                          |
|-----------------------|-----------------------------|----------------------------------|
| thị trấn Đông Anh     | on time                     | sent after now: overdue          |
| xã An Phú             | late                        | overdue                          |
| xã Ân Bình            | on time                     | on time, and a later version     |
| xã Bắc Sơn            | exempt (sent anyway)        | extended to 30/08: extended      |
| xã Dao                | extended, sent by it: on time | late                           |
| xã Đông               | on time                     | extended to 19/07, not sent: overdue |
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, true

from benchmarks.synthetic import generate
from models.calendar import load_calendar
from models.db import session_factory, transaction
from plan_sync.sync import load_plan
from plans.loader import read_plan
from status.dashboard import DeskFilter, Source, SourceKind, desk
from status.matrix import CellState, cell_state
from status.states import item_states
from tests.desk.conftest import ADMIN_SECRET, NOW, PLAN, unit_token

Browse = Callable[[str | None], TestClient]
ORDER = [
    "UBND thị trấn Đông Anh",
    "UBND xã An Phú",
    "UBND xã Ân Bình",
    "UBND xã Bắc Sơn",
    "UBND xã Dao",
    "UBND xã Đông",
]
REPORT = Source(SourceKind.REPORT, "bao-cao-quy")


def _units(html: str) -> list[str]:
    return re.findall(r'<th scope="row" class="unit"><a href="/don-vi/[^"]+">([^<]+)</a>', html)


def _cells(html: str, unit: str) -> list[str]:
    row = re.search(rf">{re.escape(unit)}</a></th>(.*?)</tr>", html, re.S)
    assert row is not None, unit
    return re.findall(r'class="cell c-(\w+)"', row.group(1))


def _rates(html: str, heading: str) -> list[str]:
    row = re.search(rf">{re.escape(heading)}</a></th>(.*?)</tr>", html, re.S)
    assert row is not None, heading
    return re.findall(r'<td class="num">([^<]+)</td>', row.group(1))


def test_the_office_sees_every_unit_in_vietnamese_order_with_states_and_rates(
    browse: Browse,
) -> None:
    page = browse(ADMIN_SECRET).get("/tinh-hinh", params={"nguon": "bc:bao-cao-quy"})
    assert page.status_code == 200, page.text
    html = page.text
    assert _units(html) == ORDER
    assert '<a href="/don-vi/xa-an-phu">UBND xã An Phú</a>' in html
    headings = re.findall(r'<th scope="col">((?:Quý|Tháng)[^<]*)</th>', html)
    assert headings == ["Quý I/2024", "Quý II/2024", "Quý III/2024", "Quý IV/2024"]
    assert _cells(html, "UBND xã An Phú") == ["late", "overdue", "not_due", "not_due"]
    assert _cells(html, "UBND xã Bắc Sơn")[:2] == ["exempt", "extended"]
    assert _cells(html, "UBND xã Dao")[:2] == ["on_time", "late"]
    assert _cells(html, "UBND xã Đông")[:2] == ["on_time", "overdue"]
    assert _cells(html, "UBND thị trấn Đông Anh")[:2] == ["on_time", "overdue"]
    # Colour is not the only signal: each cell says its state in words too.
    assert '<abbr title="Nộp muộn, hạn' in html and ">Muộn</abbr>" in html
    # Q1: 5 expected (one exempt), 5 received, 4 on time. Q2: 6 expected, 2 received, 1 on time.
    assert _rates(html, "Quý I/2024") == ["5", "5", "4", "100 %", "80 %"]
    assert _rates(html, "Quý II/2024") == ["6", "2", "1", "33,3 %", "16,7 %"]
    assert _rates(html, "Quý III/2024") == ["6", "0", "0", "0 %", "0 %"]
    # The chart is drawn on the server: an inline SVG with both rates, no script.
    assert "<svg" in html and 'class="rate-reporting"' in html and "<script" not in html
    counts = dict(re.findall(r'<li class="c-(\w+)"><span class="n">([\d.]+)</span>', html))
    assert counts == {
        "on_time": "5", "late": "2", "not_due": "12", "overdue": "3", "extended": "1", "exempt": "1"
    }  # fmt: skip


def test_filters_narrow_the_units_and_keep_each_other_in_page_links(browse: Browse) -> None:
    office = browse(ADMIN_SECRET)

    def units(**params: str) -> list[str]:
        page = office.get("/tinh-hinh", params={"nguon": "bc:bao-cao-quy", **params})
        assert page.status_code == 200, page.text
        return _units(page.text)

    assert units(ky="2024-Q2", **{"tinh-trang": "overdue"}) == [
        "UBND thị trấn Đông Anh",
        "UBND xã An Phú",
        "UBND xã Đông",
    ]
    assert units(**{"tinh-trang": "exempt"}) == ["UBND xã Bắc Sơn"]
    assert units(loai="town") == ["UBND thị trấn Đông Anh"]
    assert units(thuoc="phong-a") == ["UBND xã Bắc Sơn"]
    # Search ignores accents and case: "thi tran" finds "thị trấn", "dong" finds "Đông".
    assert units(tim="thi tran") == ["UBND thị trấn Đông Anh"]
    assert units(tim="DONG") == ["UBND thị trấn Đông Anh", "UBND xã Đông"]
    assert units(tim="không có") == []
    # A chosen period shows one column, and its counts only.
    page = office.get("/tinh-hinh", params={"nguon": "bc:bao-cao-quy", "ky": "2024-Q1"})
    assert _cells(page.text, "UBND xã An Phú") == ["late"]
    # Rates follow the unit filters: the town alone sent Q1 on time.
    town = office.get("/tinh-hinh", params={"nguon": "bc:bao-cao-quy", "loai": "town"}).text
    assert _rates(town, "Quý I/2024") == ["1", "1", "1", "100 %", "100 %"]


def test_deliverables_and_tasks_get_the_same_view(browse: Browse) -> None:
    office = browse(ADMIN_SECRET)
    task = office.get("/tinh-hinh", params={"nguon": "nv:nv-giam-ngheo"}).text
    headings = re.findall(r'<th scope="col">([^<]*)</th>', task)
    assert "Kế hoạch giảm nghèo của xã" in headings and "Báo cáo sơ kết giảm nghèo" in headings
    assert _cells(task, "UBND xã Ân Bình") == ["on_time", "not_due"]
    assert _cells(task, "UBND xã An Phú") == ["overdue", "not_due"]
    one = office.get("/tinh-hinh", params={"nguon": "sp:ke-hoach-xa"}).text
    assert _cells(one, "UBND xã Ân Bình") == ["on_time"]
    assert _rates(one, "Kế hoạch giảm nghèo của xã") == ["6", "1", "1", "16,7 %", "16,7 %"]


def test_a_unit_token_sees_only_its_own_row(browse: Browse, province: Engine) -> None:
    page = browse(unit_token(province, "xa-dao")).get("/tinh-hinh")
    assert page.status_code == 200, page.text
    assert _units(page.text) == ["UBND xã Dao"]
    assert _rates(page.text, "Quý I/2024") == ["1", "1", "1", "100 %", "100 %"]
    assert "An Phú" not in page.text and "xa-an-phu" not in page.text
    # Asking for another unit by name or by its parent still finds only its own.
    assert _units(browse(unit_token(province, "xa-dao")).get(
        "/tinh-hinh", params={"tim": "an phu"}).text) == []  # fmt: skip


def test_anonymous_visitors_are_sent_to_sign_in(browse: Browse) -> None:
    page = browse(None).get("/tinh-hinh", params={"nguon": "bc:bao-cao-quy"})
    assert page.status_code == 303
    # The sign-in page sends them back to the very page they asked for, filters kept.
    location = urlsplit(page.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/tinh-hinh?nguon=bc%3Abao-cao-quy"]


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"nam": "hai nghìn"}, "Năm «hai nghìn» không hợp lệ"),
        ({"trang": "-1"}, "Số trang «-1» không hợp lệ"),
        ({"tinh-trang": "lost"}, "Tình trạng «lost» không có"),
        ({"nguon": "bc:khong-co"}, "Không có báo cáo hoặc nhiệm vụ «bc:khong-co» để xem"),
        ({"ky": "2023-Q1"}, "Kỳ «2023-Q1» không có trong năm 2024 của báo cáo này"),
    ],
)
def test_bad_filters_are_refused_in_vietnamese(
    browse: Browse, params: dict[str, str], said: str
) -> None:
    page = browse(ADMIN_SECRET).get("/tinh-hinh", params=params)
    assert page.status_code == 422
    assert said in page.text and "Traceback" not in page.text


def test_sql_counts_agree_with_the_status_rule_item_by_item(province: Engine) -> None:
    """The SQL rule (status.matrix.sql_cell_state) of the counts and of each cell equals
    cell_state of status.states.item_states, for every item of the province."""
    with session_factory(province)() as session:
        calendar = load_calendar(session=session)
        by_python = {
            s.item_id: cell_state(s)
            for s in item_states(session=session, as_of=NOW, calendar=calendar)
        }
        assert set(by_python.values()) == set(CellState)  # the province has every state
        by_sql: dict[int, CellState] = {}
        for source in (REPORT, Source(SourceKind.TASK, "nv-giam-ngheo")):
            shown = desk(session, DeskFilter(source, 2024), scope=true(), as_of=NOW)
            counted = {c.key: {s: n for s, n in c.counts.items() if n} for c in shown.columns}
            by_cells: dict[str, dict[CellState, int]] = {}
            for row in shown.rows:
                for key, cell in row.cells.items():
                    by_sql[cell.item_id] = cell.state
                    by_cells.setdefault(key, {}).setdefault(cell.state, 0)
                    by_cells[key][cell.state] += 1
            assert counted == by_cells, source
    assert by_sql == by_python


def test_pages_of_fifty_units_in_order_with_page_links(engine: Engine, tmp_path: object) -> None:
    from pathlib import Path

    from portal.app import create_app
    from tests.desk.conftest import settings_for, signed_in
    from tests.support.intake import Clock

    with transaction(engine) as session:
        generate(120, session=session, seed=5, officers=0)
    app = create_app(settings_for(engine, Path(str(tmp_path))), engine=engine, clock=Clock(NOW))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        office = signed_in(client, ADMIN_SECRET)
        first = office.get("/tinh-hinh", params={"nguon": "bc:bc-thang-xa", "loai": "commune"})
        assert first.status_code == 200, first.text
        assert _units(first.text) == [f"UBND xã {c:05d}" for c in range(1, 51)]
        assert "Đơn vị 1–50 trong 120" in first.text
        links = re.findall(r'<a href="(/tinh-hinh\?[^"]+)" aria-label="Trang (\d)">', first.text)
        assert [p for _, p in links] == ["2", "3"]
        assert all("loai=commune" in link for link, _ in links)
        third = office.get(links[-1][0].replace("&amp;", "&"))
        assert _units(third.text) == [f"UBND xã {c:05d}" for c in range(101, 121)]
        assert 'aria-current="page" class="current">3<' in third.text
        monthly = re.findall(r'<th scope="col">(Tháng [^<]*)</th>', first.text)
        assert monthly == [f"Tháng {m}/2024" for m in range(1, 13)]
        with session_factory(engine)() as session:
            assert session.scalar(select(1)) == 1


def test_a_new_submission_shows_at_once(browse: Browse, province: Engine) -> None:
    from tests.desk.conftest import receive

    office = browse(ADMIN_SECRET)
    before = office.get("/tinh-hinh", params={"nguon": "bc:bao-cao-quy"}).text
    assert _cells(before, "UBND xã An Phú")[1] == "overdue"
    assert _rates(before, "Quý II/2024")[1:3] == ["2", "1"]
    receive(province, "xa-an-phu", "2024-Q2", NOW)
    after = office.get("/tinh-hinh", params={"nguon": "bc:bao-cao-quy"}).text
    assert _cells(after, "UBND xã An Phú")[1] == "late"
    assert _rates(after, "Quý II/2024")[1:3] == ["3", "1"]


def test_the_page_follows_the_clock_past_a_deadline(province: Engine, tmp_path: object) -> None:
    from datetime import timedelta
    from pathlib import Path

    from portal.app import create_app
    from tests.desk.conftest import deadline, settings_for, signed_in
    from tests.support.intake import Clock

    clock = Clock(NOW)
    app = create_app(settings_for(province, Path(str(tmp_path))), engine=province, clock=clock)
    q3 = deadline(province, "xa-an-phu", "2024-Q3")
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        clock.now = q3  # signed in just before the deadline, as an office would be
        office = signed_in(client, ADMIN_SECRET)
        params = {"nguon": "bc:bao-cao-quy"}
        for now, state, rate in (
            (q3, "not_due", "0 %"),
            (q3 + timedelta(seconds=1), "overdue", "0 %"),
        ):
            clock.now = now
            answer = office.get("/tinh-hinh", params=params)
            assert answer.status_code == 200, answer.text[-1500:]
            page = answer.text
            assert _cells(page, "UBND xã An Phú")[2] == state, now
            counts = dict(re.findall(r'<li class="c-(\w+)"><span class="n">([\d.]+)</span>', page))
            assert counts["overdue"] == ("3" if state == "not_due" else "9"), now
            assert _rates(page, "Quý III/2024")[4] == rate


def test_the_year_shown_first_is_this_year_in_vietnam() -> None:
    from datetime import UTC, datetime

    from portal.dashboard import default_year

    new_year_in_hanoi = datetime(2024, 12, 31, 17, 30, tzinfo=UTC)  # 00:30 on 01/01/2025
    assert default_year([2025, 2024], new_year_in_hanoi) == 2025
    assert default_year([2025, 2024], datetime(2024, 12, 31, 16, 30, tzinfo=UTC)) == 2024
    assert default_year([2023], new_year_in_hanoi) == 2023  # nothing this year: the newest
    assert default_year([], new_year_in_hanoi) == 2025


def test_a_deliverable_is_headed_by_its_own_year_s_title(province: Engine, tmp_path: Path) -> None:
    """A plan of 2025 reusing 2024's deliverable codes, with other titles and days."""
    text = PLAN.read_text(encoding="utf-8")
    next_year = (
        text.replace("code: desk-2024", "code: desk-2025")
        .replace("year: 2024", "year: 2025")
        .replace("2024-", "2025-")
        .replace("Kế hoạch giảm nghèo của xã", "Kế hoạch giảm nghèo của xã năm 2025")
    )
    (tmp_path / "2025.yaml").write_text(next_year, encoding="utf-8")
    with transaction(province) as session:
        load_plan(read_plan(tmp_path / "2025.yaml"), session=session, now=NOW)
    task = Source(SourceKind.TASK, "nv-giam-ngheo")
    with session_factory(province)() as session:
        for year, title in (
            (2024, "Kế hoạch giảm nghèo của xã"),
            (2025, "Kế hoạch giảm nghèo của xã năm 2025"),
        ):
            shown = desk(session, DeskFilter(task, year), scope=true(), as_of=NOW)
            assert shown.columns[0].heading == title, year
