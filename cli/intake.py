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

from access.actor import Actor
from access.tokens import issue_token, revoke_tokens
from adhoc.requests import RequestSpec, create_request, list_requests
from cli.common import (
    console,
    engine,
    err_console,
    fail,
    now,
    print_json,
    read_session,
    write_session,
)
from intake.address import ItemAddress, source_spec
from intake.locks import lock_period, unlock_period
from intake.receipts import submission_summary
from intake.store import SubmitRequest, submit
from models.access import AccessToken, Role
from models.calendar import load_calendar
from models.db import session_factory
from models.org import Unit
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

token_app = typer.Typer(help="Issue and revoke access tokens (stored only as hashes).")
request_app = typer.Typer(help="Ad-hoc reports and assignments (báo cáo đột xuất, giao việc).")
period_app = typer.Typer(help="Lock (khóa sổ) or reopen a reporting period.")


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
    unit: Annotated[str | None, typer.Option(help="Unit code the token reports for.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="An admin token instead.")] = False,
    label: Annotated[str | None, typer.Option(help="Who holds it, e.g. a name.")] = None,
) -> None:
    """Print a new token once; only its hash is stored, so it cannot be shown again."""
    if (unit is None) == (not admin):
        fail("give either --unit U or --admin")
    with write_session() as session:
        row = None
        if unit is not None:
            row = session.scalars(select(Unit).where(Unit.code == unit)).one_or_none()
            if row is None:
                fail(f"no unit with code {unit!r}")
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


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int | None, typer.Option("--id", help="Token number.")] = None,
    unit: Annotated[str | None, typer.Option(help="Revoke every token of this unit.")] = None,
) -> None:
    """Revoke one token, or every token of a unit; revoked tokens stop working at once."""
    if (token_id is None) == (unit is None):
        fail("give either --id N or --unit U")
    with write_session() as session:
        unit_id = None
        if unit is not None:
            row = session.scalars(select(Unit).where(Unit.code == unit)).one_or_none()
            if row is None:
                fail(f"no unit with code {unit!r}")
            unit_id = row.id
        revoked = revoke_tokens(
            session=session, revoked_by=cli_actor(), now=now(), token_id=token_id, unit_id=unit_id
        )
        ids = [r.id for r in revoked]
    if not ids:
        fail("no live token matched")
    console.print(f"Đã thu hồi mã truy cập: {', '.join(f'#{i}' for i in ids)}")


@token_app.command("list")
def token_list() -> None:
    """Every token: number, holder, hint, issued, revoked (never the secret)."""
    with read_session() as session:
        rows = session.execute(
            select(AccessToken, Unit.code)
            .outerjoin(Unit, Unit.id == AccessToken.unit_id)
            .order_by(AccessToken.id)
        ).all()
        table = Table("Số", "Đơn vị", "Người giữ", "Nhận dạng", "Cấp lúc", "Thu hồi lúc")
        for token, code in rows:
            table.add_row(
                f"#{token.id}",
                code or "quản trị",
                token.label or "",
                token.hint + "…",
                local_iso(token.issued_at),
                local_iso(token.revoked_at) if token.revoked_at else "",
            )
    console.print(table)


# ---------------------------------------------------------------- templates and submitting


def template(
    obligation: Annotated[str, typer.Option(help="Obligation (or deliverable) code.")],
    format: Annotated[str, typer.Option("--format", help="xlsx or csv.")] = "xlsx",
    unit: Annotated[str | None, typer.Option(help="Fill in this unit code.")] = None,
    period: Annotated[str | None, typer.Option(help="Fill in this period, e.g. 2024-Q1.")] = None,
    out: Annotated[Path | None, typer.Option(help="Output file; a name from the codes.")] = None,
) -> None:
    """Write the obligation's template for units to fill in (XLSX or CSV)."""
    if format not in ("xlsx", "csv"):
        fail("--format must be xlsx or csv")
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
    file: Annotated[Path, typer.Option(help="A filled template (.xlsx, .csv) or a .json file.")],
    unit: Annotated[str | None, typer.Option(help="Unit code (or from the file).")] = None,
    obligation: Annotated[
        str | None, typer.Option(help="Obligation or deliverable code (or from the file).")
    ] = None,
    period: Annotated[str | None, typer.Option(help="Period label (or from the file).")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Same key and content: the first receipt again.")
    ] = None,
    attach: Annotated[
        list[Path] | None, typer.Option(help="An evidence file to attach (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the receipt as JSON.")] = False,
) -> None:
    """Submit a report or a progress update from a file; prints the receipt number."""
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
        fail(f"Không đọc được tệp {exc.filename}: {exc.strerror}")
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
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Serve the portal (pages and JSON API) with uvicorn; loopback only by default."""
    from portal.server import serve
    from settings import WeakAdminSecret

    try:
        serve(host=host, port=port)
    except WeakAdminSecret as weak:
        err_console.print(str(weak), highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(2) from None


# ---------------------------------------------------------------- ad-hoc requests


@request_app.command("new")
def request_new(
    title: Annotated[str, typer.Option(help="What is asked, in Vietnamese.")],
    kind: Annotated[str, typer.Option(help="report or deliverable.")] = "report",
    unit: Annotated[list[str] | None, typer.Option(help="A unit code (repeatable).")] = None,
    unit_kind: Annotated[
        list[str] | None,
        typer.Option(help="Every unit of a kind, e.g. commune, town (repeatable)."),
    ] = None,
    parent: Annotated[
        list[str] | None,
        typer.Option(help="Every unit directly under this unit code (repeatable)."),
    ] = None,
    obligation: Annotated[
        str | None, typer.Option(help="Reuse an ad-hoc obligation of the plan.")
    ] = None,
    target: Annotated[list[str] | None, typer.Option(help="A required target code.")] = None,
    optional_target: Annotated[
        list[str] | None, typer.Option(help="An optional target code.")
    ] = None,
    section: Annotated[list[str] | None, typer.Option(help="A narrative section.")] = None,
    due: Annotated[str | None, typer.Option(help="Deadline date, YYYY-MM-DD.")] = None,
    within: Annotated[int | None, typer.Option(help="Deadline in N working days.")] = None,
    recipient: Annotated[str | None, typer.Option(help="Unit the answers go to.")] = None,
    note: Annotated[str | None, typer.Option(help="Instructions for the units.")] = None,
    plan: Annotated[str | None, typer.Option(help="Plan code; the newest by default.")] = None,
) -> None:
    """Ask units for a report or a deliverable; it becomes items due like the plan's."""
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
    """Every ad-hoc request, newest first."""
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
    obligation: Annotated[str, typer.Option(help="Obligation (or deliverable) code.")],
    period: Annotated[str | None, typer.Option(help="Period label.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why, e.g. the report was signed.")] = None,
) -> None:
    """Close a period: further submissions are refused with a clear message."""
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
    obligation: Annotated[str, typer.Option(help="Obligation (or deliverable) code.")],
    period: Annotated[str | None, typer.Option(help="Period label.")] = None,
) -> None:
    """Reopen a locked period."""
    with write_session() as session:
        removed = unlock_period(
            session=session, source=obligation, period=period, actor=cli_actor(), now=now()
        )
    if not removed:
        fail(f"{obligation} {period or ''} is not locked")
    console.print(f"Đã mở lại {obligation} kỳ {period or '(không kỳ)'}.")


def inbox(
    folder: Annotated[
        Path | None, typer.Option("--dir", help="Inbox folder; settings' by default.")
    ] = None,
) -> None:
    """Collect the files dropped in the inbox once (the collect_submissions flow)."""
    from flows.collect_submissions import collect_submissions

    try:
        summary = collect_submissions(inbox=str(folder) if folder else None)
    except (SQLAlchemyError, OSError) as error:  # the database or the folder, not a file
        fail(
            f"chưa xử lý hết hộp thư ({type(error).__name__}: cơ sở dữ liệu hoặc thư mục không "
            "dùng được); các tệp chưa xử lý vẫn nằm trong work/ và được xử lý ở lần chạy sau."
        )
    console.print(
        f"Đã xử lý {summary['processed']} tệp, từ chối {summary['rejected']} tệp "
        f"(thư mục {summary['inbox']})."
    )
