"""Who is calling: a bearer token for the API, a session cookie for the pages; page CSRF."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from access.actor import Actor
from access.sessions import resolve_web_session
from access.tokens import authenticate, hash_token
from portal.app import portal_of
from submissions.errors import Forbidden, Unauthorized

# The page session's secret (models.access.WebSession), never the access token itself.
COOKIE = "dondoc_session"
# Where sign-in kept the raw access token before page sessions: deleted wherever seen.
LEGACY_COOKIE = "dondoc_token"

bearer = HTTPBearer(
    auto_error=False,
    description="Mã truy cập của đơn vị (lệnh `dondoc token issue --unit U`) hoặc của quản trị.",
)


def token_actor(request: Request, secret: str | None) -> Actor | None:
    """The actor of an access token (the API's bearer); page session secrets are refused."""
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
    actor = token_actor(request, credentials.credentials)
    if actor is None:
        raise Unauthorized("unauthorized", "Mã truy cập không đúng hoặc đã bị thu hồi.")
    return actor


def admin_actor(actor: Annotated[Actor, Depends(api_actor)]) -> Actor:
    """Admin-only endpoints refuse unit tokens with 403."""
    if not actor.is_admin:
        raise Forbidden("admin_only", "Chỉ quản trị (cán bộ tổng hợp) được làm việc này.")
    return actor


def web_actor(request: Request) -> Actor | None:
    """The signed-in officer of a page request, from the session in the HttpOnly cookie;
    an access token put in the cookie is refused."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    portal = portal_of(request)
    with portal.sessions() as session:
        return resolve_web_session(
            secret, session=session, admin_secret=portal.admin_secret, now=portal.clock()
        )


def csrf_token(request: Request) -> str:
    """A per-session value every page form carries; a cross-site form cannot know it."""
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
