"""Zalo's HTTP APIs as small typed clients over httpx, with their errors mapped to the outbox's.

- OA text message: POST {oa_api_base}/v3.0/oa/message/cs, header `access_token`, body
  {"recipient": {"user_id"}, "message": {"text"}}; reply {"error": 0, "data": {"message_id"}}.
  -216 (invalid token) / -220 (expired): CredentialsExpired, the caller renews the token and
  tries once more; -32: rate limited, back off; -213 (the user does not follow the OA) and
  -230 (the user has not interacted with the OA in the last 7 days, so the OA may not message
  them: outside the consultation window): RecipientUnreachable, given up at once and sent by
  the person's next channel. -230 is the code Zalo answers in practice (public integrations
  report it; Zalo's own table was not at hand).
- OA token refresh: POST {oauth_base}/v4/oa/access_token, header `secret_key`, form
  refresh_token, app_id, grant_type=refresh_token; reply {"access_token", "refresh_token",
  "expires_in"} or {"error", "error_name", "error_description"}. The refresh token is
  single-use and rotates (`notifications.zalo.DatabaseTokens` keeps it). -14014 says the token
  is invalid, used or expired; any other error (-14001 among them) says nothing about the
  token, which is kept and tried again later.
- Bot: POST {bot_api_base}/bot{token}/sendMessage with {"chat_id", "text"}; reply
  {"ok": true, "result": {"message_id"}} or {"ok": false, "error_code", "description"}.

A delivery run's requests share one keep-alive connection (`RunHttp`). Zalo's replies say
what went wrong in their JSON body, so they are read whatever the HTTP status.
"""

from __future__ import annotations

from typing import TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from notifications.channels import (
    ChannelUnavailable,
    CredentialsExpired,
    DeliveryError,
    RateLimited,
    RecipientUnreachable,
)
from notifications.redact import redact

TIMEOUT_SECONDS = 15
# An idle connection is not reused after this long, below any server's keep-alive timeout: a
# server closing it (uvicorn after 5 s) while a message is on its way would fail that message.
IDLE_REUSE_SECONDS = 2.0
RATE_LIMIT_BACKOFF_SECONDS = 60

OA_TOKEN_ERRORS = (-216, -220)
OA_RATE_LIMITED = -32
OA_NOT_FOLLOWING = -213
OA_OUTSIDE_WINDOW = -230
REFRESH_TOKEN_REFUSED = (-14014,)
BOT_TOKEN_REFUSED = (401, 403, 404)
BOT_RATE_LIMITED = 429


class RunHttp:
    """A delivery run's HTTP client: one keep-alive connection per host, opened on first use,
    closed at the end of the run (a later request opens a new client)."""

    def __init__(self) -> None:
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=TIMEOUT_SECONDS,
                limits=httpx.Limits(
                    max_keepalive_connections=1, keepalive_expiry=IDLE_REUSE_SECONDS
                ),
            )
        return self._client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


# --- the messages --------------------------------------------------------------------------


class OARecipient(BaseModel):
    user_id: str


class OAText(BaseModel):
    text: str


class OAMessage(BaseModel):
    recipient: OARecipient
    message: OAText


class _Reply(BaseModel):
    """A reply's fields as Zalo may send them (an id as a number or text)."""

    model_config = ConfigDict(coerce_numbers_to_str=True)


class OAReplyData(_Reply):
    message_id: str | None = None


class OAReply(_Reply):
    error: int = -1
    message: str | None = None
    data: OAReplyData | None = None


class TokenReply(_Reply):
    access_token: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = None
    error: int | None = None
    error_name: str | None = None
    error_description: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.access_token and self.refresh_token)

    @property
    def refused(self) -> bool:
        """Zalo refused the refresh token itself (invalid, used or expired): never send it again."""
        return self.error in REFRESH_TOKEN_REFUSED

    @property
    def reason(self) -> str:
        """Why the refresh was refused, as Zalo says it."""
        return f"{self.error_description or self.error_name or ''} (mã lỗi {self.error})".strip()


class BotMessage(BaseModel):
    chat_id: str
    text: str


class BotResult(_Reply):
    message_id: str | None = None


class BotReply(_Reply):
    ok: bool = False
    result: BotResult | None = None
    error_code: int | None = None
    description: str | None = None


Reply = TypeVar("Reply", bound=BaseModel)


def _read(response: httpx.Response, model: type[Reply]) -> Reply:
    try:
        data = response.json()
    except ValueError:
        reason = f"Zalo trả lời không phải JSON (HTTP {response.status_code})"
        if response.is_server_error:  # a gateway's error page: the service is down for now
            raise ChannelUnavailable(reason) from None
        raise DeliveryError(reason) from None
    try:
        return model.model_validate(data)
    except ValidationError:
        raise DeliveryError(
            f"Zalo trả lời không đúng định dạng (HTTP {response.status_code})"
        ) from None


def _unreachable(service: str, error: httpx.HTTPError) -> ChannelUnavailable:
    return ChannelUnavailable(f"Không kết nối được {service}: {type(error).__name__}")


# --- the clients ---------------------------------------------------------------------------


class ZaloOAClient:
    """Text messages from the Official Account to the people who follow it."""

    def __init__(self, http: RunHttp, base: str) -> None:
        self._http = http
        self._url = f"{base.rstrip('/')}/v3.0/oa/message/cs"

    def send_text(self, *, access_token: str, user_id: str, text: str) -> str | None:
        """Send; the provider's message id, or a DeliveryError saying what to do next."""
        body = OAMessage(recipient=OARecipient(user_id=user_id), message=OAText(text=text))
        try:
            response = self._http.client.post(
                self._url, json=body.model_dump(), headers={"access_token": access_token}
            )
        except httpx.HTTPError as error:
            raise _unreachable("Zalo OA", error) from None
        reply = _read(response, OAReply)
        if reply.error == 0:
            return reply.data.message_id if reply.data and reply.data.message_id else None
        detail = redact(f"{reply.message or ''} (mã lỗi {reply.error})".strip(), [access_token])
        if reply.error in OA_TOKEN_ERRORS:
            raise CredentialsExpired(f"Zalo OA: access token không dùng được — {detail}")
        if reply.error == OA_NOT_FOLLOWING:
            raise RecipientUnreachable(f"Zalo OA: người nhận chưa quan tâm OA — {detail}")
        if reply.error == OA_OUTSIDE_WINDOW:
            raise RecipientUnreachable(
                f"Zalo OA: người nhận không tương tác với OA trong 7 ngày qua, OA chưa được "
                f"nhắn tin cho họ — {detail}"
            )
        if reply.error == OA_RATE_LIMITED:
            raise RateLimited(f"Zalo OA: vượt giới hạn gửi — {detail}", RATE_LIMIT_BACKOFF_SECONDS)
        raise DeliveryError(f"Zalo OA: {detail}")


class ZaloOAuthClient:
    """The OA's token refresh: a single-use refresh token for a new access and refresh token."""

    def __init__(self, http: RunHttp, base: str, *, app_id: str, secret_key: str) -> None:
        self._http = http
        self._url = f"{base.rstrip('/')}/v4/oa/access_token"
        self._app_id = app_id
        self._secret_key = secret_key

    def refresh(self, refresh_token: str) -> TokenReply:
        """Zalo's answer, granted (`ok`) or refused; ChannelUnavailable if it cannot be asked."""
        try:
            response = self._http.client.post(
                self._url,
                headers={"secret_key": self._secret_key},
                data={
                    "refresh_token": refresh_token,
                    "app_id": self._app_id,
                    "grant_type": "refresh_token",
                },
            )
        except httpx.HTTPError as error:
            raise _unreachable("máy chủ cấp token Zalo", error) from None
        return _read(response, TokenReply)


class ZaloBotClient:
    """Messages from the office's Zalo bot to the chats that have messaged it."""

    def __init__(self, http: RunHttp, base: str, *, token: str) -> None:
        self._http = http
        self._token = token
        self._url = f"{base.rstrip('/')}/bot{token}/sendMessage"

    def send_message(self, *, chat_id: str, text: str) -> str | None:
        """Send; the provider's message id, or a DeliveryError saying what to do next."""
        body = BotMessage(chat_id=chat_id, text=text)
        try:
            response = self._http.client.post(self._url, json=body.model_dump())
        except httpx.HTTPError as error:
            raise _unreachable("Zalo Bot", error) from None
        reply = _read(response, BotReply)
        if reply.ok:
            return reply.result.message_id if reply.result and reply.result.message_id else None
        code = reply.error_code or response.status_code
        detail = redact(f"{reply.description or ''} (mã lỗi {code})".strip(), [self._token])
        if code in BOT_TOKEN_REFUSED:
            raise ChannelUnavailable(f"Zalo Bot: token của bot bị từ chối — {detail}")
        if code == BOT_RATE_LIMITED:
            raise RateLimited(f"Zalo Bot: vượt giới hạn gửi — {detail}", RATE_LIMIT_BACKOFF_SECONDS)
        raise DeliveryError(f"Zalo Bot: {detail}")
