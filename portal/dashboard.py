"""The dashboard "Tình hình báo cáo" (/tinh-hinh): units × periods, rates, a trend, filters."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from access.scope import item_condition
from plans.vocabulary import UNIT_KIND_VI
from portal.deps import DbSession, PortalState, WebActor, csrf_token, portal_of
from portal.web import sign_in_redirect
from schedules.calendar import local_date
from status.dashboard import Desk, DeskFilter, Source, SourceOption, desk
from status.desk_filters import parent_units, source_options, unit_kinds, year_options
from status.kept import Kept
from status.matrix import CELL_ABBR, CELL_STATES, CELL_VI, CellState, PeriodRates, count_vi, rate_vi
from submissions.errors import FieldError, Invalid

router = APIRouter(include_in_schema=False)

# The trend chart's drawing box (SVG user units); the page scales it to its width.
CHART_W, CHART_H, CHART_PAD = 640, 180, 36
MAX_SEARCH = 100


@dataclass(frozen=True)
class Asked:
    """The query string as typed, to refill the form and keep the filters in page links."""

    nguon: str = ""
    nam: str = ""
    ky: str = ""
    loai: str = ""
    thuoc: str = ""
    tinh_trang: str = ""
    tim: str = ""
    trang: str = ""

    @classmethod
    def of(cls, request: Request) -> Asked:
        q = request.query_params
        return cls(
            nguon=q.get("nguon", ""),
            nam=q.get("nam", ""),
            ky=q.get("ky", ""),
            loai=q.get("loai", ""),
            thuoc=q.get("thuoc", ""),
            tinh_trang=q.get("tinh-trang", ""),
            tim=q.get("tim", "")[:MAX_SEARCH],
            trang=q.get("trang", ""),
        )

    def link(self, **changes: str) -> str:
        """This page's address with `changes`; empty values are left out."""
        fields = {
            "nguon": self.nguon,
            "nam": self.nam,
            "ky": self.ky,
            "loai": self.loai,
            "thuoc": self.thuoc,
            "tinh-trang": self.tinh_trang,
            "tim": self.tim,
            "trang": self.trang,
        }
        fields.update({k.replace("_", "-"): v for k, v in changes.items()})
        return "/tinh-hinh?" + urlencode({k: v for k, v in fields.items() if v})


def _refused(field: str, message: str) -> Invalid:
    return Invalid([FieldError(field, "invalid", message)])


def _whole(value: str, field: str, what: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 6:
        raise _refused(field, f"{what} «{value}» không hợp lệ: hãy nhập một số nguyên dương.")
    return int(value)


def _filter(
    asked: Asked,
    options: list[SourceOption],
    session: Session,
    scope: ColumnElement[bool],
    now: datetime,
    kept: Kept,
) -> DeskFilter | None:
    """What the form asks for, checked; None when there is nothing in scope to show."""
    if asked.nguon:
        source = Source.parse(asked.nguon)
        if source is None or source.value not in {o.source.value for o in options}:
            raise _refused("nguon", f"Không có báo cáo hoặc nhiệm vụ «{asked.nguon}» để xem.")
    elif options:
        source = options[0].source
    else:
        return None
    years = year_options(session, source, scope=scope, kept=kept)
    chosen = _whole(asked.nam, "nam", "Năm")
    if chosen is None:
        chosen = default_year(years, now)
    state = None
    if asked.tinh_trang:
        if asked.tinh_trang not in {s.value for s in CELL_STATES}:
            raise _refused("tinh-trang", f"Tình trạng «{asked.tinh_trang}» không có.")
        state = CellState(asked.tinh_trang)
    page = _whole(asked.trang, "trang", "Số trang")
    return DeskFilter(
        source=source,
        year=chosen,
        period=asked.ky or None,
        kind=asked.loai or None,
        parent=asked.thuoc or None,
        state=state,
        search=asked.tim,
        page=page or 1,
    )


def default_year(years: list[int], now: datetime) -> int:
    """The year shown first: this year in Vietnam (not UTC's, which turns 7 hours late) when
    the source has items in it, else its newest year."""
    this_year = local_date(now).year
    return this_year if this_year in years else (years[0] if years else this_year)


def trend_chart(columns: list[PeriodRates]) -> dict[str, Any]:
    """The two rates as polylines in the chart's box: points, and the x of each heading."""
    step = (CHART_W - 2 * CHART_PAD) / max(len(columns) - 1, 1)
    inner = CHART_H - 2 * CHART_PAD

    def y(rate: float) -> float:
        return round(CHART_PAD + inner * (1 - rate / 100), 1)

    points: dict[str, list[tuple[float, float, str, str]]] = {"reporting": [], "on_time": []}
    ticks = []
    for i, column in enumerate(columns):
        x = round(CHART_PAD + i * step, 1)
        ticks.append((x, column.heading))
        rates = column.rates
        if rates.reporting_rate is None or rates.timeliness is None:
            continue  # nothing expected: no point, not a zero
        points["reporting"].append(
            (x, y(rates.reporting_rate), column.heading, rate_vi(rates.reporting_rate))
        )
        points["on_time"].append(
            (x, y(rates.timeliness), column.heading, rate_vi(rates.timeliness))
        )
    return {
        "width": CHART_W,
        "height": CHART_H,
        "pad": CHART_PAD,
        "grid": [(y(v), f"{v} %") for v in (0, 50, 100)],
        "ticks": ticks,
        "reporting": points["reporting"],
        "on_time": points["on_time"],
        "polyline": {k: " ".join(f"{x},{y}" for x, y, _, _ in v) for k, v in points.items()},
    }


def _page_links(asked: Asked, shown: Desk) -> list[tuple[int | None, str | None]]:
    """(page, link) for the pager: the first, the last, and two either side of this one."""
    near = {1, shown.pages, *range(shown.page - 2, shown.page + 3)}
    pages = sorted(p for p in near if 1 <= p <= shown.pages)
    links: list[tuple[int | None, str | None]] = []
    for before, page in zip([0, *pages], pages, strict=False):
        if page - before > 1:
            links.append((None, None))  # a gap: "…"
        links.append((page, asked.link(trang=str(page))))
    return links


@router.get("/tinh-hinh")
def dashboard(
    request: Request, portal: PortalState, session: DbSession, actor: WebActor
) -> Response:
    """The office's dashboard; each actor sees only the items in their charge."""
    if actor is None:
        return sign_in_redirect(request)
    asked, now = Asked.of(request), portal.clock()
    scope = item_condition(actor)
    options = source_options(session, scope=scope, kept=portal.kept)
    flt = _filter(asked, options, session, scope, now, portal.kept)
    context: dict[str, Any] = {"actor": actor, "csrf": csrf_token(request), "asked": asked}
    if flt is not None:
        shown = desk(session, flt, scope=scope, as_of=now, kept=portal.kept)
        if flt.period is not None and flt.period not in {c.key for c in shown.columns}:
            raise _refused(
                "ky", f"Kỳ «{flt.period}» không có trong năm {flt.year} của báo cáo này."
            )
        context |= _context(session, scope, flt, shown, asked, options, portal.kept)
    return portal_of(request).templates.TemplateResponse(
        request, "dashboard.html", context | {"flt": flt, "now": now}
    )


def _context(
    session: Session,
    scope: ColumnElement[bool],
    flt: DeskFilter,
    shown: Desk,
    asked: Asked,
    options: list[SourceOption],
    kept: Kept,
) -> dict[str, Any]:
    return {
        "desk": shown,
        "options": options,
        "years": year_options(session, flt.source, scope=scope, kept=kept) or [flt.year],
        "kinds": [(k, UNIT_KIND_VI.get(k, k)) for k in unit_kinds(session, scope=scope, kept=kept)],
        "parents": parent_units(session, scope=scope, kept=kept),
        "states": [(s.value, CELL_VI[s], CELL_ABBR[s]) for s in CELL_STATES],
        "chart": trend_chart(shown.columns),
        "pager": _page_links(replace(asked, trang=""), shown),
        "first_row": (shown.page - 1) * flt.per_page + 1,
        "cell_vi": CELL_VI,
        "cell_abbr": CELL_ABBR,
        "rate_vi": rate_vi,
        "count_vi": count_vi,
    }
