"""Zalo through dondoc's own apprise schemes: `zalooa://` (Official Account) and `zalobot://`.

Prefect pins apprise below 2.1, which has no Zalo plugin, so both are NotifyBase subclasses
registered with apprise's plugin manager. Contracts (DESIGN.md §4):

- OA text message: POST {oa_api_base}/v3.0/oa/message/cs, header `access_token`, body
  {"recipient": {"user_id"}, "message": {"text"}}; reply {"error": 0, "data": {"message_id"}}.
  -216 (invalid token) / -220 (expired): refresh the token and retry once (the outbox does
  the retry, outside its transaction, see ZaloOAChannel); -32: rate limited,
  back off; -213: the user does not follow the OA, recorded and not retried.
- OA token refresh: POST {oauth_base}/v4/oa/access_token, header `secret_key`, form
  refresh_token, app_id, grant_type=refresh_token. The refresh token is single-use and
  rotates, so the new one is committed to the database before it is used.
- Bot: POST {bot_api_base}/bot{token}/sendMessage with {"chat_id", "text"}; reply
  {"ok": true, "result": {...}} or {"ok": false, "error_code", "description"}.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol
from urllib.parse import urlencode

import requests
from apprise.common import NotifyType
from apprise.manager_plugins import NotificationManager
from apprise.plugins.base import NotifyBase
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from models.db import transaction
from models.outbox import ChannelToken
from notifications.channels import (
    ChannelName,
    ChannelUnavailable,
    CredentialsExpired,
    DeliveryError,
    Outgoing,
    RateLimited,
    RecipientUnreachable,
)
from notifications.redact import protect, redact
from settings import ZaloSettings

MAX_CHARS = 2000  # both Zalo APIs refuse longer texts
TIMEOUT_SECONDS = 15
IDLE_REUSE_SECONDS = 2.0  # below any server's keep-alive timeout
RATE_LIMIT_BACKOFF_SECONDS = 60
# An access token is refreshed a little before Zalo says it expires.
EXPIRY_MARGIN = timedelta(minutes=5)

OA_TOKEN_ERRORS = (-216, -220)
OA_RATE_LIMITED = -32
OA_NOT_FOLLOWING = -213


class TokenSource(Protocol):
    """Where the OA access token comes from, and how a fresh one is obtained."""

    def access_token(self) -> str: ...

    def refresh(self, stale: str | None) -> str: ...


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise DeliveryError(f"Zalo trả lời không phải JSON (HTTP {response.status_code})") from None
    if not isinstance(data, dict):
        raise DeliveryError(f"Zalo trả lời không đúng định dạng (HTTP {response.status_code})")
    return data


# apprise's base classes declare these class attributes as None or empty; every apprise plugin
# overrides them, which its type hints do not foresee (hence the ignores).
class _ZaloNotify(NotifyBase):
    """What both Zalo schemes share: `{scheme}://{recipient}/?token=...&base=...`, a 2,000
    character text, and a delivery whose failure is kept for the channel to raise."""

    recipient_key: ClassVar[str]  # the apprise token naming the recipient
    request_rate_per_sec = 0  # Zalo answers with a rate-limit error when we must slow down
    body_maxlen = MAX_CHARS
    title_maxlen = 0  # no title field: apprise folds a title into the text
    template_args = dict(  # noqa: RUF012
        NotifyBase.template_args,
        base={"name": "API base URL", "type": "string"},
        token={"name": "Access token", "type": "string", "private": True, "required": True},
    )

    def __init__(
        self,
        recipient: str,
        token: str,
        base: str,
        http: requests.Session | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.recipient = recipient
        self.token = token
        self.base = base.rstrip("/")
        # A channel passes its run's session (one keep-alive connection for all its messages);
        # a plain apprise URL posts with a connection of its own.
        self.http = http
        self.failure: DeliveryError | None = None
        self.message_id: str | None = None

    def _post(self, url: str, **kwargs: Any) -> requests.Response:
        if self.http is None:
            return requests.post(url, timeout=TIMEOUT_SECONDS, **kwargs)
        return self.http.post(url, timeout=TIMEOUT_SECONDS, **kwargs)

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        params = self.url_parameters(privacy=privacy, *args, **kwargs)  # noqa: B026
        params["base"] = self.base
        params["token"] = self.pprint(self.token, privacy, safe="")
        recipient = self.quote(self.recipient, safe="")
        return f"{self.secure_protocol}://{recipient}/?{urlencode(params)}"

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any] | None:  # type: ignore[override]
        results: dict[str, Any] | None = NotifyBase.parse_url(url, verify_host=False)
        if not results:
            return results
        results[cls.recipient_key] = NotifyBase.unquote(results["host"])
        for name in ("base", "token"):
            if results["qsd"].get(name):
                results[name] = NotifyBase.unquote(results["qsd"][name])
        return results

    def _deliver(self, body: str) -> str | None:
        raise NotImplementedError

    def send(
        self, body: str, title: str = "", notify_type: NotifyType = NotifyType.INFO, **kwargs: Any
    ) -> bool:
        self.failure, self.message_id = None, None
        try:
            self.message_id = self._deliver(body)
        except DeliveryError as exc:
            exc.reason = redact(exc.reason, [self.token])  # the bot's token is in its URL
            self.failure = exc
            self.logger.warning("%s delivery failed: %s", self.service_name, exc.reason)
            return False
        return True


class NotifyZaloOA(_ZaloNotify):
    """Zalo Official Account text message (`zalooa://{user_id}/?token=...&base=...`)."""

    service_name = "Zalo OA"  # type: ignore[assignment]
    service_url = "https://oa.zalo.me"  # type: ignore[assignment]
    secure_protocol = "zalooa"  # type: ignore[assignment]
    recipient_key = "user_id"
    templates = ("{schema}://{user_id}",)  # type: ignore[assignment]
    template_tokens = dict(  # noqa: RUF012
        NotifyBase.template_tokens,
        user_id={"name": "Zalo user id", "type": "string", "required": True},
    )

    def __init__(
        self,
        user_id: str,
        token: str,
        base: str | None = None,
        http: requests.Session | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(user_id, token, base or ZaloSettings().oa_api_base, http, **kwargs)

    @property
    def user_id(self) -> str:
        return self.recipient

    def _deliver(self, body: str) -> str | None:
        try:
            response = self._post(
                f"{self.base}/v3.0/oa/message/cs",
                json={"recipient": {"user_id": self.recipient}, "message": {"text": body}},
                headers={"access_token": self.token},
            )
        except requests.RequestException as exc:
            raise ChannelUnavailable(f"Không kết nối được Zalo OA: {type(exc).__name__}") from None
        data = _json(response)
        error = int(data.get("error", -1))
        if error == 0:
            payload = data.get("data") or {}
            return str(payload["message_id"]) if payload.get("message_id") else None
        detail = f"{data.get('message') or ''} (mã lỗi {error})".strip()
        if error in OA_TOKEN_ERRORS:
            raise CredentialsExpired(f"Zalo OA: access token không dùng được — {detail}")
        if error == OA_NOT_FOLLOWING:
            raise RecipientUnreachable(f"Zalo OA: người nhận chưa quan tâm OA — {detail}")
        if error == OA_RATE_LIMITED:
            raise RateLimited(f"Zalo OA: vượt giới hạn gửi — {detail}", RATE_LIMIT_BACKOFF_SECONDS)
        raise DeliveryError(f"Zalo OA: {detail}")


class NotifyZaloBot(_ZaloNotify):
    """Zalo Bot platform message (`zalobot://{chat_id}/?token=...&base=...`)."""

    service_name = "Zalo Bot"  # type: ignore[assignment]
    service_url = "https://bot.zaloplatforms.com"  # type: ignore[assignment]
    secure_protocol = "zalobot"  # type: ignore[assignment]
    recipient_key = "chat_id"
    templates = ("{schema}://{chat_id}",)  # type: ignore[assignment]
    template_tokens = dict(  # noqa: RUF012
        NotifyBase.template_tokens,
        chat_id={"name": "Chat id", "type": "string", "required": True},
    )

    def __init__(
        self,
        chat_id: str,
        token: str,
        base: str | None = None,
        http: requests.Session | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(chat_id, token, base or ZaloSettings().bot_api_base, http, **kwargs)

    @property
    def chat_id(self) -> str:
        return self.recipient

    def _deliver(self, body: str) -> str | None:
        try:
            response = self._post(
                f"{self.base}/bot{self.token}/sendMessage",
                json={"chat_id": self.recipient, "text": body},
            )
        except requests.RequestException as exc:
            raise ChannelUnavailable(f"Không kết nối được Zalo Bot: {type(exc).__name__}") from None
        data = _json(response)
        if data.get("ok") is True:
            result = data.get("result") or {}
            return str(result["message_id"]) if result.get("message_id") else None
        code = int(data.get("error_code") or response.status_code)
        detail = f"{data.get('description') or ''} (mã lỗi {code})".strip()
        if code in (401, 403, 404):
            raise ChannelUnavailable(f"Zalo Bot: token của bot bị từ chối — {detail}")
        if code == 429:
            raise RateLimited(f"Zalo Bot: vượt giới hạn gửi — {detail}", RATE_LIMIT_BACKOFF_SECONDS)
        raise DeliveryError(f"Zalo Bot: {detail}")


def register_schemes() -> None:
    """Make `zalooa://` and `zalobot://` known to apprise (idempotent)."""
    manager = NotificationManager()
    for plugin in (NotifyZaloOA, NotifyZaloBot):
        if plugin.secure_protocol not in manager:
            manager.add(plugin)


class DatabaseTokens:
    """The OA's access and rotating refresh tokens, kept in `channel_tokens`.

    A refresh runs in its own transaction holding the row's lock (a version bump), so two
    workers never spend the same single-use refresh token; the rotated token is committed
    before the new access token is used. The first refresh token comes from the settings;
    if the stored one is refused (the chain broke) a different one set in the settings is
    tried, so an admin restarts the chain by setting a new DONDOC_ZALO__OA_REFRESH_TOKEN.
    """

    CHANNEL = ChannelName.ZALO_OA.value

    def __init__(self, *, engine: Engine, zalo: ZaloSettings, now: datetime) -> None:
        if not zalo.app_id or zalo.secret_key is None:
            raise ValueError("Zalo OA needs DONDOC_ZALO__APP_ID and DONDOC_ZALO__SECRET_KEY")
        self._engine = engine
        self._zalo = zalo
        self._app_id: str = zalo.app_id
        self._now = now
        protect([zalo.secret_key.get_secret_value(), self._bootstrap_token()])

    def _bootstrap_token(self) -> str | None:
        token = self._zalo.oa_refresh_token
        return token.get_secret_value() if token is not None else None

    def _fresh(self, row: ChannelToken | None) -> bool:
        return bool(
            row is not None
            and row.access_token
            and row.access_expires_at is not None
            and row.access_expires_at > self._now + EXPIRY_MARGIN
        )

    def access_token(self) -> str:
        with transaction(self._engine) as session:
            row = self._row(session)
            if row is not None:
                protect([row.access_token, row.refresh_token])
            if row is not None and self._fresh(row):
                assert row.access_token is not None
                return row.access_token
        return self.refresh(stale=row.access_token if row is not None else None)

    def _row(self, session: Any) -> ChannelToken | None:
        return session.scalars(
            select(ChannelToken).where(
                ChannelToken.channel == self.CHANNEL, ChannelToken.account == self._app_id
            )
        ).one_or_none()

    def _locked_row(self, session: Any) -> ChannelToken:
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
            candidates = [t for t in (row.refresh_token, self._bootstrap_token()) if t]
            if not candidates:
                raise ChannelUnavailable(
                    "Zalo OA: chưa có refresh token (đặt DONDOC_ZALO__OA_REFRESH_TOKEN)"
                )
            last_error = ""
            for refresh_token in dict.fromkeys(candidates):  # unique, stored one first
                ok, data = self._call_refresh(refresh_token)
                if ok:
                    row.access_token = str(data["access_token"])
                    row.refresh_token = str(data["refresh_token"])
                    row.access_expires_at = self._now + timedelta(
                        seconds=int(data.get("expires_in") or 90000)
                    )
                    row.updated_at = self._now
                    protect([row.access_token, row.refresh_token])
                    return row.access_token
                last_error = data.get("error_description") or data.get("error_name") or ""
                last_error = f"{last_error} (mã lỗi {data.get('error')})".strip()
        raise ChannelUnavailable(f"Zalo OA: không làm mới được access token — {last_error}")

    def _call_refresh(self, refresh_token: str) -> tuple[bool, dict[str, Any]]:
        assert self._zalo.secret_key is not None
        try:
            response = requests.post(
                f"{self._zalo.oauth_base.rstrip('/')}/v4/oa/access_token",
                headers={"secret_key": self._zalo.secret_key.get_secret_value()},
                data={
                    "refresh_token": refresh_token,
                    "app_id": self._app_id,
                    "grant_type": "refresh_token",
                },
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise ChannelUnavailable(
                f"Không kết nối được máy chủ cấp token Zalo: {type(exc).__name__}"
            ) from None
        data = _json(response)
        ok = bool(data.get("access_token") and data.get("refresh_token"))
        return ok, data


class _RunSession:
    """One `requests.Session` for a channel's delivery run, so its messages share a keep-alive
    connection; closed at the end of the run.

    The environment (proxies, CA bundle) is read once for the API's base URL, as requests
    would read it for each request (that reading cost ~0.3 ms a message). A connection idle
    for longer than IDLE_REUSE_SECONDS is not reused: a server closing an idle connection
    (uvicorn after 5 s) while a message is on its way would fail that message.
    """

    def __init__(self, base: str) -> None:
        self._base = base
        self._session: requests.Session | None = None
        self._used_at = 0.0

    def get(self) -> requests.Session:
        now = time.monotonic()
        if self._session is not None and now - self._used_at > IDLE_REUSE_SECONDS:
            self.close()
        if self._session is None:
            session = requests.Session()
            session.trust_env = False
            session.proxies.update(requests.utils.get_environ_proxies(self._base))
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                session.verify = bundle
            self._session = session
        self._used_at = now
        return self._session

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()


class ZaloOAChannel:
    """Messages to people who follow the office's Official Account.

    The access token is obtained in `prepare`, outside any outbox transaction (a refresh
    writes the rotated token to the database); a send refused for its token raises
    CredentialsExpired, and the outbox renews the token and tries that message once more.
    """

    name = ChannelName.ZALO_OA

    def __init__(self, *, base: str, tokens: TokenSource) -> None:
        register_schemes()
        self._base = base
        self._tokens = tokens
        self._token: str | None = None
        self._http = _RunSession(base)

    def prepare(self, *, renew: bool = False) -> None:
        self._token = (
            self._tokens.refresh(stale=self._token) if renew else self._tokens.access_token()
        )

    def send(self, message: Outgoing) -> str | None:
        if self._token is None:
            self.prepare()
        assert self._token is not None
        plugin = NotifyZaloOA(
            user_id=message.address, token=self._token, base=self._base, http=self._http.get()
        )
        if not plugin.notify(body=message.body):
            raise plugin.failure or DeliveryError("Gửi Zalo OA không thành công")
        return plugin.message_id

    def close(self) -> None:
        """Close the run's keep-alive connection."""
        self._http.close()


class ZaloBotChannel:
    """Messages through the office's Zalo bot, to people who have messaged it."""

    name = ChannelName.ZALO_BOT

    def __init__(self, *, base: str, token: str) -> None:
        register_schemes()
        protect([token])
        self._base = base
        self._token = token
        self._http = _RunSession(base)

    def prepare(self, *, renew: bool = False) -> None:
        """Nothing to fetch: the bot token does not expire."""

    def send(self, message: Outgoing) -> str | None:
        plugin = NotifyZaloBot(
            chat_id=message.address, token=self._token, base=self._base, http=self._http.get()
        )
        if not plugin.notify(body=message.body):
            raise plugin.failure or DeliveryError("Gửi Zalo Bot không thành công")
        return plugin.message_id

    def close(self) -> None:
        """Close the run's keep-alive connection."""
        self._http.close()
