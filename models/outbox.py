"""The outbox tables: messages, the intents they carry, and rotated channel tokens."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime
from models.org import Person


class OutboxStatus(StrEnum):
    PENDING = "pending"  # decided, not yet delivered
    SENT = "sent"  # a server accepted it
    FAILED = "failed"  # the last attempt failed; retried at next_attempt_at
    DEAD = "dead"  # given up (too old to be worth sending, or the recipient cannot be reached)
    CANCELLED = "cancelled"  # no longer needed (submitted, exempted, deadline moved)


OPEN_STATUSES = (OutboxStatus.PENDING.value, OutboxStatus.FAILED.value)


class OutboxMessage(Base):
    """One digest to one recipient on one channel; what the delivery step sends."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "channel", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # stable across resends
    channel: Mapped[str] = mapped_column(String(16))
    recipient_key: Mapped[str] = mapped_column(String(64))  # "person:<id>" or "webhook:<name>"
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    address: Mapped[str] = mapped_column(String(255))  # email, Zalo id, chat id, webhook name
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requeued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # by the admin: a new
    # give-up clock (it runs from created_at otherwise)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)  # shown to the admin; never a secret
    subject: Mapped[str | None] = mapped_column(Text)  # what was (last) sent
    body: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(128))  # e.g. Zalo's message_id
    # The message this one stands in for: its recipient could not be reached on that channel.
    fallback_of: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"), index=True)

    person: Mapped[Person | None] = relationship()


class OutboxIntent(Base):
    """One rung of one item's ladder for one recipient on one channel: decided once."""

    __tablename__ = "outbox_intents"
    __table_args__ = (
        UniqueConstraint(
            "item_id",
            "step_code",
            "deadline_on",
            "recipient_key",
            "channel",
            name="uq_outbox_intents_key",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("due_items.id"), index=True)
    step_code: Mapped[str] = mapped_column(String(64))
    step_kind: Mapped[str] = mapped_column(String(16))  # reminder | overdue
    step_on: Mapped[date] = mapped_column(Date)  # the rung's working day
    deadline_on: Mapped[date] = mapped_column(Date)  # the effective deadline it counts from
    audience: Mapped[str] = mapped_column(String(32))  # why the recipient gets it
    recipient_key: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # sent, cancelled or dead
    note: Mapped[str | None] = mapped_column(Text)  # why it was cancelled

    message: Mapped[OutboxMessage] = relationship()


class ChannelOutage(Base):
    """A stretch of time a channel could not deliver at all (its server down, its credentials
    refused): the admin is alerted once for it, not once per run."""

    __tablename__ = "channel_outages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a delivery went through
    last_error: Mapped[str] = mapped_column(Text)  # never a secret
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the admin's one alert


class RunAlert(Base):
    """A failed or crashed flow run, counted once in its flow's outage (FlowOutage): whichever
    path sees the run first (the run's own failure hook, or the alert flow the server starts
    for a run whose process died) claims this row; `sent_at` is when it was counted (and the
    outage's mail, if this run started it, sent)."""

    __tablename__ = "run_alerts"

    flow_run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow_name: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FlowOutage(Base):
    """A stretch of time a scheduled flow kept failing: opened by its first failed or crashed
    run, counting the ones after it, ended by its next successful run. The admin gets one mail
    when it starts, a reminder now and then while it lasts, and one when it is over."""

    __tablename__ = "flow_outages"

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_name: Mapped[str] = mapped_column(String(128), index=True)
    # The flow's name while the outage lasts, NULL once over: unique, so two runs failing at
    # once cannot open two outages of one flow.
    open_flow: Mapped[str | None] = mapped_column(String(128), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a run completed
    failed_runs: Mapped[int] = mapped_column(Integer)
    last_run_name: Mapped[str] = mapped_column(String(255))
    last_run_id: Mapped[str] = mapped_column(String(64))
    last_state: Mapped[str] = mapped_column(String(16))  # Failed or Crashed
    last_error: Mapped[str] = mapped_column(Text)  # secrets masked
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last "down" mail
    recovery_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelToken(Base):
    """Rotating credentials of a channel account (the Zalo OA's access and refresh tokens)."""

    __tablename__ = "channel_tokens"
    __table_args__ = (UniqueConstraint("channel", "account"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(64))
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of the configured first refresh token once spent: it is never sent again.
    seed_digest: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=0)  # bumped to take the row's lock
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
