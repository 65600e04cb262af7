"""The JSON API (/api/v1): my items, submit (JSON or file), my submissions, receipts, requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import pendulum
from fastapi import APIRouter, File, Form, Header, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from access.scope import may_submit
from adhoc.requests import RequestSpec, create_request
from intake.address import ItemAddress
from intake.receipts import get_receipt, list_submissions, receipt_of, submission_summary
from intake.store import SubmitRequest, submit
from models.calendar import load_calendar
from plans.vocabulary import ItemKind
from portal.deps import (
    AdminActor,
    ApiActor,
    ApiSubmitter,
    DbSession,
    JsonBodyRoute,
    PortalState,
    client_address,
    portal_of,
    read_submission_file,
)
from portal.schemas import (
    ErrorOut,
    ItemDetailOut,
    ItemOut,
    MeOut,
    ReceiptOut,
    RequestIn,
    RequestOut,
    SubmissionIn,
)
from portal.views import item_template, item_view, list_items, status_vi
from schedules.calendar import VN_TZ
from status.states import ItemState
from submissions.content import RawSubmission, Upload, safe_filename
from submissions.errors import FieldError, Invalid
from submissions.values import PROGRESS_VI

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (401, "Missing, unknown or revoked token"),
        (403, "Another unit's item, an admin-only action, or a read-only leader submitting"),
        (404, "Unknown item or receipt"),
        (409, "Period not open or locked, or Idempotency-Key reused with other content"),
        (413, "Body over the upload limit"),
        (422, "Invalid content; `fields` says which field and why"),
    )
}

router = APIRouter(prefix="/api/v1", tags=["api"], responses=ERRORS, route_class=JsonBodyRoute)

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Same key and same content: the first receipt again; other content: 409.",
    ),
]


def _vn(instant: datetime | None) -> datetime | None:
    """Instants in the API are written in Vietnamese time (+07:00), like the receipts."""
    return pendulum.instance(instant).in_timezone(VN_TZ) if instant is not None else None


def _item_out(state: ItemState) -> dict[str, Any]:
    return {
        "id": state.item_id,
        "kind": state.kind,
        "unit": state.unit_code,
        "unit_name": state.unit_name,
        "obligation": state.source_code,
        "title": state.source_title,
        "period": state.period_label,
        "opens_at": _vn(state.opens_at),
        "deadline": _vn(state.deadline_at),
        "deadline_on": state.deadline_on,
        "status": state.status.value,
        "status_vi": status_vi(state),
        "first_accepted_at": _vn(state.first_accepted_at),
    }


@router.get(
    "/me",
    response_model=MeOut,
    response_model_exclude_unset=True,
    summary="Who the token belongs to",
)
async def me(actor: ApiActor) -> dict[str, Any]:
    who: dict[str, Any] = {"role": actor.role.value, "unit": actor.unit_code}
    if actor.person_id is not None:  # a person's token also says who and what they may do
        who |= {
            "person": actor.person_name,
            "person_role": actor.person_role,
            "person_role_vi": actor.person_role_vi,
            "may_submit": may_submit(actor),
        }
    return who


@router.get("/items", response_model=list[ItemOut], summary="List my items with their status")
def items(
    portal: PortalState,
    session: DbSession,
    actor: ApiActor,
    period: str | None = None,
    obligation: str | None = None,
    unit: Annotated[
        str | None, Query(description="One unit (the office, or a unit in the caller's scope).")
    ] = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    states = list_items(
        session=session,
        actor=actor,
        now=portal.clock(),
        period=period,
        obligation=obligation,
        unit=unit,
        status=status,
    )
    return [_item_out(s) for s in states]


@router.get("/items/{item_id}", response_model=ItemDetailOut, summary="One item and its form")
def item(item_id: int, portal: PortalState, session: DbSession, actor: ApiActor) -> dict[str, Any]:
    view = item_view(item_id, session=session, actor=actor, now=portal.clock())
    return {
        **_item_out(view.state),
        "targets": [
            {
                "code": t.code,
                "name": t.name,
                "kind": t.kind.value,
                "unit_of_measure": t.unit_of_measure,
                "required": t.required,
            }
            for t in view.spec.targets
        ],
        "sections": list(view.spec.sections),
        "progress_states": [s.value for s in PROGRESS_VI]
        if view.spec.kind == "deliverable"
        else [],
        "latest_receipt_no": view.latest_receipt_no,
    }


@router.get(
    "/items/{item_id}/template",
    summary="The item's XLSX or CSV template, unit and period filled in",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def template(
    item_id: int,
    session: DbSession,
    actor: ApiActor,
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    data, media, name = item_template(item_id, format, session=session, actor=actor)
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _submit(request: Request, response: Response, sent: SubmitRequest) -> dict[str, Any]:
    portal = portal_of(request)
    with portal.submission_slots:
        receipt = submit(
            portal.sessions,
            sent,
            now=portal.clock(),
            clock=portal.clock,
            data_dir=portal.data_dir,
            max_attachment_bytes=portal.settings.upload_max_bytes,
            max_item_bytes=portal.settings.item_max_stored_bytes,
        )
    if receipt.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return submission_summary(receipt)


@router.post(
    "/submissions",
    status_code=201,
    response_model=ReceiptOut,
    summary="Submit values, narrative or progress as JSON",
)
async def create_submission(
    body: SubmissionIn,
    request: Request,
    response: Response,
    actor: ApiSubmitter,
    idempotency_key: IdempotencyHeader = None,
) -> dict[str, Any]:
    sent = SubmitRequest(
        address=ItemAddress(
            item_id=body.item_id, unit=body.unit, source=body.obligation, period=body.period
        ),
        actor=actor,
        channel="api",
        raw=RawSubmission(
            values=body.values,
            narrative=body.narrative,
            progress=body.progress.model_dump() if body.progress else None,
        ),
        source_address=client_address(request),
        idempotency_key=idempotency_key,
    )
    return await run_in_threadpool(_submit, request, response, sent)


_UPLOAD_FIELDS = {
    "file",
    "payload",
    "attachments",
    "item_id",
    "unit",
    "obligation",
    "period",
    "idempotency_key",
}


@router.post(
    "/submissions/upload",
    status_code=201,
    response_model=ReceiptOut,
    summary="Submit a filled XLSX/CSV template (or JSON), with optional evidence files",
)
async def upload_submission(
    request: Request,
    response: Response,
    actor: ApiSubmitter,
    file: Annotated[
        UploadFile | None, File(description="A filled template (.xlsx, .csv) or a .json file.")
    ] = None,
    payload: Annotated[
        str | None, Form(description="Instead of a file: the JSON of POST /submissions.")
    ] = None,
    attachments: Annotated[
        list[UploadFile] | None, File(description="Evidence files (optional).")
    ] = None,
    item_id: Annotated[int | None, Form()] = None,
    unit: Annotated[str | None, Form()] = None,
    obligation: Annotated[str | None, Form()] = None,
    period: Annotated[str | None, Form()] = None,
    idempotency_key_field: Annotated[str | None, Form(alias="idempotency_key")] = None,
    idempotency_key: IdempotencyHeader = None,
) -> dict[str, Any]:
    form = await request.form()
    unknown = sorted(set(form.keys()) - _UPLOAD_FIELDS)
    if unknown:
        raise Invalid(
            [FieldError(k, "unknown_field", f"Trường «{k}» không hợp lệ.") for k in unknown]
        )
    sheet = None
    if file is not None and file.filename:
        if payload is not None:
            # Two contents in one request: one would silently replace the other.
            message = "Gửi một tệp báo cáo hoặc một nội dung JSON (payload), không gửi cả hai."
            raise Invalid(
                [FieldError(name, "conflict", message) for name in ("file", "payload")], message
            )
        name = safe_filename(file.filename)
        sheet = Upload(name, file.content_type or "application/octet-stream", await file.read())
    elif payload is None:
        raise Invalid([FieldError("file", "required", "Chưa chọn tệp báo cáo để gửi.")])
    parsed = await read_submission_file(portal_of(request), file=sheet, payload=payload)
    evidence = [
        Upload(
            safe_filename(f.filename or "tep"),
            f.content_type or "application/octet-stream",
            await f.read(),
        )
        for f in attachments or []
        if f.filename
    ]
    keys = {k for k in (idempotency_key, idempotency_key_field) if k}
    if len(keys) > 1:
        raise Invalid(
            [FieldError("idempotency_key", "mismatch", "Hai mã chống gửi trùng khác nhau.")]
        )
    sent = SubmitRequest(
        address=ItemAddress(item_id=item_id, unit=unit, source=obligation, period=period),
        actor=actor,
        channel="api",
        file=sheet,
        payload=payload,
        parsed=parsed,
        evidence=evidence,
        source_address=client_address(request),
        idempotency_key=next(iter(keys), None),
    )
    return await run_in_threadpool(_submit, request, response, sent)


@router.get(
    "/submissions", response_model=list[ReceiptOut], summary="List my submissions (every version)"
)
def submissions(
    session: DbSession,
    actor: ApiActor,
    item_id: int | None = None,
    limit: int = Query(100, ge=1, le=500),
) -> list[dict[str, Any]]:
    rows = list_submissions(session=session, actor=actor, item_id=item_id, limit=limit)
    return [submission_summary(receipt_of(s, session=session)) for s in rows]


@router.get("/receipts/{receipt_no}", response_model=ReceiptOut, summary="One receipt")
def receipt(receipt_no: str, session: DbSession, actor: ApiActor) -> dict[str, Any]:
    return submission_summary(get_receipt(receipt_no, session=session, actor=actor))


@router.post(
    "/requests",
    status_code=201,
    response_model=RequestOut,
    summary="Ask units for an ad-hoc report or deliverable (admin)",
)
def new_request(
    body: RequestIn, request: Request, portal: PortalState, session: DbSession, actor: AdminActor
) -> dict[str, Any]:
    spec = RequestSpec(
        kind=ItemKind(body.kind),
        title=body.title,
        units=tuple(body.units),
        unit_kinds=tuple(body.unit_kinds),
        obligation=body.obligation,
        targets=tuple((c, True) for c in body.targets)
        + tuple((c, False) for c in body.optional_targets),
        sections=tuple(body.sections),
        due_on=body.due_on,
        within_working_days=body.within_working_days,
        recipient=body.recipient,
        instructions=body.instructions,
    )
    created = create_request(
        spec,
        session=session,
        actor=actor,
        now=portal.clock(),
        calendar=load_calendar(session=session),
        source_address=client_address(request),
    )
    return {
        "id": created.request_id,
        "label": created.label,
        "kind": created.kind,
        "obligation": created.code,
        "deadline_on": created.deadline_on,
        "deadline": _vn(created.deadline_at),
        "units": list(created.units),
        "item_ids": list(created.item_ids),
    }
