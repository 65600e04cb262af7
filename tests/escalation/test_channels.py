"""Each channel against a real local server: what arrives is read back and checked."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from demo.sinks import SmtpServer, ZaloServer
from models.db import transaction
from models.outbox import ChannelToken, OutboxStatus
from notifications.channels import ChannelUnavailable, CredentialsExpired
from notifications.zalo_api import RunHttp, ZaloBotClient, ZaloOAClient, ZaloOAuthClient
from settings import Settings
from tests.support.escalation import (
    APP_ID,
    FIRST_REFRESH,
    PORTAL,
    ZALO_SECRET,
    deliver_now,
    message_to,
    outbox_messages,
    record_now,
    vn,
)

# 13/03 08:00: the Q1 report's remind-3, and (catch-up) the deliverable overdue since 15/02.
MARCH_13 = vn(2024, 3, 13)


def test_email_arrives_in_vietnamese_with_link_and_stable_message_id(
    plan_db: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    record_now(plan_db, settings, MARCH_13)
    report = deliver_now(plan_db, settings, "email", MARCH_13)
    assert report.failed == report.dead == []
    message = message_to(plan_db, "can-bo@xa-hai.example", "email")
    [mail] = [m for m in smtp.received() if m.rcpt_tos == ("can-bo@xa-hai.example",)]

    assert mail.message_id == f"<{message.key}@ubnd-thu.example>"
    assert str(mail.message["To"]) == "Lương Thị Hai <can-bo@xa-hai.example>"
    assert str(mail.message["From"]) == "Hệ thống dondoc <dondoc@ubnd-thu.example>"
    assert mail.message["Subject"] == "Đôn đốc báo cáo: 1 việc quá hạn, 1 việc sắp đến hạn"
    assert mail.message.get_content_charset() == "utf-8"
    text = mail.text
    assert text.startswith("Kính gửi đồng chí Lương Thị Hai,")
    assert "tính đến 08 giờ 00, thứ Tư, 13/03/2024" in text
    # The overdue deliverable: 19 working days after Thu 15/02 (Tết does not count, no
    # weekend does), and the quarterly report due in 3 working days.
    assert "1. Nhiệm vụ: Kế hoạch giảm nghèo của xã\n   Đơn vị: UBND xã Hai\n" in text
    assert "Hạn hoàn thành: thứ Năm, 15/02/2024 — đã quá hạn 19 ngày làm việc" in text
    assert "1. Báo cáo kết quả giảm nghèo quý — quý I năm 2024" in text
    assert "Hạn gửi: thứ Hai, 18/03/2024 — còn 3 ngày làm việc" in text
    assert f"Trang của đơn vị: {PORTAL}/don-vi/xa-hai" in text
    assert "vì là cán bộ đầu mối báo cáo của UBND xã Hai" in text
    assert f"Mã thông báo: {message.key[:8]}" in text
    # What was sent is kept with the message for the admin.
    assert message.status == OutboxStatus.SENT and message.body == text


def test_zalo_oa_message_contract(plan_db: Engine, settings: Settings, zalo: ZaloServer) -> None:
    record_now(plan_db, settings, MARCH_13)
    report = deliver_now(plan_db, settings, "zalo_oa", MARCH_13)
    assert len(report.sent) == 2
    [request] = [r for r in zalo.delivered("oa") if r.body["recipient"]["user_id"] == "oa-x2"]
    text = request.body["message"]["text"]
    assert request.headers["access_token"] in zalo.state.access_tokens
    assert text.startswith("[dondoc] Kính gửi đồng chí Lương Thị Hai.")
    assert "Báo cáo kết quả giảm nghèo quý — quý I năm 2024 – UBND xã Hai" in text
    assert f"{PORTAL}/don-vi/xa-hai" in text
    assert len(text) <= 2000
    message = message_to(plan_db, "oa-x2", "zalo_oa")
    assert message.provider_id and message.provider_id.startswith("oa-")
    # The first refresh token was spent once and the rotated one is kept in the database.
    [refresh] = zalo.delivered("refresh")
    assert refresh.headers["secret_key"] and refresh.body["app_id"] == APP_ID
    with transaction(plan_db) as session:
        row = session.scalars(select(ChannelToken)).one()
    assert zalo.state.refresh_tokens == {row.refresh_token}


@pytest.mark.parametrize("error", [-220, -216])
def test_zalo_oa_refused_token_is_refreshed_and_the_message_delivered(
    plan_db: Engine, settings: Settings, zalo: ZaloServer, error: int
) -> None:
    # The database holds an access token it believes valid for another day; the server has
    # expired it (-220) or never knew it (-216).
    stale = "access-token-stale-77"
    if error == -220:
        zalo.state.expired_tokens.add(stale)
    zalo.state.refresh_tokens = {"refresh-token-stored-12"}
    with transaction(plan_db) as session:
        session.add(
            ChannelToken(
                channel="zalo_oa",
                account=APP_ID,
                access_token=stale,
                refresh_token="refresh-token-stored-12",
                access_expires_at=vn(2024, 3, 14),
                version=0,
                updated_at=vn(2024, 3, 12),
            )
        )
    record_now(plan_db, settings, MARCH_13)
    report = deliver_now(plan_db, settings, "zalo_oa", MARCH_13)

    assert len(report.sent) == 2 and report.failed == []
    refused = [r for r in zalo.state.refused if r.kind == "oa"]
    assert [r.headers["access_token"] for r in refused] == [stale]  # once, then refreshed
    [refresh] = zalo.delivered("refresh")
    assert refresh.body["refresh_token"] == "refresh-token-stored-12"
    with transaction(plan_db) as session:
        row = session.scalars(select(ChannelToken)).one()
    assert row.access_token != stale and row.access_token in zalo.state.access_tokens
    assert zalo.state.refresh_tokens == {row.refresh_token}  # the rotated one was stored
    assert {m.attempts for m in outbox_messages(plan_db) if m.channel == "zalo_oa"} == {1}


def test_zalo_oa_not_following_is_recorded_and_not_retried(
    plan_db: Engine, settings: Settings, zalo: ZaloServer
) -> None:
    zalo.state.not_following.add("oa-x2")
    record_now(plan_db, settings, MARCH_13)
    report = deliver_now(plan_db, settings, "zalo_oa", MARCH_13)
    message = message_to(plan_db, "oa-x2", "zalo_oa")
    assert report.dead == [message.key] and len(report.sent) == 1
    assert message.status == OutboxStatus.DEAD and message.next_attempt_at is None
    assert message.last_error and "chưa quan tâm OA" in message.last_error
    assert "-213" in message.last_error
    deliver_now(plan_db, settings, "zalo_oa", vn(2024, 3, 14))  # a later run does not retry
    attempts = [r for r in zalo.state.refused if r.body["recipient"]["user_id"] == "oa-x2"]
    assert len(attempts) == 1


def test_zalo_oa_rate_limit_backs_off_without_spending_attempts(
    plan_db: Engine, settings: Settings, zalo: ZaloServer
) -> None:
    zalo.state.rate_limited = 1
    record_now(plan_db, settings, MARCH_13)
    report = deliver_now(plan_db, settings, "zalo_oa", MARCH_13)
    assert report.sent == [] and report.stopped and "vượt giới hạn" in report.stopped
    oa = [m for m in outbox_messages(plan_db) if m.channel == "zalo_oa"]
    # One request was refused with -32; the other message was not even tried.
    assert len([r for r in zalo.state.refused if r.kind == "oa"]) == 1
    assert {(m.status, m.attempts) for m in oa} == {(OutboxStatus.FAILED, 0)}
    assert {m.next_attempt_at for m in oa} == {vn(2024, 3, 13, 8, 1)}
    assert deliver_now(plan_db, settings, "zalo_oa", vn(2024, 3, 13, 8, 0)).sent == []
    later = deliver_now(plan_db, settings, "zalo_oa", vn(2024, 3, 13, 8, 2))
    assert len(later.sent) == 2 and len(zalo.delivered("oa")) == 2


def test_zalo_bot_and_webhook_contracts(
    plan_db: Engine, settings: Settings, zalo: ZaloServer
) -> None:
    now = vn(2024, 3, 25)  # overdue-5 reaches the leader named in the obligation, on the bot
    record_now(plan_db, settings, now)
    assert len(deliver_now(plan_db, settings, "zalo_bot", now).sent) == 1
    [bot] = zalo.delivered("bot")
    assert bot.path.endswith("/sendMessage") and bot.body["chat_id"] == "chat-pct"
    assert bot.body["text"].startswith("[dondoc] Kính gửi đồng chí Lê Thị Phó.")
    assert "vì là lãnh đạo phụ trách theo kế hoạch" in bot.body["text"]
    assert f"{PORTAL}/don-vi/xa-hai" in bot.body["text"]

    assert len(deliver_now(plan_db, settings, "webhook", now).sent) == 1
    [hook] = zalo.delivered("webhook")
    message = message_to(plan_db, "so", "webhook")
    assert hook.headers["idempotency-key"] == message.key
    assert hook.headers["content-type"] == "application/json"
    assert hook.body["title"] == message.subject
    assert hook.body["message"].startswith("Thông báo đôn đốc báo cáo, tính đến 08 giờ 00")
    assert "quá hạn 5 ngày làm việc" in hook.body["message"]


def test_a_failing_webhook_is_retried_with_the_same_idempotency_key(
    plan_db: Engine, settings: Settings, zalo: ZaloServer
) -> None:
    zalo.state.webhook_status["/hooks/so"] = 503
    record_now(plan_db, settings, MARCH_13)
    deliver_now(plan_db, settings, "webhook", MARCH_13)
    message = message_to(plan_db, "so", "webhook")
    assert message.status == OutboxStatus.FAILED and message.attempts == 1
    assert message.last_error and "503" in message.last_error
    assert message.next_attempt_at == vn(2024, 3, 13, 8, 10)  # 600 s base backoff

    zalo.state.webhook_status.clear()
    deliver_now(plan_db, settings, "webhook", vn(2024, 3, 13, 8, 11))
    keys = [r.headers["idempotency-key"] for r in zalo.state.refused + zalo.state.delivered]
    assert keys == [message.key, message.key]
    assert message_to(plan_db, "so", "webhook").status == OutboxStatus.SENT


def test_a_refused_bot_token_stops_the_channel_and_stays_out_of_the_error(
    plan_db: Engine, settings: Settings, zalo: ZaloServer
) -> None:
    zalo.state.bot_token = "another-token-99"
    now = vn(2024, 3, 25)
    record_now(plan_db, settings, now)
    report = deliver_now(plan_db, settings, "zalo_bot", now)
    message = message_to(plan_db, "chat-pct", "zalo_bot")
    assert report.stopped and message.status == OutboxStatus.FAILED
    assert message.last_error and "token của bot bị từ chối" in message.last_error
    assert settings.zalo.bot_token is not None
    assert settings.zalo.bot_token.get_secret_value() not in message.last_error


def test_the_zalo_clients_speak_the_contracts(zalo: ZaloServer) -> None:
    http = RunHttp()
    try:
        oauth = ZaloOAuthClient(http, zalo.base, app_id=APP_ID, secret_key=ZALO_SECRET)
        granted = oauth.refresh(FIRST_REFRESH)
        assert granted.ok and granted.access_token and granted.refresh_token
        assert granted.expires_in == 90000
        spent = oauth.refresh(FIRST_REFRESH)  # single use: the token has rotated
        assert not spent.ok and spent.reason == "Refresh token không hợp lệ (mã lỗi -14014)"

        oa = ZaloOAClient(http, zalo.base)
        sent = oa.send_text(
            access_token=granted.access_token, user_id="oa-x1", text="Thử nghiệm: xin chào"
        )
        assert sent and sent.startswith("oa-")
        bot = ZaloBotClient(http, zalo.base, token=zalo.state.bot_token)
        assert (bot.send_message(chat_id="chat-pct", text="Thử nghiệm: xin chào") or "").startswith(
            "bot-"
        )
        assert [r.body["message"]["text"] for r in zalo.delivered("oa")] == ["Thử nghiệm: xin chào"]
        assert [r.body["text"] for r in zalo.delivered("bot")] == ["Thử nghiệm: xin chào"]

        # A refused token is an error the outbox knows what to do with.
        with pytest.raises(CredentialsExpired):
            oa.send_text(access_token="nope-token", user_id="oa-x1", text="x")
        wrong = ZaloBotClient(http, zalo.base, token="another-token-99")
        with pytest.raises(ChannelUnavailable) as refused:
            wrong.send_message(chat_id="chat-pct", text="x")
        assert "token của bot bị từ chối" in refused.value.reason
        assert "another-token-99" not in refused.value.reason
    finally:
        http.close()


def test_an_unreachable_zalo_stops_the_channel() -> None:
    http = RunHttp()
    try:
        with pytest.raises(ChannelUnavailable, match="Không kết nối được Zalo Bot"):
            ZaloBotClient(http, "http://127.0.0.1:9", token="tok-abcdef").send_message(
                chat_id="chat-1", text="x"
            )
    finally:
        http.close()
