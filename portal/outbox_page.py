"""The outbox page (/hop-thu-di), the office's: messages by state and channel, the last error
in plain Vietnamese, and retries (one message, a channel's, all) confirmed before they run."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from access.actor import Actor
from access.audit import record_event
from access.scope import may_act_for_office
from models.outbox import OutboxStatus
from notifications.channels import CHANNEL_VI
from notifications.outbox import STATUS_VI
from notifications.outbox_desk import (
    CHANNELS,
    RetryTarget,
    outbox_counts,
    outbox_page,
    retry,
    retryable_count,
)
from portal.deps import (
    DbSession,
    PortalState,
    PostedForm,
    SignedIn,
    WebActor,
    check_csrf,
    client_address,
    csrf_token,
    portal_of,
)
from portal.unit_page import page_number, when
from portal.web import sign_in_redirect
from submissions.errors import Forbidden, NotFound

router = APIRouter(include_in_schema=False)

MESSAGES_PER_PAGE = 50


def _office_only(actor: Actor) -> None:
    if not may_act_for_office(actor):
        raise Forbidden(
            "office_only", "Chỉ văn phòng (cán bộ tổng hợp) được xem và gửi lại hộp thư đi."
        )


def _page(request: Request, name: str, context: dict[str, Any]) -> Response:
    context = {"csrf": csrf_token(request), "when": when, **context}
    return portal_of(request).templates.TemplateResponse(request, name, context)


def _target(text: str, session: Session) -> RetryTarget:
    target = RetryTarget.parse(text, session=session)
    if target is None:
        raise NotFound(
            "outbox_target_not_found",
            f"Không có thông báo nào mang mã «{text[:64]}», cũng không phải tên một kênh gửi.",
        )
    return target


@router.get("/hop-thu-di")
def outbox(request: Request, session: DbSession, actor: WebActor) -> Response:
    """Messages of a state and a channel (GET filters), newest first, a page at a time."""
    if actor is None:
        return sign_in_redirect(request)
    _office_only(actor)
    query = request.query_params
    status_text, channel_text = query.get("tinh-trang"), query.get("kenh")
    status = next((s for s in OutboxStatus if s.value == status_text), None)
    channel = channel_text if channel_text in CHANNELS else None
    lines, paging = outbox_page(
        session=session,
        status=status,
        channel=channel,
        page=page_number(query.get("trang")),
        size=MESSAGES_PER_PAGE,
    )
    done = query.get("da-dua-lai")
    # The message after a retry names its target as the page knows it, never the URL's text.
    retried = RetryTarget.parse(query.get("muc", ""), session=session) if done else None
    return _page(
        request,
        "outbox.html",
        {
            "actor": actor,
            "lines": lines,
            "paging": paging,
            "counts": outbox_counts(session=session, channel=channel),
            "status": status,
            "channel": channel,
            "states": STATUS_VI,
            "channels": {c.value: label for c, label in CHANNEL_VI.items()},
            "requeued": int(done) if done and done.isdigit() else None,
            "retried": retried,
        },
    )


@router.get("/hop-thu-di/gui-lai")
def confirm_retry(request: Request, session: DbSession, actor: WebActor) -> Response:
    """The confirmation step: what a retry would put back in the queue, and the button."""
    if actor is None:
        return sign_in_redirect(request)
    _office_only(actor)
    target = _target(request.query_params.get("muc", ""), session)
    return _page(
        request,
        "outbox_confirm.html",
        {
            "actor": actor,
            "target": target,
            "count": retryable_count(target, session=session),
        },
    )


@router.post("/hop-thu-di/gui-lai")
def do_retry(
    request: Request, portal: PortalState, actor: SignedIn, form: PostedForm, session: DbSession
) -> Response:
    """Put the failed and given-up messages of the target back in the queue, as `dondoc outbox
    --retry` does, with an audit row in the same transaction."""
    check_csrf(request, form.get("csrf"))
    _office_only(actor)
    target = _target(str(form.get("muc") or ""), session)
    now = portal.clock()
    keys = retry(target, session=session, now=now)
    record_event(
        session=session,
        actor=actor,
        action="outbox.retry",
        object_type="outbox",
        object_id=target.form_value[:64],
        source_address=client_address(request),
        details={"target": target.kind, "requeued": len(keys), "keys": keys[:100]},
        now=now,
    )
    done = urlencode({"da-dua-lai": len(keys), "muc": target.form_value})
    return RedirectResponse(f"/hop-thu-di?{done}", status_code=303)
