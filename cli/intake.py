"""`dondoc token|template|submit|portal|request|period|inbox`: collecting what units send."""

from __future__ import annotations

import getpass
import mimetypes
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from access.actor import PERSON_ROLE_VI, Actor
from access.tokens import (
    TokenListing,
    issue_person_token,
    issue_token,
    list_tokens,
    revoke_tokens,
)
from adhoc.requests import RequestSpec, create_request, list_requests
from cli.common import (
    console,
    engine,
    err_console,
    fail,
    now,
    os_reason,
    print_json,
    read_session,
    write_session,
)
from intake.address import ItemAddress, source_spec
from intake.locks import lock_period, unlock_period
from intake.receipts import submission_summary
from intake.store import SubmitRequest, submit
from models.access import Role
from models.calendar import load_calendar
from models.db import session_factory
from models.org import Person, Unit
from plans.vocabulary import ItemKind
from settings import get_settings
from submissions.content import Upload, safe_filename
from submissions.errors import IntakeError
from submissions.spreadsheet import (
    TemplateHeader,
    content_type_of,
    csv_template,
    xlsx_template,
)
from wording.vietnamese import local_iso, local_time

token_app = typer.Typer(help="Cấp và thu hồi mã truy cập (chỉ lưu bản băm, không lưu mã).")
request_app = typer.Typer(help="Yêu cầu báo cáo đột xuất và giao việc.")
period_app = typer.Typer(help="Khóa sổ hoặc mở lại một kỳ báo cáo.")


def say(text: str) -> None:
    """A line for an official: Vietnamese, never wrapped mid-sentence."""
    console.print(text, highlight=False, soft_wrap=True)


def cli_actor() -> Actor:
    """Whoever runs the CLI has the database's credentials, so acts as an admin."""
    return Actor(role=Role.ADMIN, label=f"cli:{getpass.getuser()}"[:128])


def refuse(error: IntakeError) -> NoReturn:
    """Print a refusal in Vietnamese and exit 1: one line for one problem, else a line each."""
    one = len(error.fields) == 1
    head = error.fields[0].render() if one else error.message
    err_console.print(
        f"[bold red]Không tiếp nhận:[/] {escape(head)}", highlight=False, soft_wrap=True
    )
    for f in () if one else error.fields:
        err_console.print(f"  - {f.render()}", highlight=False, soft_wrap=True, markup=False)
    raise typer.Exit(1)


# ---------------------------------------------------------------- tokens


@token_app.command("issue")
def token_issue(
    unit: Annotated[str | None, typer.Option(help="Mã đơn vị dùng mã truy cập để báo cáo.")] = None,
    person: Annotated[
        str | None,
        typer.Option(
            help="Mã người trong kế hoạch (cán bộ đầu mối, thủ trưởng đơn vị, lãnh đạo phụ "
            "trách, cán bộ tổng hợp): mã truy cập của riêng người đó."
        ),
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Cấp mã truy cập quản trị.")] = False,
    label: Annotated[str | None, typer.Option(help="Người giữ mã, ví dụ họ tên.")] = None,
) -> None:
    """Cấp một mã truy cập mới và in ra một lần; chỉ lưu bản băm nên không xem lại được."""
    if [unit is not None, person is not None, admin].count(True) != 1:
        fail("Hãy ghi đúng một trong --unit U, --person P hoặc --admin.")
    if person is not None:
        _issue_person_token(person, label)
        return
    with write_session() as session:
        row = None
        if unit is not None:
            row = session.scalars(select(Unit).where(Unit.code == unit)).one_or_none()
            if row is None:
                fail(f"không có đơn vị nào mang mã {unit!r}")
        token, secret = issue_token(
            session=session,
            role=Role.ADMIN if admin else Role.UNIT,
            unit=row,
            label=label,
            issued_by=cli_actor(),
            now=now(),
        )
        token_id = token.id
    console.print(f"Mã truy cập #{token_id} ({'quản trị' if admin else f'đơn vị {unit}'}):")
    typer.echo(secret)
    console.print("Chỉ hiển thị một lần: hãy chuyển cho cán bộ phụ trách qua kênh an toàn.")


def _issue_person_token(code: str, label: str | None) -> None:
    try:
        with write_session() as session:
            token, holder, secret = issue_person_token(
                code, session=session, issued_by=cli_actor(), now=now(), label=label
            )
            token_id, name = token.id, holder.full_name
            role = PERSON_ROLE_VI.get(holder.role, holder.role)
    except IntakeError as refusal:
        fail(refusal.message)
    say(f"Mã truy cập #{token_id} của {name} ({role.lower()}):")
    typer.echo(secret)
    say("Chỉ hiển thị một lần: hãy trao tận tay người nhận hoặc qua kênh an toàn.")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int | None, typer.Option("--id", help="Số của mã truy cập.")] = None,
    unit: Annotated[
        str | None, typer.Option(help="Thu hồi mọi mã truy cập của đơn vị này.")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(
            help="Thu hồi mọi mã truy cập của người này (mã người trong kế hoạch); các phiên "
            "đăng nhập mở bằng các mã đó kết thúc ngay."
        ),
    ] = None,
) -> None:
    """Thu hồi một mã truy cập, mọi mã của một đơn vị hoặc của một người; hết dùng được ngay."""
    if [token_id, unit, person].count(None) != 2:
        fail("Hãy ghi đúng một trong --id N, --unit U hoặc --person P.")
    with write_session() as session:
        unit_id = person_id = None
        if unit is not None:
            row = session.scalars(select(Unit).where(Unit.code == unit)).one_or_none()
            if row is None:
                fail(f"không có đơn vị nào mang mã {unit!r}")
            unit_id = row.id
        if person is not None:
            person_id = session.scalar(select(Person.id).where(Person.code == person))
            if person_id is None:
                fail(f"Không có người nào mã «{person}» trong kế hoạch.")
        revoked = revoke_tokens(
            session=session,
            revoked_by=cli_actor(),
            now=now(),
            token_id=token_id,
            unit_id=unit_id,
            person_id=person_id,
        )
        ids = [r.id for r in revoked]
    if not ids:
        fail("không có mã truy cập nào còn hiệu lực khớp với yêu cầu")
    console.print(f"Đã thu hồi mã truy cập: {', '.join(f'#{i}' for i in ids)}")


@token_app.command("list")
def token_list() -> None:
    """Mọi mã truy cập: số, đơn vị, người giữ, nhận dạng, lúc cấp, lúc thu hồi (không in mã)."""
    with read_session() as session:
        listing = list_tokens(session=session)
    table = Table(
        "Số", "Đơn vị / người", "Vai trò", "Người giữ", "Nhận dạng", "Cấp lúc", "Thu hồi lúc"
    )
    for token in listing:
        table.add_row(
            f"#{token.id}",
            escape(_holder(token)),
            PERSON_ROLE_VI.get(token.person_role or "", "")
            or ("quản trị" if token.role == Role.ADMIN else "đơn vị"),
            escape(token.label or ""),
            token.hint + "…",
            local_iso(token.issued_at),
            local_iso(token.revoked_at) if token.revoked_at else "",
        )
    console.print(table)


def _holder(token: TokenListing) -> str:
    if token.holder_code is None:
        return "quản trị"
    return f"{token.holder_code} ({token.holder_name})" if token.person_role else token.holder_code


# ---------------------------------------------------------------- templates and submitting


def template(
    obligation: Annotated[str, typer.Option(help="Mã báo cáo (hoặc mã sản phẩm).")],
    format: Annotated[str, typer.Option("--format", help="xlsx hoặc csv.")] = "xlsx",
    unit: Annotated[str | None, typer.Option(help="Điền sẵn mã đơn vị này.")] = None,
    period: Annotated[
        str | None, typer.Option(help="Điền sẵn kỳ báo cáo này, ví dụ 2024-Q1.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Tệp ghi ra; mặc định đặt tên theo các mã.")
    ] = None,
) -> None:
    """Ghi mẫu báo cáo để đơn vị điền (XLSX hoặc CSV)."""
    if format not in ("xlsx", "csv"):
        fail("--format phải là xlsx hoặc csv")
    with read_session() as session:
        try:
            title, spec = source_spec(obligation, session=session)
        except IntakeError as error:
            refuse(error)
    header = TemplateHeader(
        source_code=obligation, title=title, kind=spec.kind, unit=unit, period=period
    )
    data = xlsx_template(header, spec) if format == "xlsx" else csv_template(header, spec)
    stem = "__".join(p for p in (unit, obligation, period) if p)
    path = out or Path(f"{stem}.{format}")
    path.write_bytes(data)
    console.print(f"Đã ghi mẫu {path} ({len(spec.targets)} chỉ tiêu, {len(spec.sections)} phần).")


def submit_file(
    file: Annotated[Path, typer.Option(help="Mẫu đã điền (.xlsx, .csv) hoặc tệp .json.")],
    unit: Annotated[str | None, typer.Option(help="Mã đơn vị (hoặc lấy từ tệp).")] = None,
    obligation: Annotated[
        str | None, typer.Option(help="Mã báo cáo hoặc mã sản phẩm (hoặc lấy từ tệp).")
    ] = None,
    period: Annotated[str | None, typer.Option(help="Kỳ báo cáo (hoặc lấy từ tệp).")] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="Mã chống gửi trùng: cùng mã và cùng nội dung thì trả lại biên nhận cũ."),
    ] = None,
    attach: Annotated[
        list[Path] | None,
        typer.Option(help="Tệp minh chứng đính kèm (ghi lại tùy chọn cho mỗi tệp)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In biên nhận dạng JSON.")] = False,
) -> None:
    """Gửi báo cáo hoặc cập nhật tiến độ từ một tệp; in số biên nhận."""
    try:
        data = file.read_bytes()
        evidence = [
            Upload(
                safe_filename(p.name),
                mimetypes.guess_type(p.name)[0] or "application/octet-stream",
                p.read_bytes(),
            )
            for p in attach or []
        ]
    except OSError as exc:
        fail(f"không đọc được tệp {exc.filename}: {os_reason(exc)}")
    settings = get_settings()
    try:
        receipt = submit(
            session_factory(engine()),
            SubmitRequest(
                address=ItemAddress(unit=unit, source=obligation, period=period),
                actor=cli_actor(),
                channel="cli",
                file=Upload(safe_filename(file.name), content_type_of(file.name), data),
                evidence=evidence,
                idempotency_key=idempotency_key,
            ),
            now=now(),
            clock=now,
            data_dir=settings.data_dir,
            max_attachment_bytes=settings.upload_max_bytes,
            max_item_bytes=settings.item_max_stored_bytes,
        )
    except IntakeError as error:
        refuse(error)
    if as_json:
        print_json(submission_summary(receipt))
        return
    if receipt.replayed:
        say("Báo cáo này đã được nhận trước đó (cùng mã chống gửi trùng): không lưu thêm.")
    else:
        say("[green]Đã nhận báo cáo.[/]")
    say(f"Số biên nhận: [bold]{receipt.receipt_no}[/] (lần gửi {receipt.version})")
    say(f"Đơn vị: {receipt.unit_name}; báo cáo: {receipt.source_title}")
    if receipt.period_label:
        say(f"Kỳ báo cáo: {receipt.period_label}")
    say(f"Thời điểm nhận: {local_time(receipt.received_at)} (giờ Việt Nam)")
    for warning in receipt.warnings:
        say(f"[yellow]Lưu ý:[/] {escape(warning)}")


def portal(
    host: Annotated[str, typer.Option(help="Địa chỉ lắng nghe.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Cổng TCP.")] = 8000,
) -> None:
    """Chạy cổng thông tin (các trang và API JSON) bằng uvicorn.

    Mặc định chỉ nhận kết nối từ chính máy này.
    """
    from models.db import DatabaseMissing
    from portal.server import serve
    from settings import WeakAdminSecret

    try:
        serve(host=host, port=port)
    except WeakAdminSecret as weak:
        err_console.print(str(weak), highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(2) from None
    except DatabaseMissing as missing:
        fail(str(missing))


# ---------------------------------------------------------------- ad-hoc requests


@request_app.command("new")
def request_new(
    title: Annotated[str, typer.Option(help="Nội dung yêu cầu, bằng tiếng Việt.")],
    kind: Annotated[
        str, typer.Option(help="report (báo cáo) hoặc deliverable (nhiệm vụ).")
    ] = "report",
    unit: Annotated[
        list[str] | None, typer.Option(help="Mã một đơn vị (ghi lại cho mỗi đơn vị).")
    ] = None,
    unit_kind: Annotated[
        list[str] | None,
        typer.Option(help="Mọi đơn vị của một loại, ví dụ commune, town (ghi lại cho mỗi loại)."),
    ] = None,
    parent: Annotated[
        list[str] | None,
        typer.Option(help="Các đơn vị trực thuộc đơn vị có mã này (ghi lại cho mỗi mã)."),
    ] = None,
    obligation: Annotated[
        str | None, typer.Option(help="Dùng lại một báo cáo đột xuất có trong kế hoạch.")
    ] = None,
    target: Annotated[list[str] | None, typer.Option(help="Mã một chỉ tiêu bắt buộc.")] = None,
    optional_target: Annotated[
        list[str] | None, typer.Option(help="Mã một chỉ tiêu không bắt buộc.")
    ] = None,
    section: Annotated[list[str] | None, typer.Option(help="Một phần nội dung viết.")] = None,
    due: Annotated[str | None, typer.Option(help="Hạn nộp, dạng YYYY-MM-DD.")] = None,
    within: Annotated[int | None, typer.Option(help="Hạn nộp sau N ngày làm việc.")] = None,
    recipient: Annotated[str | None, typer.Option(help="Đơn vị nhận báo cáo.")] = None,
    note: Annotated[str | None, typer.Option(help="Hướng dẫn cho các đơn vị.")] = None,
    plan: Annotated[
        str | None, typer.Option(help="Mã kế hoạch; mặc định kế hoạch mới nhất.")
    ] = None,
) -> None:
    """Yêu cầu các đơn vị gửi báo cáo đột xuất hoặc thực hiện nhiệm vụ.

    Yêu cầu trở thành việc phải nộp như các việc của kế hoạch.
    """
    if kind not in ("report", "deliverable"):
        fail("--kind phải là report (báo cáo) hoặc deliverable (nhiệm vụ).")
    due_on = None
    if due is not None:
        try:
            due_on = date.fromisoformat(due)
        except ValueError:
            fail(f"--due: «{due}» không phải là ngày (ghi theo dạng NNNN-TT-NN, ví dụ 2024-05-20).")
    spec = RequestSpec(
        kind=ItemKind(kind),
        title=title,
        units=tuple(unit or ()),
        unit_kinds=tuple(unit_kind or ()),
        parents=tuple(parent or ()),
        obligation=obligation,
        targets=tuple((c, True) for c in target or ())
        + tuple((c, False) for c in optional_target or ()),
        sections=tuple(section or ()),
        due_on=due_on,
        within_working_days=within,
        recipient=recipient,
        instructions=note,
        plan=plan,
    )
    try:
        with write_session() as session:
            created = create_request(
                spec,
                session=session,
                actor=cli_actor(),
                now=now(),
                calendar=load_calendar(session=session),
            )
    except IntakeError as error:
        refuse(error)
    say(
        f"Đã tạo yêu cầu {created.label} (mã {created.code}) cho {len(created.units)} đơn vị; "
        f"hạn nộp hết ngày {created.deadline_on:%d/%m/%Y}."
    )
    say("Đơn vị: " + ", ".join(created.units))


@request_app.command("list")
def request_list() -> None:
    """Mọi yêu cầu đột xuất, mới nhất trước."""
    with read_session() as session:
        table = Table("Số", "Loại", "Nội dung", "Hạn nộp", "Người yêu cầu")
        for r in list_requests(session=session):
            table.add_row(
                r.label,
                "báo cáo" if r.kind == ItemKind.REPORT else "giao việc",
                r.title,
                r.deadline_on.strftime("%d/%m/%Y"),
                r.requested_by,
            )
    console.print(table)


# ---------------------------------------------------------------- period locks


@period_app.command("lock")
def period_lock(
    obligation: Annotated[str, typer.Option(help="Mã báo cáo (hoặc mã sản phẩm).")],
    period: Annotated[str | None, typer.Option(help="Kỳ báo cáo.")] = None,
    reason: Annotated[str | None, typer.Option(help="Lý do, ví dụ báo cáo tổng hợp đã ký.")] = None,
) -> None:
    """Khóa sổ một kỳ: các lần gửi sau bị từ chối kèm lời giải thích rõ ràng."""
    try:
        with write_session() as session:
            lock_period(
                session=session,
                source=obligation,
                period=period,
                actor=cli_actor(),
                now=now(),
                reason=reason,
            )
    except IntakeError as error:
        refuse(error)
    console.print(f"Đã khóa sổ {obligation} kỳ {period or '(không kỳ)'}.")


@period_app.command("unlock")
def period_unlock(
    obligation: Annotated[str, typer.Option(help="Mã báo cáo (hoặc mã sản phẩm).")],
    period: Annotated[str | None, typer.Option(help="Kỳ báo cáo.")] = None,
) -> None:
    """Mở lại một kỳ đã khóa sổ."""
    with write_session() as session:
        removed = unlock_period(
            session=session, source=obligation, period=period, actor=cli_actor(), now=now()
        )
    if not removed:
        fail(f"{obligation} kỳ {period or '(không kỳ)'} chưa bị khóa sổ")
    console.print(f"Đã mở lại {obligation} kỳ {period or '(không kỳ)'}.")


def inbox(
    folder: Annotated[
        Path | None,
        typer.Option("--dir", help="Thư mục hộp thư đến; mặc định theo cấu hình."),
    ] = None,
) -> None:
    """Nhận một lượt các tệp đã thả vào hộp thư đến (flow collect_submissions)."""
    from flows.collect_submissions import collect_submissions
    from models.db import DatabaseMissing

    try:
        # The folder as typed, from here (the flow reads a relative one in DONDOC_HOME).
        summary = collect_submissions(inbox=str(folder.absolute()) if folder else None)
    except DatabaseMissing as missing:
        fail(str(missing))
    except (SQLAlchemyError, OSError) as error:  # the database or the folder, not a file
        fail(
            f"chưa xử lý hết hộp thư ({type(error).__name__}: cơ sở dữ liệu hoặc thư mục không "
            "dùng được); các tệp chưa xử lý vẫn nằm trong work/ và được xử lý ở lần chạy sau."
        )
    console.print(
        f"Đã xử lý {summary['processed']} tệp, từ chối {summary['rejected']} tệp "
        f"(thư mục {summary['inbox']})."
    )
