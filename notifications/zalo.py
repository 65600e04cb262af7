"""The Zalo channels (Official Account and Bot) and the OA's rotating tokens in the database.

The HTTP contracts are in `notifications.zalo_api`; a channel's delivery run posts its
messages over one keep-alive connection and closes it at the end of the run.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.db import transaction
from models.outbox import ChannelToken
from notifications.channels import ChannelName, ChannelUnavailable, Outgoing
from notifications.redact import protect
from notifications.zalo_api import RunHttp, TokenReply, ZaloBotClient, ZaloOAClient, ZaloOAuthClient
from settings import ZaloSettings

# An access token is refreshed a little before Zalo says it expires.
EXPIRY_MARGIN = timedelta(minutes=5)
DEFAULT_EXPIRES_IN = 90_000  # seconds, when Zalo does not say


class DatabaseTokens:
    """The OA's access and rotating refresh tokens, kept in `channel_tokens`.

    A refresh runs in its own transaction holding the row's lock (a version bump), so two
    workers never spend the same single-use refresh token; the rotated token is committed
    before the new access token is used. The settings' refresh token is only the first of
    the chain: it is used once (its digest is kept), when no stored token is left, so an
    admin restarts a broken chain by setting a new DONDOC_ZALO__OA_REFRESH_TOKEN.
    """

    CHANNEL = ChannelName.ZALO_OA.value

    def __init__(
        self, *, engine: Engine, zalo: ZaloSettings, oauth: ZaloOAuthClient, now: datetime
    ) -> None:
        if not zalo.app_id:
            raise ValueError("Zalo OA needs DONDOC_ZALO__APP_ID")
        self._engine = engine
        self._app_id: str = zalo.app_id
        self._bootstrap = (
            zalo.oa_refresh_token.get_secret_value() if zalo.oa_refresh_token else None
        )
        self._oauth = oauth
        self._now = now
        protect([self._bootstrap])

    def _fresh(self, row: ChannelToken | None) -> bool:
        return bool(
            row is not None
            and row.access_token
            and row.access_expires_at is not None
            and row.access_expires_at > self._now + EXPIRY_MARGIN
        )

    def access_token(self) -> str:
        """The stored access token while it is fresh, else a refreshed one."""
        with transaction(self._engine) as session:
            row = self._row(session)
            if row is not None:
                protect([row.access_token, row.refresh_token])
            if row is not None and self._fresh(row):
                assert row.access_token is not None
                return row.access_token
        return self.refresh(stale=row.access_token if row is not None else None)

    def _row(self, session: Session) -> ChannelToken | None:
        return session.scalars(
            select(ChannelToken).where(
                ChannelToken.channel == self.CHANNEL, ChannelToken.account == self._app_id
            )
        ).one_or_none()

    def _locked_row(self, session: Session) -> ChannelToken:
        row = self._row(session)
        if row is None:
            row = ChannelToken(
                channel=self.CHANNEL, account=self._app_id, version=0, updated_at=self._now
            )
            session.add(row)
            session.flush()
        session.execute(
            update(ChannelToken)
            .where(ChannelToken.id == row.id)
            .values(version=ChannelToken.version + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(row)  # what a concurrent refresher committed before we got the lock
        return row

    def refresh(self, stale: str | None) -> str:
        """A new access token (`stale` is the one refused), unless another worker got one."""
        for attempt in range(2):
            try:
                return self._refresh(stale)
            except IntegrityError:  # another worker created the row at the same moment
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _refresh(self, stale: str | None) -> str:
        with transaction(self._engine) as session:
            row = self._locked_row(session)
            if row.access_token and row.access_token != stale and self._fresh(row):
                return row.access_token  # another worker refreshed while we waited
            renewed = self._renew(row)
            if isinstance(renewed, str):
                return renewed
        # Raised after the commit: a refused token stays forgotten, a spent seed stays spent.
        raise renewed

    def _renew(self, row: ChannelToken) -> str | ChannelUnavailable:
        """A new access token from the stored refresh token, else from an unspent configured
        one; or the error to report, the first one Zalo gave.

        Each refresh token is sent at most until Zalo refuses it: a refused stored token is
        forgotten, and the configured one is used once (its digest is kept). An error that
        says nothing about the token (-14001, say) keeps it for the next run, and the
        configured one is not tried.
        """
        refusals = []
        if row.refresh_token:
            reply = self._oauth.refresh(row.refresh_token)
            if reply.ok:
                return self._store(row, reply)
            if not reply.refused:
                return _cannot_refresh(reply.reason)
            row.refresh_token = None
            refusals.append(f"refresh token đang dùng bị từ chối: {reply.reason}")
        seed = self._bootstrap
        if seed is None or _digest(seed) == row.seed_digest:
            refusals.append(
                "chưa có refresh token mới trong cấu hình (đặt DONDOC_ZALO__OA_REFRESH_TOKEN)"
                if seed is None
                else "refresh token trong cấu hình đã dùng (đặt DONDOC_ZALO__OA_REFRESH_TOKEN mới)"
            )
            return _cannot_refresh("; ".join(refusals))
        spent_before, row.seed_digest = row.seed_digest, _digest(seed)
        reply = self._oauth.refresh(seed)
        if reply.ok:
            return self._store(row, reply)
        if not reply.refused:
            row.seed_digest = spent_before  # not spent: Zalo said nothing about the token
        refusals.append(f"refresh token trong cấu hình bị từ chối: {reply.reason}")
        return _cannot_refresh("; ".join(refusals))

    def _store(self, row: ChannelToken, reply: TokenReply) -> str:
        assert reply.access_token is not None and reply.refresh_token is not None
        protect([reply.access_token, reply.refresh_token])
        row.access_token = reply.access_token
        row.refresh_token = reply.refresh_token
        row.access_expires_at = self._now + timedelta(
            seconds=reply.expires_in or DEFAULT_EXPIRES_IN
        )
        row.updated_at = self._now
        return reply.access_token


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _cannot_refresh(reason: str) -> ChannelUnavailable:
    return ChannelUnavailable(f"Zalo OA: không làm mới được access token — {reason}")


class ZaloOAChannel:
    """Messages to people who follow the office's Official Account.

    The access token is obtained in `prepare`, outside any outbox transaction (a refresh
    writes the rotated token to the database); a send refused for its token raises
    CredentialsExpired, and the outbox renews the token and tries that message once more.
    """

    name = ChannelName.ZALO_OA

    def __init__(self, *, zalo: ZaloSettings, engine: Engine, now: datetime) -> None:
        if not zalo.app_id or zalo.secret_key is None:
            raise ValueError("Zalo OA needs DONDOC_ZALO__APP_ID and DONDOC_ZALO__SECRET_KEY")
        secret_key = zalo.secret_key.get_secret_value()
        protect([secret_key])
        self._http = RunHttp()
        self._api = ZaloOAClient(self._http, zalo.oa_api_base)
        oauth = ZaloOAuthClient(
            self._http, zalo.oauth_base, app_id=zalo.app_id, secret_key=secret_key
        )
        self._tokens = DatabaseTokens(engine=engine, zalo=zalo, oauth=oauth, now=now)
        self._token: str | None = None

    def prepare(self, *, renew: bool = False) -> None:
        self._token = (
            self._tokens.refresh(stale=self._token) if renew else self._tokens.access_token()
        )

    def send(self, message: Outgoing) -> str | None:
        if self._token is None:
            self.prepare()
        assert self._token is not None
        return self._api.send_text(
            access_token=self._token, user_id=message.address, text=message.body
        )

    def close(self) -> None:
        """Close the run's keep-alive connection."""
        self._http.close()


class ZaloBotChannel:
    """Messages through the office's Zalo bot, to people who have messaged it."""

    name = ChannelName.ZALO_BOT

    def __init__(self, *, base: str, token: str) -> None:
        protect([token])  # it is in the URL's path, which HTTP libraries log
        self._http = RunHttp()
        self._api = ZaloBotClient(self._http, base, token=token)

    def prepare(self, *, renew: bool = False) -> None:
        """Nothing to fetch: the bot token does not expire."""

    def send(self, message: Outgoing) -> str | None:
        return self._api.send_message(chat_id=message.address, text=message.body)

    def close(self) -> None:
        """Close the run's keep-alive connection."""
        self._http.close()
