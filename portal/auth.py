"""Who is calling: a bearer token for the API, a cookie for the pages; CSRF for page forms."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from models.access import Actor, authenticate, hash_token
from portal.app import portal_of
from submissions.errors import Forbidden, Unauthorized

COOKIE = "dondoc_token"

bearer = HTTPBearer(
    auto_error=False,
    description="Mã truy cập của đơn vị (lệnh `dondoc token issue --unit U`) hoặc của quản trị.",
)


def actor_for(request: Request, secret: str | None) -> Actor | None:
    if not secret:
        return None
    portal = portal_of(request)
    with portal.sessions() as session:
        return authenticate(secret, session=session, admin_secret=portal.admin_secret)


def api_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The API caller; 401 without a valid, unrevoked token."""
    if credentials is None:
        raise Unauthorized(
            "unauthorized", "Thiếu mã truy cập: gửi kèm «Authorization: Bearer <mã truy cập>»."
        )
    actor = actor_for(request, credentials.credentials)
    if actor is None:
        raise Unauthorized("unauthorized", "Mã truy cập không đúng hoặc đã bị thu hồi.")
    return actor


def admin_actor(actor: Annotated[Actor, Depends(api_actor)]) -> Actor:
    """Admin-only endpoints refuse unit tokens with 403."""
    if not actor.is_admin:
        raise Forbidden("admin_only", "Chỉ quản trị (cán bộ tổng hợp) được làm việc này.")
    return actor


def web_actor(request: Request) -> Actor | None:
    """The signed-in officer of a page request, from the HttpOnly cookie."""
    return actor_for(request, request.cookies.get(COOKIE))


def csrf_token(request: Request) -> str:
    """A per-token value every page form carries; a cross-site form cannot know it."""
    secret = request.cookies.get(COOKIE, "")
    return hmac.new(hash_token(secret).encode(), b"dondoc-csrf", hashlib.sha256).hexdigest()[:32]


def check_csrf(request: Request, given: object) -> None:
    if not isinstance(given, str) or not hmac.compare_digest(given, csrf_token(request)):
        raise Forbidden(
            "csrf",
            "Phiên làm việc không hợp lệ hoặc đã hết hạn: hãy tải lại trang rồi gửi lại.",
        )


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None
