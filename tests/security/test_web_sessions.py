"""Page sign-in opens a server-side session: the cookie holds its secret, never the access
token. The secret is stored only hashed, is refused on the API, and stops working at logout,
at expiry, when the token is revoked, or (settings admin) when the admin secret changes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.exc import StatementError

from access.actor import Actor
from access.sessions import SESSION_LIFETIME, end_web_session, open_web_session, resolve_web_session
from access.tokens import authenticate, hash_token, revoke_tokens
from models.access import AccessToken, AuditEvent
from models.db import session_factory, transaction
from portal.app import create_app
from settings import Settings
from tests.support.intake import (
    ADMIN_SECRET,
    LOADER,
    NOW,
    Portal,
    login_form,
    new_token,
    sign_in,
)
from tests.support.security import every_value


def _open(engine: Engine, token: str, *, admin: str | None = None, now: datetime = NOW) -> str:
    with transaction(engine) as session:
        opened = open_web_session(token, session=session, admin_secret=admin, now=now)
    assert opened is not None
    return opened[1]


def _resolve(
    engine: Engine, secret: str, *, admin: str | None = None, now: datetime = NOW
) -> Actor | None:
    with session_factory(engine)() as session:
        return resolve_web_session(secret, session=session, admin_secret=admin, now=now)


def _revoke(engine: Engine, token: str) -> None:
    with transaction(engine) as session:
        row = session.scalars(
            select(AccessToken).where(AccessToken.token_hash == hash_token(token))
        ).one()
        revoke_tokens(session=session, revoked_by=LOADER, now=NOW, token_id=row.id)


def test_a_session_lasts_twelve_hours_and_ends_at_sign_out(loaded: Engine) -> None:
    token = new_token(loaded, "xa-mot")
    secret = _open(loaded, token)
    assert secret != token and token not in secret
    actor = _resolve(loaded, secret, now=NOW + SESSION_LIFETIME - timedelta(seconds=1))
    assert actor is not None and actor.unit_code == "xa-mot" and actor.token_id is not None
    assert _resolve(loaded, secret, now=NOW + SESSION_LIFETIME) is None  # expired
    # The token itself is no session, and the session secret is no token.
    assert _resolve(loaded, token) is None
    with session_factory(loaded)() as session:
        assert authenticate(secret, session=session, admin_secret=ADMIN_SECRET) is None
        assert authenticate(token, session=session, admin_secret=ADMIN_SECRET) == actor
    with transaction(loaded) as session:
        ended = end_web_session(secret, session=session, admin_secret=None, now=NOW)
        assert ended
        assert not end_web_session(secret, session=session, admin_secret=None, now=NOW)
    assert _resolve(loaded, secret) is None
    with session_factory(loaded)() as session:
        query = select(AuditEvent).where(AuditEvent.object_type == "web_session")
        events = session.scalars(query.order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor) for e in events] == [
        ("session.open", actor.label),
        ("session.end", actor.label),
    ]
    everything = every_value(loaded)
    assert secret not in everything and token not in everything
    assert hash_token(secret) in everything  # only the hash is kept


def test_revoking_the_token_ends_its_sessions(loaded: Engine) -> None:
    token, other = new_token(loaded, "xa-mot"), new_token(loaded, "xa-hai")
    first, second, theirs = _open(loaded, token), _open(loaded, token), _open(loaded, other)
    _revoke(loaded, token)
    assert _resolve(loaded, first) is None and _resolve(loaded, second) is None
    assert _resolve(loaded, theirs) is not None  # another token's session goes on


def test_a_settings_admin_session_ends_when_the_admin_secret_changes(loaded: Engine) -> None:
    secret = _open(loaded, ADMIN_SECRET, admin=ADMIN_SECRET)
    actor = _resolve(loaded, secret, admin=ADMIN_SECRET)
    assert actor is not None and actor.is_admin and actor.token_id is None
    assert _resolve(loaded, secret, admin="a-new-admin-secret") is None
    assert _resolve(loaded, secret, admin=None) is None  # the setting removed
    assert ADMIN_SECRET not in every_value(loaded)
    assert hash_token(ADMIN_SECRET) not in every_value(loaded)  # keyed, not a plain hash
    # An admin token issued in the database is a token like a unit's: its sessions outlive
    # a change of the settings' secret.
    admin_token = new_token(loaded, None)
    theirs = _open(loaded, admin_token, admin=ADMIN_SECRET)
    assert _resolve(loaded, theirs, admin="a-new-admin-secret") is not None


def test_sessions_refuse_wrong_tokens_and_naive_times(loaded: Engine) -> None:
    with transaction(loaded) as session:
        for wrong in ("", "dd_not-a-token", ADMIN_SECRET):
            assert open_web_session(wrong, session=session, admin_secret=None, now=NOW) is None
    token = new_token(loaded, "tt-ba")
    naive = datetime(2024, 4, 20, 9)  # the mistake under test
    with transaction(loaded) as session, pytest.raises(StatementError, match="naive"):
        open_web_session(token, session=session, admin_secret=None, now=naive)
    secret = _open(loaded, token)
    with pytest.raises(StatementError, match="naive"):
        _resolve(loaded, secret, now=naive)


def test_the_cookie_is_a_session_not_the_token(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    with portal.client() as browser:
        refused = browser.post("/login", data=login_form(browser, "dd_wrong"))
        assert refused.status_code == 401 and "dondoc_session" not in browser.cookies
        cookie = sign_in(browser, token)
        assert cookie != token and token not in cookie
        assert browser.get("/").status_code == 200
    everything = every_value(portal.engine)
    assert cookie not in everything and token not in everything

    # Copied from the browser, the cookie is no API token.
    with portal.client(cookie) as stolen:
        me = stolen.get("/api/v1/me")
        assert me.status_code == 401, me.text
        assert me.json()["error"]["code"] == "unauthorized"
    # And the token put in the cookie by hand is no page session.
    with portal.client() as forged:
        forged.cookies.set("dondoc_session", token)
        assert forged.get("/").headers["location"] == "/login?next=/"
        forged.cookies.set("dondoc_token", token)  # nor under any other name
        assert forged.get("/").headers["location"] == "/login?next=/"


def test_logout_ends_the_session_on_the_server(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    with portal.client() as browser:
        cookie = sign_in(browser, token)
        assert browser.post("/logout").status_code == 403  # without the page's form value
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/").text)
        assert csrf is not None
        out = browser.post("/logout", data={"csrf": csrf.group(1)})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert "dondoc_session" not in browser.cookies  # deleted in the browser
    with portal.client() as copy:  # a copy taken before logout
        copy.cookies.set("dondoc_session", cookie)
        assert copy.get("/").headers["location"] == "/login?next=/"
        refused = copy.post("/items/1", data={"csrf": "x"})
        assert refused.status_code == 401
        assert "Phiên đăng nhập đã hết" in refused.text
    with portal.client() as again:  # the token itself signs in again
        sign_in(again, token)
        assert again.get("/").status_code == 200


def test_revocation_and_expiry_end_page_sessions(portal: Portal) -> None:
    token, lasting = new_token(portal.engine, "xa-mot"), new_token(portal.engine, "xa-hai")
    with portal.client() as revoked, portal.client() as expiring:
        sign_in(revoked, token)
        sign_in(expiring, lasting)
        _revoke(portal.engine, token)
        assert revoked.get("/").headers["location"] == "/login?next=/"
        assert expiring.get("/").status_code == 200
        portal.clock.now = NOW + SESSION_LIFETIME
        assert expiring.get("/").headers["location"] == "/login?next=/"
        sign_in(expiring, lasting)  # the token still signs in
        assert expiring.get("/").status_code == 200


def test_the_settings_admin_signs_in_on_the_pages(portal: Portal) -> None:
    with portal.client() as browser:
        cookie = sign_in(browser, ADMIN_SECRET)
        assert "Quản trị" in browser.get("/").text
    assert cookie != ADMIN_SECRET
    with session_factory(portal.engine)() as session:
        who = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "session.open"))
        assert list(who) == ["admin:settings"]


@pytest.mark.parametrize(
    ("portal_url", "secure"),
    [("http://127.0.0.1:8000", False), ("https://baocao.caoloc.langson.gov.vn", True)],
)
def test_behind_a_tls_proxy_the_cookie_is_sent_over_https_only(
    loaded: Engine, tmp_path: Path, portal_url: str, secure: bool
) -> None:
    # The proxy ends TLS and the app sees plain http; the public address is what counts.
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=loaded.url.render_as_string(hide_password=False),
        data_dir=tmp_path,
        portal_url=portal_url,
    )
    token = new_token(loaded, "xa-mot")
    app = create_app(settings, engine=loaded, clock=lambda: NOW)
    with TestClient(app, base_url="http://127.0.0.1:8000") as browser:
        form = login_form(browser, token)
        # The sign-in page's own cookie is https-only too: sent back by hand over plain http.
        page = browser.get("/login")
        form["csrf"] = re.findall(r'name="csrf" value="([^"]+)"', page.text)[0]
        login_cookie = page.cookies["dondoc_login"]
        browser.cookies.clear()
        signed_in = browser.post(
            "/login",
            data=form,
            headers={"Cookie": f"dondoc_login={login_cookie}"},
            follow_redirects=False,
        )
    assert signed_in.status_code == 303
    cookie = next(
        c for c in signed_in.headers.get_list("set-cookie") if c.startswith("dondoc_session=")
    )
    assert ("; secure" in cookie.lower()) is secure
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
