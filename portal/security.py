"""Browser-facing protections on every response: security headers, and cross-site posts refused."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The portal's pages and /api/docs load scripts, styles and images from the portal alone
# (the Swagger UI assets are served locally, see portal.app). Swagger UI sets inline styles on
# its elements, hence 'unsafe-inline' for styles only; no inline script runs anywhere.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000"  # a year; sent only when the portal is published over https
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CROSS_SITE_VI = (
    "Yêu cầu bị từ chối vì được gửi từ một trang web khác: hãy mở cổng báo cáo rồi gửi lại."
)


def origin_of(url: str) -> str | None:
    """'https://host[:port]' of a URL, lower-cased; None when it has no scheme or host."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers") or []}


def same_origin(scope: Scope, public_origin: str | None) -> bool:
    """Whether an unsafe request comes from the portal's own pages, by Origin, else Referer.

    Allowed: the public address (PORTAL_URL, what officers type behind the TLS proxy) and the
    address the request itself was sent to (its scheme and Host). A request with neither
    header is no browser's cross-site post (browsers send Origin on every cross-site POST):
    API clients and scripts send none, and the per-session form value still guards the pages.
    """
    headers = _headers(scope)
    claimed = headers.get(b"origin") or headers.get(b"referer")
    if claimed is None:
        return True
    origin = origin_of(claimed.decode("latin-1"))
    if origin is None:
        return False  # "null" (a sandboxed frame, a data: URL) or garbage
    allowed = {public_origin} if public_origin else set()
    host = headers.get(b"host")
    if host:
        allowed.add(f"{scope.get('scheme', 'http')}://{host.decode('latin-1')}".lower())
    return origin in allowed


class BrowserGuard:
    """Security headers on every response; cross-site posts to the pages refused with 403.

    The API authenticates with a bearer header a cross-site form cannot send, so only the
    pages (cookie sessions) are checked for their origin.
    """

    def __init__(self, app: ASGIApp, public_url: str) -> None:
        self.app = app
        self.public_origin = origin_of(public_url)
        self.https = (self.public_origin or "").startswith("https:")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = self.https or scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self._security(https)]
            await send(message)

        if (
            scope.get("method") in UNSAFE_METHODS
            and not str(scope.get("path", "")).startswith("/api/")
            and not same_origin(scope, self.public_origin)
        ):
            await self._refuse(with_headers)
            return
        await self.app(scope, receive, with_headers)

    @staticmethod
    def _security(https: bool) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        if https:
            headers.append((b"strict-transport-security", HSTS.encode()))
        return headers

    @staticmethod
    async def _refuse(send: Send) -> None:
        body = (
            '<!doctype html><html lang="vi"><meta charset="utf-8"><title>Yêu cầu bị từ chối'
            f'</title><p role="alert">{CROSS_SITE_VI}</p><p><a href="/">Về cổng báo cáo</a></p>'
            "</html>"
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
