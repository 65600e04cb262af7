"""The unit page (/don-vi/<unit_code>), where every reminder links: the unit, its items with
their submissions, and every reminder and escalation sent about them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pendulum
from fastapi import APIRouter, Request
from fastapi.responses import Response

from access.scope import item_condition, may_act_for_office, may_see_unit
from notifications.outbox_desk import item_messages
from portal.deps import DbSession, PortalState, WebActor, csrf_token, portal_of
from portal.web import sign_in_redirect
from schedules.calendar import VN_TZ
from status.states import STATUS_VI, ItemStatus
from status.unit_view import Paging, find_unit, submissions_of, unit_facts, unit_items
from submissions.errors import Forbidden, NotFound

router = APIRouter(include_in_schema=False)

ITEMS_PER_PAGE = 20
CHANNEL_OF_SUBMISSION = {
    "web": "cổng báo cáo",
    "api": "API",
    "cli": "dòng lệnh",
    "inbox": "thư mục nhận tệp",
}


def when(instant: datetime | None) -> str:
    """An instant as "20/04/2024 09:00", Vietnamese time."""
    if instant is None:
        return ""
    return f"{pendulum.instance(instant).in_timezone(VN_TZ):%d/%m/%Y %H:%M}"


def page_number(text: str | None) -> int:
    """The page asked for; anything that is not a page number shows the first page."""
    return int(text) if text and text.isdigit() and len(text) < 7 else 1


def _state_filter(text: str | None) -> ItemStatus | None:
    return next((s for s in ItemStatus if s.value == text), None)


@router.get("/don-vi/{unit_code}")
def unit_page(
    unit_code: str, request: Request, portal: PortalState, session: DbSession, actor: WebActor
) -> Response:
    """The unit, its items (those needing attention first, a page at a time) and what was
    sent about them; open to the unit, those in charge of it and the office."""
    if actor is None:
        return sign_in_redirect(request)
    unit = find_unit(unit_code, session=session)
    if unit is None:
        raise NotFound("unit_not_found", f"Không có đơn vị nào mang mã «{unit_code}».")
    if not may_see_unit(actor, unit.id, session=session):
        raise Forbidden(
            "forbidden_unit",
            f"Trang của {unit.name} chỉ dành cho đơn vị đó, thủ trưởng, lãnh đạo phụ trách "
            "và văn phòng (cán bộ tổng hợp). Mã truy cập của bạn không xem được trang này.",
        )
    now = portal.clock()
    query = request.query_params
    status = _state_filter(query.get("tinh-trang"))
    states = unit_items(
        unit, session=session, now=now, visible=item_condition(actor), status=status
    )
    paging = Paging.of(page_number(query.get("trang")), ITEMS_PER_PAGE, len(states))
    shown = states[paging.window]
    ids = [s.item_id for s in shown]
    context: dict[str, Any] = {
        "actor": actor,
        "csrf": csrf_token(request),
        "unit": unit_facts(unit, session=session),
        "items": shown,
        "submissions": submissions_of(ids, session=session),
        "messages": item_messages(ids, session=session),
        "paging": paging,
        "status": status,
        "status_vi": STATUS_VI,
        "office": may_act_for_office(actor),
        "now": now,
        "when": when,
        "via": CHANNEL_OF_SUBMISSION,
    }
    return portal_of(request).templates.TemplateResponse(request, "unit.html", context)
