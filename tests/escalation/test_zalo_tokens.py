"""The Zalo OA's single-use refresh tokens against the local Zalo server: a spent token is never
sent again, and a refresh that fails reports Zalo's own error."""

from __future__ import annotations

from datetime import datetime

from pydantic import SecretStr
from sqlalchemy import Engine, select

from demo.sinks import ZaloServer
from models.db import transaction
from models.outbox import ChannelToken, OutboxStatus
from settings import Settings
from tests.support.escalation import (
    APP_ID,
    FIRST_REFRESH,
    deliver_now,
    outbox_messages,
    record_now,
    vn,
)

MARCH_13 = vn(2024, 3, 13)
STORED = "refresh-token-stored-12"


def _store_chain(engine: Engine, refresh_token: str, expired_at: datetime) -> None:
    """The database as a run left it: the first token spent, a rotated one stored, and an
    access token now expired."""
    with transaction(engine) as session:
        session.add(
            ChannelToken(
                channel="zalo_oa",
                account=APP_ID,
                access_token="access-token-old-31",
                refresh_token=refresh_token,
                access_expires_at=expired_at,
                version=0,
                updated_at=expired_at,
            )
        )


def _token_row(engine: Engine) -> ChannelToken:
    with transaction(engine) as session:
        return session.scalars(select(ChannelToken)).one()


def _sent_refresh_tokens(zalo: ZaloServer) -> list[str]:
    """Every refresh token sent to Zalo, granted or refused, sorted."""
    requests = zalo.state.delivered + zalo.state.refused
    return sorted(r.body["refresh_token"] for r in requests if r.kind == "refresh")


def test_a_busy_oauth_server_keeps_the_stored_token_and_reports_its_own_error(
    plan_db: Engine, settings: Settings, zalo: ZaloServer
) -> None:
    # The first refresh token was spent long ago; the chain goes on with the stored one.
    first = deliver_first_refresh(plan_db, settings, zalo)
    zalo.state.expire_access_tokens()
    zalo.state.oauth_busy = 1
    record_now(plan_db, settings, MARCH_13)
    report = deliver_now(plan_db, settings, "zalo_oa", MARCH_13)

    assert report.sent == [] and report.stopped is not None
    assert "-14001" in report.stopped and "-14014" not in report.stopped
    oa = [m for m in outbox_messages(plan_db) if m.channel == "zalo_oa" and m.sent_at is None]
    assert oa and {m.status for m in oa} == {OutboxStatus.FAILED}
    assert all(m.last_error and "-14001" in m.last_error for m in oa)
    # Only the stored token was asked about; the spent first one was not sent again.
    assert _sent_refresh_tokens(zalo) == sorted([FIRST_REFRESH, first])
    assert zalo.state.replayed_refresh_tokens == []
    assert _token_row(plan_db).refresh_token == first

    later = deliver_now(plan_db, settings, "zalo_oa", vn(2024, 3, 13, 9))
    assert len(later.sent) == len(oa)
    assert _sent_refresh_tokens(zalo) == sorted([FIRST_REFRESH, first, first])
    assert zalo.state.replayed_refresh_tokens == []


def deliver_first_refresh(engine: Engine, settings: Settings, zalo: ZaloServer) -> str:
    """A first run on 12/03 spends the configured token; the rotated one it stored."""
    record_now(engine, settings, vn(2024, 3, 12))
    assert deliver_now(engine, settings, "zalo_oa", vn(2024, 3, 12)).stopped is None
    rotated = _token_row(engine).refresh_token
    assert rotated is not None and rotated != FIRST_REFRESH
    assert FIRST_REFRESH in zalo.state.spent_refresh_tokens
    return rotated


def test_a_broken_chain_never_replays_a_token_and_a_new_configured_one_restarts_it(
    plan_db: Engine, settings: Settings, zalo: ZaloServer
) -> None:
    first = deliver_first_refresh(plan_db, settings, zalo)
    # Zalo revokes the stored token (say, the app's secret was reset).
    zalo.state.refresh_tokens.clear()
    zalo.state.expire_access_tokens()
    record_now(plan_db, settings, MARCH_13)
    report = deliver_now(plan_db, settings, "zalo_oa", MARCH_13)

    assert report.stopped is not None
    assert "refresh token đang dùng bị từ chối" in report.stopped and "-14014" in report.stopped
    assert "đã dùng" in report.stopped and FIRST_REFRESH not in report.stopped
    assert _sent_refresh_tokens(zalo) == sorted(
        [FIRST_REFRESH, first]
    )  # the spent first one: never
    assert _token_row(plan_db).refresh_token is None

    # The next run sends no token at all: the refused one is forgotten, the first one spent.
    again = deliver_now(plan_db, settings, "zalo_oa", vn(2024, 3, 13, 9))
    assert again.stopped is not None and "DONDOC_ZALO__OA_REFRESH_TOKEN" in again.stopped
    assert _sent_refresh_tokens(zalo) == sorted([FIRST_REFRESH, first])

    # The admin sets a new first token: it starts the chain again, and the messages go.
    zalo.state.refresh_tokens.add("refresh-token-new-5d")
    renewed = settings.model_copy(
        update={
            "zalo": settings.zalo.model_copy(
                update={"oa_refresh_token": SecretStr("refresh-token-new-5d")}
            )
        }
    )
    done = deliver_now(plan_db, renewed, "zalo_oa", vn(2024, 3, 13, 10))
    assert done.sent and done.stopped is None
    assert _sent_refresh_tokens(zalo) == sorted([FIRST_REFRESH, first, "refresh-token-new-5d"])
    assert zalo.state.replayed_refresh_tokens == []


def test_a_first_token_met_by_a_busy_server_is_not_counted_spent(
    plan_db: Engine, settings: Settings, zalo: ZaloServer
) -> None:
    zalo.state.oauth_busy = 1
    record_now(plan_db, settings, MARCH_13)
    report = deliver_now(plan_db, settings, "zalo_oa", MARCH_13)
    assert report.stopped is not None and "-14001" in report.stopped
    assert _token_row(plan_db).seed_digest is None

    later = deliver_now(plan_db, settings, "zalo_oa", vn(2024, 3, 13, 9))
    assert len(later.sent) == 2
    assert _sent_refresh_tokens(zalo) == [FIRST_REFRESH, FIRST_REFRESH]
    assert zalo.state.replayed_refresh_tokens == []
    assert _token_row(plan_db).seed_digest is not None
