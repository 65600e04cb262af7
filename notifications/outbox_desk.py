"""The office's view of the outbox: messages by state and channel, what went out about an item,
the last error in plain Vietnamese, and the targets of a retry (requeued by `outbox.requeue`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased

from models.items import DueItem
from models.org import Person, Unit
from models.outbox import OutboxIntent, OutboxMessage, OutboxStatus
from models.plan import Deliverable, Obligation
from notifications.channels import CHANNEL_VI, ChannelName
from notifications.messages import AUDIENCE_VI
from notifications.outbox import RETRYABLE, STATUS_VI, requeue
from status.unit_view import Paging
from wording import vietnamese

CHANNELS = {c.value for c in ChannelName}
STEP_KIND_VI = {"reminder": "Nhắc hạn", "overdue": "Đôn đốc quá hạn"}


@dataclass(frozen=True)
class Recipient:
    """Whom a message went to, as the office reads it."""

    name: str
    where: str | None  # their title and unit, or what the webhook is

    @property
    def label(self) -> str:
        return f"{self.name} ({self.where})" if self.where else self.name


@dataclass(frozen=True)
class ItemMessage:
    """One reminder or escalation about an item: one intent and the message that carried it."""

    key: str
    step_code: str
    step_kind: str  # Vietnamese: nhắc hạn / đôn đốc quá hạn
    audience: str  # why the recipient got it, in Vietnamese
    recipient: Recipient
    channel: str  # Vietnamese
    status: OutboxStatus
    state: str  # Vietnamese
    at: datetime  # sent, last tried, or decided
    fallback_of: str | None  # the key of the message this one stands in for
    error: str | None  # explained in Vietnamese
    technical: str | None


def _recipient(person: Person | None, recipient_key: str) -> Recipient:
    if person is not None:
        where = ", ".join(p for p in (person.title, person.unit.name) if p)
        return Recipient(person.full_name, where or None)
    return Recipient(recipient_key.removeprefix("webhook:"), "webhook")


def _channel_vi(channel: str) -> str:
    return CHANNEL_VI[ChannelName(channel)] if channel in CHANNELS else channel


def item_messages(item_ids: Iterable[int], *, session: Session) -> dict[int, list[ItemMessage]]:
    """Every reminder and escalation recorded about these items, newest first."""
    ids = list(item_ids)
    if not ids:
        return {}
    original = aliased(OutboxMessage)
    rows = session.execute(
        select(OutboxIntent, OutboxMessage, Person, original.key)
        .join(OutboxMessage, OutboxMessage.id == OutboxIntent.message_id)
        .outerjoin(Person, Person.id == OutboxMessage.person_id)
        .outerjoin(original, original.id == OutboxMessage.fallback_of)
        .where(OutboxIntent.item_id.in_(ids))
        .order_by(OutboxIntent.decided_at.desc(), OutboxIntent.id.desc())
    ).all()
    out: dict[int, list[ItemMessage]] = {}
    for intent, message, person, replaced in rows:
        # The intent's own state: a digest may go out while this item's part was cancelled.
        status = OutboxStatus(intent.status)
        if status is OutboxStatus.PENDING and message.status == OutboxStatus.FAILED.value:
            status = OutboxStatus.FAILED
        technical = intent.note if status is OutboxStatus.DEAD else None
        technical = technical or (message.last_error if status is not OutboxStatus.SENT else None)
        out.setdefault(intent.item_id, []).append(
            ItemMessage(
                key=message.key,
                step_code=intent.step_code,
                step_kind=STEP_KIND_VI.get(intent.step_kind, intent.step_kind),
                audience=AUDIENCE_VI.get(intent.audience, intent.audience),
                recipient=_recipient(person, message.recipient_key),
                channel=_channel_vi(message.channel),
                status=status,
                state=STATUS_VI[status],
                at=message.sent_at or message.last_attempt_at or intent.decided_at,
                fallback_of=replaced,
                error=explain(technical) if technical else None,
                technical=technical,
            )
        )
    return out


# --- the last error, explained ----------------------------------------------------------------

# notifications.delivering.gave_up_note's sentence, around the last error it kept.
_GAVE_UP = re.compile(
    r"^Đã dừng gửi: quá (\d+) ngày làm việc vẫn chưa gửi được(?: \(lỗi gần nhất: (.*)\))?$", re.S
)


_NOT_TRIED = "Chưa thử gửi:"  # the channel was down before the message's turn came


def explain(error: str) -> str:
    """A stored delivery error as one plain Vietnamese sentence saying what happened and what
    to do (the stored text stays available to the technical staff)."""
    gave_up = _GAVE_UP.match(error)
    if gave_up:
        days, last = gave_up.groups()
        why = f" {explain(last)}" if last else ""
        return (
            f"Đã ngừng gửi vì quá {days} ngày làm việc vẫn chưa gửi được.{why} "
            "Khi đã khắc phục, bấm «Gửi lại»."
        )
    match error:
        case e if e.startswith(_NOT_TRIED):
            return f"Chưa gửi thử lần nào: {explain(e.removeprefix(_NOT_TRIED).strip())}"
        case e if "Chưa cấu hình máy chủ thư" in e:
            return "Chưa khai báo máy chủ thư điện tử: nhờ bộ phận kỹ thuật cấu hình rồi gửi lại."
        case e if e.startswith("Không kết nối được máy chủ thư"):
            return (
                "Không kết nối được máy chủ thư điện tử (máy chủ không chạy, sai địa chỉ hoặc "
                "sai tài khoản gửi thư): nhờ bộ phận kỹ thuật kiểm tra."
            )
        case e if e.startswith("Máy chủ thư (SMTP) không nhận thư"):
            return "Máy chủ thư từ chối thư này: kiểm tra lại địa chỉ thư điện tử của người nhận."
        case e if e.startswith("Địa chỉ thư không hợp lệ"):
            return "Địa chỉ thư điện tử của người nhận không hợp lệ: sửa trong danh sách cán bộ."
        case e if "chưa quan tâm OA" in e:
            return "Người nhận chưa quan tâm Zalo OA của cơ quan nên chưa nhắn tin cho họ được."
        case e if "không tương tác với OA" in e:
            return (
                "Người nhận không tương tác với Zalo OA trong 7 ngày qua nên OA chưa được nhắn "
                "tin cho họ."
            )
        case e if "access token" in e or "token của bot bị từ chối" in e:
            return (
                "Tài khoản Zalo của hệ thống đã hết hạn hoặc bị từ chối: nhờ bộ phận kỹ thuật "
                "cấp lại."
            )
        case e if "vượt giới hạn gửi" in e:
            return "Zalo tạm giới hạn số tin gửi đi; hệ thống tự gửi lại sau."
        case e if e.startswith("Không kết nối được Zalo") or e.startswith("Zalo trả lời"):
            return "Không liên lạc được với máy chủ Zalo; hệ thống tự thử lại ở lượt sau."
        case e if e.startswith("Webhook") and "không còn trong cấu hình" in e:
            return "Địa chỉ nhận bản sao (webhook) đã bị bỏ khỏi cấu hình."
        case e if e.startswith("Webhook"):
            return "Hệ thống nhận bản sao (webhook) không nhận tin; hệ thống tự thử lại ở lượt sau."
        case e if e.startswith("Gửi thay qua"):
            return "Không gửi được qua kênh này nên đã gửi thay qua kênh khác của người nhận."
        case e if e.startswith("Người nhận đã nhận các việc này qua kênh khác"):
            return "Người nhận đã nhận các việc này qua kênh khác."
        case e if e.startswith("Lỗi không lường trước"):
            return "Lỗi chưa lường trước của hệ thống: báo bộ phận kỹ thuật (kèm chi tiết)."
        case e if e.startswith("Zalo"):
            return "Zalo từ chối tin nhắn; xem chi tiết kỹ thuật hoặc hỏi bộ phận kỹ thuật."
        case _:
            return error if error.endswith(".") else f"{error}."


# --- the outbox page --------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxLine:
    """One message of the outbox page."""

    key: str
    recipient: Recipient
    address: str
    channel: str  # the channel's name (for a retry)
    channel_vi: str
    status: OutboxStatus
    state: str
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    fallback_of: str | None
    items: list[str]  # "UBND xã Một: Báo cáo quý, quý I năm 2024"
    error: str | None
    technical: str | None

    @property
    def retryable(self) -> bool:
        return self.status.value in RETRYABLE


@dataclass(frozen=True)
class OutboxCounts:
    by_status: dict[OutboxStatus, int]
    by_channel: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def _filters(status: OutboxStatus | None, channel: str | None) -> list[ColumnElement[bool]]:
    where = []
    if status is not None:
        where.append(OutboxMessage.status == status.value)
    if channel is not None:
        where.append(OutboxMessage.channel == channel)
    return where


def outbox_counts(*, session: Session, channel: str | None = None) -> OutboxCounts:
    """Messages per state (of the chosen channel) and per channel (all states)."""
    by_status = dict.fromkeys(OutboxStatus, 0)
    for status, n in session.execute(
        select(OutboxMessage.status, func.count())
        .where(*_filters(None, channel))
        .group_by(OutboxMessage.status)
    ):
        by_status[OutboxStatus(status)] = n
    by_channel = {
        c: n
        for c, n in session.execute(
            select(OutboxMessage.channel, func.count()).group_by(OutboxMessage.channel)
        )
    }
    return OutboxCounts(by_status=by_status, by_channel=by_channel)


def outbox_page(
    *,
    session: Session,
    status: OutboxStatus | None,
    channel: str | None,
    page: int,
    size: int = 50,
) -> tuple[list[OutboxLine], Paging]:
    """One page of messages (newest first) of a state and channel, with their items."""
    where = _filters(status, channel)
    total = session.scalar(select(func.count()).select_from(OutboxMessage).where(*where)) or 0
    paging = Paging.of(page, size, total)
    original = aliased(OutboxMessage)
    rows = session.execute(
        select(OutboxMessage, Person, original.key)
        .outerjoin(Person, Person.id == OutboxMessage.person_id)
        .outerjoin(original, original.id == OutboxMessage.fallback_of)
        .where(*where)
        .order_by(OutboxMessage.id.desc())
        .offset(paging.offset)
        .limit(size)
    ).all()
    items = _items_of([m.id for m, _, _ in rows], session=session)
    lines = []
    for message, person, replaced in rows:
        status_of = OutboxStatus(message.status)
        technical = message.last_error if status_of is not OutboxStatus.SENT else None
        lines.append(
            OutboxLine(
                key=message.key,
                recipient=_recipient(person, message.recipient_key),
                address=message.address,
                channel=message.channel,
                channel_vi=_channel_vi(message.channel),
                status=status_of,
                state=STATUS_VI[status_of],
                attempts=message.attempts,
                created_at=message.created_at,
                last_attempt_at=message.last_attempt_at,
                next_attempt_at=message.next_attempt_at,
                sent_at=message.sent_at,
                fallback_of=replaced,
                items=items.get(message.id, []),
                error=explain(technical) if technical else None,
                technical=technical,
            )
        )
    return lines, paging


def _items_of(message_ids: list[int], *, session: Session) -> dict[int, list[str]]:
    if not message_ids:
        return {}
    rows = session.execute(
        select(
            OutboxIntent.message_id,
            Unit.name,
            func.coalesce(Obligation.title, Deliverable.title),
            DueItem.period_label,
        )
        .join(DueItem, DueItem.id == OutboxIntent.item_id)
        .join(Unit, Unit.id == DueItem.unit_id)
        .outerjoin(Obligation, Obligation.id == DueItem.obligation_id)
        .outerjoin(Deliverable, Deliverable.id == DueItem.deliverable_id)
        .where(OutboxIntent.message_id.in_(message_ids))
        .order_by(OutboxIntent.id)
    ).all()
    out: dict[int, list[str]] = {}
    for message_id, unit, title, period in rows:
        label = f"{unit}: {title}" + (f", {vietnamese.period(period)}" if period else "")
        if label not in out.setdefault(message_id, []):
            out[message_id].append(label)
    return out


# --- retries (the same requeue as `dondoc outbox --retry`) -----------------------------------


@dataclass(frozen=True)
class RetryTarget:
    """What a retry names: every channel ("all"), one channel, or one message by its key."""

    kind: str  # all | channel | message
    value: str | None = None

    @classmethod
    def parse(cls, text: str, *, session: Session) -> RetryTarget | None:
        """The target a form names, or None when it names nothing known."""
        if text == "all":
            return cls("all")
        if text in CHANNELS:
            return cls("channel", text)
        found = session.scalar(select(OutboxMessage.key).where(OutboxMessage.key == text))
        return cls("message", found) if found else None

    @property
    def where(self) -> list[ColumnElement[bool]]:
        if self.kind == "channel":
            return [OutboxMessage.channel == self.value]
        if self.kind == "message":
            return [OutboxMessage.key == self.value]
        return []

    @property
    def form_value(self) -> str:
        return self.value or "all"

    @property
    def label_vi(self) -> str:
        if self.kind == "channel" and self.value:
            return f"kênh {_channel_vi(self.value)}"
        if self.kind == "message" and self.value:
            return f"thông báo {self.value[:8]}"
        return "mọi kênh"


def retryable_count(target: RetryTarget, *, session: Session) -> int:
    """How many messages a retry of `target` would put back in the queue."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(*target.where, OutboxMessage.status.in_(RETRYABLE))
        )
        or 0
    )


def retry(target: RetryTarget, *, session: Session, now: datetime) -> list[str]:
    """Requeue the failed and given-up messages of `target`; their keys (the caller commits)."""
    return requeue(session=session, where=target.where, now=now)
