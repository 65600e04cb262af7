"""Sign-in against hostile browsers and guessers: cross-site posts refused, security headers
on every answer, /api/docs without internet, refused attempts audited and throttled (per
address and per token), sessions capped per token, a guessable admin secret refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from access.sessions import MAX_SESSIONS_PER_TOKEN, open_web_session, resolve_web_session
from access.throttle import ADDRESS_LIMIT, TOKEN_LIMIT, WINDOW, Blocks, TooManyAttempts
from access.throttle import record_refusal as refuse
from models.access import AuditEvent
from models.db import session_factory, transaction
from portal.app import create_app
from settings import Settings, WeakAdminSecret
from tests.support.intake import ADMIN_SECRET, NOW, Clock, login_form, new_token

CROSS_SITE = {"Origin": "https://evil.example"}


def _settings(engine: Engine, tmp_path: Path, **more: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=engine.url.render_as_string(hide_password=False),
        data_dir=tmp_path,
        admin_token=SecretStr(ADMIN_SECRET),
        **more,  # type: ignore[arg-type]
    )


@contextmanager
def _browser(
    engine: Engine, tmp_path: Path, clock: Clock | None = None, **more: object
) -> Iterator[TestClient]:
    app = create_app(_settings(engine, tmp_path, **more), engine=engine, clock=clock or Clock())
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


def _count(engine: Engine, action: str) -> int:
    with session_factory(engine)() as session:
        query = select(func.count()).where(AuditEvent.action == action)
        return session.scalar(query) or 0


def test_cross_site_posts_are_refused_and_forms_carry_their_value(
    loaded: Engine, tmp_path: Path
) -> None:
    token = new_token(loaded, "xa-mot")
    with _browser(loaded, tmp_path) as browser:
        form = login_form(browser, token)
        # A page elsewhere posting the officer's browser to our sign-in: refused by Origin.
        crossed = browser.post("/login", data=form, headers=CROSS_SITE, follow_redirects=False)
        assert crossed.status_code == 403 and "trang web khác" in crossed.text
        assert "dondoc_session" not in browser.cookies
        for referer in ("https://evil.example/x", "null"):
            headers = {"Referer": referer}
            refused = browser.post("/login", data=form, headers=headers, follow_redirects=False)
            assert refused.status_code == 403, referer
        # Without the value of the sign-in page (a forged form), refused too.
        forged = browser.post("/login", data={"token": token, "next": "/"})
        assert forged.status_code == 403 and "Trang đăng nhập đã hết hạn" in forged.text
        # Our own page, with its value and our Origin, signs in.
        own = {"Origin": "http://127.0.0.1:8000"}
        signed_in = browser.post(
            "/login", data=login_form(browser, token), headers=own, follow_redirects=False
        )
        assert signed_in.status_code == 303
        home = browser.get("/")
        csrf = re.findall(r'name="csrf" value="([^"]+)"', home.text)
        assert csrf and 'action="/logout"' in home.text  # the sign-out form carries it
        assert (
            browser.post("/logout", data={"csrf": csrf[0]}, headers=CROSS_SITE).status_code == 403
        )
        assert browser.post("/logout", data={"csrf": "x" * 32}).status_code == 403
        assert browser.get("/").status_code == 200  # still signed in
        out = browser.post("/logout", data={"csrf": csrf[0]}, follow_redirects=False)
        assert out.status_code == 303


@pytest.mark.parametrize(
    ("portal_url", "hsts"),
    [("http://127.0.0.1:8000", False), ("https://baocao.caoloc.langson.gov.vn", True)],
)
def test_every_answer_carries_the_security_headers(
    loaded: Engine, tmp_path: Path, portal_url: str, hsts: bool
) -> None:
    with _browser(loaded, tmp_path, portal_url=portal_url) as browser:
        answers = [
            browser.get("/login"),
            browser.get("/api/docs"),
            browser.get("/api/v1/me"),  # 401 JSON
            browser.get("/khong-co"),  # 404 page
            browser.get("/static/portal.css"),
            browser.post("/login", content=b"x" * (11 * 1024 * 1024)),  # 413
        ]
    assert [a.status_code for a in answers] == [200, 200, 401, 404, 200, 413]
    for answer in answers:
        headers = answer.headers
        assert headers["x-frame-options"] == "DENY", answer.url
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self';" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert ("strict-transport-security" in headers) is hsts


def test_the_api_docs_load_nothing_from_the_internet(loaded: Engine, tmp_path: Path) -> None:
    with _browser(loaded, tmp_path) as browser:
        page = browser.get("/api/docs").text
        assert "swagger-ui" in page
        assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing off the portal
        assert "<script>" not in page  # no inline script: the CSP would block it
        for path in re.findall(r'(?:src|href)="(/[^"]+)"', page):
            asset = browser.get(path)
            assert asset.status_code == 200 and len(asset.content) > 100, path
        bundle = browser.get("/static/swagger/swagger-ui-bundle.js").text
        assert "SwaggerUIBundle" in bundle
        assert browser.get("/api/openapi.json").json()["openapi"].startswith("3.")


def test_wrong_sign_ins_are_audited_then_throttled_per_address(
    loaded: Engine, tmp_path: Path
) -> None:
    clock = Clock()
    token = new_token(loaded, "xa-mot")
    with _browser(loaded, tmp_path, clock) as browser:
        answers = [
            browser.post("/login", data=login_form(browser, f"dd_guess-{i}")).status_code
            for i in range(ADDRESS_LIMIT + 10)
        ]
        assert answers == [401] * ADDRESS_LIMIT + [429] * 10
        blocked = browser.post("/login", data=login_form(browser, token))  # even the right one
        assert blocked.status_code == 429
        assert "quá nhiều lần" in blocked.text and "Hãy thử lại sau 15 phút" in blocked.text
        assert blocked.headers["retry-after"] == str(int(WINDOW.total_seconds()))
        assert "dondoc_session" not in browser.cookies
        # The API from the same address waits too, and says so in JSON.
        api = browser.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 429 and api.json()["error"]["code"] == "too_many_attempts"
        clock.now = NOW + WINDOW + timedelta(seconds=1)
        again = browser.post("/login", data=login_form(browser, token), follow_redirects=False)
        assert again.status_code == 303  # the block has ended
    # Every refused attempt left a row (the blocked ones are answered without one).
    assert _count(loaded, "auth.refused") == ADDRESS_LIMIT
    assert _count(loaded, "auth.blocked") == 1
    with session_factory(loaded)() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.refused"))
        first = next(iter(rows))
    assert first.source_address == "testclient" and first.details == {"channel": "web"}
    assert first.object_id and "guess" not in first.object_id  # a fingerprint, not the token


def test_one_token_is_throttled_from_any_address(loaded: Engine) -> None:
    blocks, wrong = Blocks(), "dd_revoked-or-mistyped"
    for i in range(TOKEN_LIMIT):
        blocks.check(wrong, f"10.0.0.{i}", now=NOW)
        with transaction(loaded) as session:
            refuse(
                wrong,
                session=session,
                blocks=blocks,
                channel="api",
                source_address=f"10.0.0.{i}",
                now=NOW,
            )
    with pytest.raises(TooManyAttempts) as raised:
        blocks.check(wrong, "10.9.9.9", now=NOW + timedelta(minutes=5))
    assert "10 phút" in raised.value.message
    blocks.check("dd_another-token", "10.9.9.9", now=NOW)  # the address itself is not blocked
    blocks.check(wrong, "10.9.9.9", now=NOW + WINDOW)  # over at the end of the window


def test_wrong_api_tokens_are_audited(loaded: Engine, tmp_path: Path) -> None:
    with _browser(loaded, tmp_path) as client:
        for _ in range(2):
            assert (
                client.get("/api/v1/me", headers={"Authorization": "Bearer x"}).status_code == 401
            )
        assert client.get("/api/v1/me").status_code == 401  # no token at all: no attempt
    assert _count(loaded, "auth.refused") == 2


def test_one_token_keeps_its_newest_sessions_only(loaded: Engine) -> None:
    token = new_token(loaded, "xa-mot")
    secrets = []
    for minute in range(MAX_SESSIONS_PER_TOKEN + 2):
        with transaction(loaded) as session:
            now = NOW + timedelta(minutes=minute)
            opened = open_web_session(token, session=session, admin_secret=None, now=now)
            assert opened is not None
            secrets.append(opened[1])
    later = NOW + timedelta(hours=1)
    with session_factory(loaded)() as session:
        live = [
            resolve_web_session(s, session=session, admin_secret=None, now=later) is not None
            for s in secrets
        ]
        ended = session.scalars(select(AuditEvent).where(AuditEvent.action == "session.end"))
        reasons = [e.details["reason"] for e in ended]
    assert live == [False, False] + [True] * MAX_SESSIONS_PER_TOKEN  # the oldest dropped
    assert reasons == ["session_cap", "session_cap"]


@pytest.mark.parametrize(
    ("secret", "accepted"),
    [
        ("1234", False),
        ("a" * 40, False),  # long but one character
        ("12345678901234567890123", False),  # digits only: about 76 bits
        ("correct horse battery staple", True),
        ("AzYw3kB0_fJ-q8Lr9TmX2vQs", True),
    ],
)
def test_the_admin_secret_must_be_strong(
    loaded: Engine, tmp_path: Path, secret: str, accepted: bool
) -> None:
    settings = _settings(loaded, tmp_path).model_copy(update={"admin_token": SecretStr(secret)})
    if accepted:
        create_app(settings, engine=loaded)
        return
    with pytest.raises(WeakAdminSecret) as refused:
        create_app(settings, engine=loaded)
    message = str(refused.value)
    assert "quá yếu" in message and "too weak" in message and "token_urlsafe" in message
    assert secret not in message
