"""Access tokens are kept only as hashes: after tokens are issued (CLI), used (API, sign-in
page, submissions), refused and revoked, no token is found anywhere the system writes: not
in any column of any table of the database, not in SQLite's files (WAL included), not in the
data folder."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from access.tokens import TOKEN_PREFIX
from cli import intake as cli_intake
from cli.main import app
from models.access import AccessToken
from models.db import session_factory
from settings import get_settings
from tests.support.intake import ADMIN_SECRET, NOW, Portal, login_form, new_token, sign_in
from tests.support.security import every_value

runner = CliRunner()


def _issue(*args: str) -> str:
    result = runner.invoke(app, ["token", "issue", *args])
    assert result.exit_code == 0, result.output
    (secret,) = [line for line in result.stdout.splitlines() if line.startswith(TOKEN_PREFIX)]
    return secret


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_no_token_is_kept_in_plain_text_anywhere(
    portal: Portal, db_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_intake, "now", lambda: NOW)
    mine = _issue("--unit", "xa-mot", "--label", "Chị Lan")
    theirs = _issue("--unit", "xa-hai")
    admin = _issue("--admin", "--label", "Cán bộ tổng hợp")
    other = new_token(portal.engine, "tt-ba")
    secrets = [mine, theirs, admin, other, ADMIN_SECRET]

    with portal.client(mine) as client:
        assert client.get("/api/v1/me").json() == {"role": "unit", "unit": "xa-mot"}
        sent = client.post(
            "/api/v1/submissions",
            json={
                "obligation": "bao-cao-thang",
                "period": "2024-04",
                "values": {"viec-lam": "1.300", "ty-le": "67,5"},
            },
        )
        assert sent.status_code == 201, sent.text
    with portal.client(ADMIN_SECRET) as client:
        assert client.get("/api/v1/items", params={"unit": "tt-ba"}).status_code == 200
    with portal.client(admin) as client:
        assert client.get("/api/v1/me").json()["role"] == "admin"
    with portal.client() as browser:
        sign_in(browser, theirs)
        assert browser.get("/").status_code == 200
        refused = browser.post(
            "/login", data=login_form(browser, TOKEN_PREFIX + "not-a-real-token")
        )
        assert refused.status_code == 401
    assert runner.invoke(app, ["token", "revoke", "--unit", "xa-hai"]).exit_code == 0
    with portal.client(theirs) as client:
        assert client.get("/api/v1/me").status_code == 401

    with session_factory(portal.engine)() as session:
        rows = session.scalars(select(AccessToken).order_by(AccessToken.id)).all()
    stored = {r.token_hash for r in rows}
    assert {hashlib.sha256(s.encode()).hexdigest() for s in (mine, theirs, admin, other)} == stored
    assert all(len(r.hint) <= len(TOKEN_PREFIX) + 4 for r in rows)  # a hint, not the token

    everything = every_value(portal.engine)
    assert "token.issue" in everything and "submission.create" in everything  # it is all here
    for secret in secrets:
        body = secret.removeprefix(TOKEN_PREFIX)
        assert body[4:] not in everything, f"token {secret[:7]}… stored in the database"
    files = [*_files(portal.settings.data_dir), *_files(get_settings().data_dir)]
    if portal.engine.url.get_backend_name() == "sqlite":
        database = Path(str(portal.engine.url.database))
        files += [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
        assert len(files) >= 2  # the database and its write-ahead log
    for path in files:
        # Read by another process: opening and closing the database file here would drop
        # the POSIX locks SQLite's pooled connections hold on it, and later tests sharing
        # the file then fail with "disk I/O error".
        data = subprocess.run(["cat", str(path)], capture_output=True, check=True).stdout
        for secret in secrets:
            assert secret.removeprefix(TOKEN_PREFIX)[4:].encode() not in data, (path, secret[:7])
