"""`dondoc remind` and `dondoc outbox`: what goes out, to whom, and what could not be delivered."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from cli.common import console, engine, fail, now, parse_instant, read_session, write_session
from models.calendar import load_calendar
from models.items import DueItem
from models.outbox import OutboxIntent, OutboxMessage, OutboxStatus
from notifications.channels import CHANNEL_VI, ChannelName
from notifications.daily_check import run_once, sending_window_open
from notifications.deciding import Decision, decide
from notifications.fallback import fallback_of_keys
from notifications.messages import AUDIENCE_VI
from notifications.outbox import STATUS_VI, list_messages, requeue
from notifications.routing import People, load_people
from notifications.wiring import enabled_channels
from schedules.escalation import next_sending_time
from settings import get_settings
from wording.vietnamese import local_iso


def _when(instant: datetime | None) -> str:
    return local_iso(instant)[:16].replace("T", " ") if instant else ""


def _recipient(people: People, recipient_key: str, person_id: int | None) -> str:
    person = people.by_id.get(person_id) if person_id is not None else None
    if person is not None:
        return f"{person.full_name} ({person.unit_name})"
    return recipient_key.removeprefix("webhook:") + " (webhook)"


def _item_labels(session: Session, item_ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(item_ids))
    rows = session.execute(select(DueItem.id, DueItem.key).where(DueItem.id.in_(ids)))
    # "report:<plan>:<obligation>:<unit>:<period>" -> "<obligation> <unit> <period>"
    return {i: " ".join(key.split(":")[2:]) for i, key in rows}


def _print_decision(session: Session, decision: Decision, people: People) -> None:
    groups: dict[tuple[str, str], list[int]] = {}
    for i, draft in enumerate(decision.drafts):
        groups.setdefault((draft.recipient_key, draft.channel), []).append(i)
    labels = _item_labels(session, (d.item_id for d in decision.drafts))
    table = Table(
        "Người nhận",
        "Kênh",
        "Địa chỉ",
        "Việc — bậc nhắc",
        "Lý do nhận",
        title="Sẽ gửi (chạy thử, chưa ghi và chưa gửi gì)",
    )
    for (recipient_key, channel), indexes in groups.items():
        drafts = [decision.drafts[i] for i in indexes]
        table.add_row(
            _recipient(people, recipient_key, drafts[0].person_id),
            CHANNEL_VI[ChannelName(channel)],
            drafts[0].address,
            "\n".join(f"{labels[d.item_id]} — {d.step_code}" for d in drafts),
            "\n".join(AUDIENCE_VI[d.audience] for d in drafts),
        )
    console.print(table)
    if not decision.drafts:
        console.print("Không có thông báo mới nào đến hạn gửi.")


def _print_unreachable(decision: Decision) -> None:
    if not decision.unreachable:
        return
    table = Table(
        "Việc",
        "Đơn vị",
        "Bậc nhắc",
        "Đối tượng",
        "Vấn đề",
        title="Không có người nhận (bổ sung người hoặc địa chỉ trong kế hoạch)",
    )
    why = {"no_person": "không có người", "no_address": "không có địa chỉ trên kênh nào"}
    for gap in decision.unreachable:
        table.add_row(
            gap.item_key, gap.unit_name, gap.step_code, AUDIENCE_VI[gap.audience], why[gap.why]
        )
    console.print(table)


def _print_messages(session: Session, keys: list[str], people: People) -> None:
    messages = list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.key.in_(keys)).order_by(OutboxMessage.id)
        )
    )
    counts = dict(
        session.execute(
            select(OutboxIntent.message_id, func.count())
            .where(OutboxIntent.message_id.in_([m.id for m in messages]))
            .group_by(OutboxIntent.message_id)
        ).all()
    )
    table = Table(
        "Người nhận",
        "Kênh",
        "Địa chỉ",
        "Số việc",
        "Trạng thái",
        "Mã",
        "Ghi chú",
        title="Thông báo của lượt chạy này",
    )
    for m in messages:
        table.add_row(
            _recipient(people, m.recipient_key, m.person_id),
            CHANNEL_VI[ChannelName(m.channel)],
            m.address,
            str(counts.get(m.id, 0)),
            STATUS_VI[OutboxStatus(m.status)],
            m.key[:8],
            m.last_error or "",
        )
    console.print(table)


def remind(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Thời điểm hoặc ngày (giờ Việt Nam); mặc định: bây giờ."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Chạy thử: cho xem những gì sẽ gửi; không ghi, không gửi."),
    ] = False,
) -> None:
    """Gửi các thông báo đôn đốc đã đến lúc gửi, và cho biết đã gửi gì, cho ai.

    Thông báo đôn đốc gồm nhắc hạn cho đơn vị và báo lên cấp trên khi quá hạn.
    """
    instant = parse_instant(as_of)
    settings = get_settings()
    channels = [c.value for c in enabled_channels(settings)]
    with read_session() as session:
        calendar = load_calendar(session=session)
        people = load_people(session=session)
        sending = sending_window_open(engine=engine(), settings=settings, now=instant)
        if dry_run:
            decision = decide(
                session=session,
                now=instant,
                calendar=calendar,
                channels=channels,
                webhooks=list(settings.webhooks),
                chase_working_days=settings.escalation.chase_working_days,
            )
            session.rollback()  # a dry run writes nothing
            _print_decision(session, decision, people)
            _print_unreachable(decision)
    if not sending:
        nxt = next_sending_time(
            instant,
            calendar,
            start=settings.escalation.work_start,
            end=settings.escalation.work_end,
        )
        console.print(
            f"Ngoài giờ làm việc hoặc ngày nghỉ: không gửi lúc này. Lần gửi sớm nhất: {_when(nxt)}."
        )
        return
    if dry_run:
        return
    report = run_once(engine=engine(), settings=settings, now=instant)
    assert report.recorded is not None
    keys: list[str] = []
    for delivery in report.deliveries:
        keys += delivery.sent + delivery.failed + delivery.dead + delivery.cancelled
    with read_session() as session:
        _print_messages(session, keys, people)
    _print_unreachable(report.recorded.decision)
    for delivery in report.deliveries:
        if delivery.stopped:
            console.print(
                f"[yellow]{CHANNEL_VI[ChannelName(delivery.channel)]}:[/] {delivery.stopped}",
                highlight=False,
            )
    sent = sum(len(d.sent) for d in report.deliveries)
    console.print(f"Đã gửi {sent} thông báo ({len(report.recorded.message_ids)} thông báo mới).")
    crashed = [CHANNEL_VI[ChannelName(d.channel)] for d in report.deliveries if d.crashed]
    if crashed:  # a bug or a malformed setting, not a server down: whoever runs it must know
        fail(f"kênh {', '.join(crashed)} gặp lỗi không lường trước; các kênh khác vẫn đã gửi")


def _retry_target(
    session: Session, retry: str
) -> tuple[list[ColumnElement[bool]], str | None, str]:
    """What `--retry` names: (filter, the one message's key if it names one, label)."""
    if retry == "all":
        return [], None, "mọi kênh"
    if retry in {c.value for c in ChannelName}:
        return [OutboxMessage.channel == retry], None, f"kênh {CHANNEL_VI[ChannelName(retry)]}"
    matches = list(
        session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.startswith(retry)))
    )
    if not matches:
        fail(
            f"--retry {retry!r}: không có thông báo nào có mã bắt đầu như vậy, cũng không phải "
            "tên kênh (email, zalo_oa, zalo_bot, webhook) hay all"
        )
    if len(matches) > 1:
        fail(f"--retry {retry!r}: {len(matches)} thông báo có mã bắt đầu như vậy; nhập dài hơn")
    return [OutboxMessage.key == matches[0]], matches[0], f"thông báo {matches[0][:8]}"


def _retry(retry: str) -> None:
    """Requeue what `--retry` names and say what became of it."""
    with write_session() as session:
        where, key, label = _retry_target(session, retry)
        keys = requeue(session=session, where=where, now=now())
        if key is not None:
            status = session.scalars(select(OutboxMessage.status).where(*where)).one()
            console.print(f"Thông báo {key[:8]}: {STATUS_VI[OutboxStatus(status)]}.")
            return
    console.print(
        f"Đã đưa lại {len(keys)} thông báo vào hàng đợi ({label}); "
        "chúng sẽ được gửi ở lượt chạy tới."
    )


def outbox(
    show_all: Annotated[
        bool, typer.Option("--all", help="Mọi thông báo, không chỉ những thông báo chưa gửi được.")
    ] = False,
    retry: Annotated[
        str | None,
        typer.Option(
            help="Đưa lại vào hàng đợi các thông báo gửi lỗi hoặc đã dừng gửi: một mã thông báo "
            "(vài ký tự đầu), tên một kênh (email, zalo_oa, zalo_bot, webhook) hoặc all."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="Số dòng tối đa.")] = 200,
) -> None:
    """Hộp thư đi: thông báo gửi lỗi (sẽ thử lại) hoặc đã dừng gửi, kèm lỗi gần nhất.

    Kèm cả thông báo đã gửi thay qua kênh khác.
    """
    if retry is not None:
        _retry(retry)
        return
    statuses = None if show_all else [OutboxStatus.FAILED.value, OutboxStatus.DEAD.value]
    with read_session() as session:
        messages = list_messages(session=session, statuses=statuses, limit=limit, fallbacks=True)
        people = load_people(session=session)
        replaced = fallback_of_keys(session=session, messages=messages)
    title = "Hộp thư đi" if show_all else "Thông báo chưa gửi được, và thông báo gửi thay"
    table = Table(
        "Mã",
        "Người nhận",
        "Kênh",
        "Địa chỉ",
        "Trạng thái",
        "Số lần thử",
        "Thử lại lúc",
        "Lỗi gần nhất",
        title=title,
    )
    for m in messages:
        table.add_row(
            m.key[:8],
            _recipient(people, m.recipient_key, m.person_id),
            CHANNEL_VI[ChannelName(m.channel)]
            + (f" (thay thông báo {replaced[m.id]})" if m.id in replaced else ""),
            m.address,
            STATUS_VI[OutboxStatus(m.status)],
            str(m.attempts),
            _when(m.next_attempt_at),
            m.last_error or "",
        )
    console.print(table)
    if not messages:
        console.print("Không có thông báo nào." if show_all else "Mọi thông báo đều đã gửi được.")
