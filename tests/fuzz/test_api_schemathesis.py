"""Schemathesis against the portal's own OpenAPI document: no request makes a server error.

The portal is the real one (uvicorn on 127.0.0.1) over the intake test plan on SQLite and
PostgreSQL. Every operation is called with a unit's token and with the admin's, with data
that fits the schema and data that does not (schemathesis' positive and negative modes).
Small generated ids are pointed at real items and receipts, so the examples reach stored
rows and not only 404s. The examples are derandomised, so a run is repeatable, and few, so
CI stays fast.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error

from portal.app import create_app
from settings import Settings
from tests.fuzz.test_hostile_requests import BODIES
from tests.support.intake import ADMIN_SECRET, Portal, new_token

EXAMPLES = 25  # per operation and backend, each sent with two tokens

# The document the portal serves at /api/openapi.json, read without a server so that
# pytest can make one test per operation when it collects this module.
OPENAPI = create_app(Settings(_env_file=None, database_url="sqlite://")).openapi()  # type: ignore[call-arg]
schema = schemathesis.openapi.from_dict(OPENAPI)
GOOD = {
    "obligation": "bao-cao-thang",
    "period": "2024-04",
    "values": {"viec-lam": "1.300", "ty-le": "67,5"},
}


@pytest.fixture
def known(portal: Portal) -> dict[str, list[Any]]:
    """Real item ids and a real receipt number of the unit whose token is used."""
    token = new_token(portal.engine, "xa-mot")
    with portal.client(token) as client:
        ids = [i["id"] for i in client.get("/api/v1/items").json()]
        sent = client.post("/api/v1/submissions", json=GOOD)
    assert ids and sent.status_code == 201, sent.text
    return {"item_id": ids, "receipt_no": [sent.json()["receipt_no"]], "token": [token]}


def _aim(case: Case, known: dict[str, list[Any]]) -> None:
    """Point a small generated id (or a short receipt number) at a real row."""
    case.body = copy.deepcopy(case.body)  # hypothesis may hand the same object out again
    places = [case.path_parameters, case.query, case.body if isinstance(case.body, dict) else None]
    for name in ("item_id", "receipt_no"):
        real = known[name]
        for where in places:
            if not where or name not in where:
                continue
            value = where[name]
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000:
                where[name] = real[value % len(real)]
            elif isinstance(value, str) and len(value) < 3:
                where[name] = real[len(value) % len(real)]
    if isinstance(case.body, dict):
        _aim_body(case.body)


TARGETS = ["viec-lam", "ty-le", "dai-hoi", "ghi-chu"]
SECTIONS = ["Kết quả thực hiện", "kho-khan-vuong-mac", "Đề xuất, kiến nghị"]


def _aim_body(body: dict[str, Any]) -> None:
    """Give a generated submission real codes, so its generated values meet the real parsers."""
    for name, real in (("unit", "xa-mot"), ("obligation", "bao-cao-thang"), ("period", "2024-04")):
        if body.get(name) is None or (isinstance(body[name], str) and len(body[name]) < 3):
            body[name] = real
    given = body.get("values")
    if given is None or given == {}:
        body["values"] = dict(GOOD["values"])
    elif isinstance(given, dict):
        # The generated values replace some of a good report's, starting at a target that
        # depends on how many there are, so each kind of target meets generated values.
        start = len(given)
        mapped = {TARGETS[(start + i) % len(TARGETS)]: v for i, v in enumerate(given.values())}
        body["values"] = {**GOOD["values"], **mapped}
    given = body.get("narrative")
    if isinstance(given, dict) and given:
        body["narrative"] = {SECTIONS[i % len(SECTIONS)]: v for i, v in enumerate(given.values())}


def test_the_portal_serves_the_document_fuzzed_here(portal: Portal) -> None:
    with portal.client() as client:
        assert client.get("/api/openapi.json").json() == OPENAPI


@pytest.mark.slow  # fuzzing: generated requests, 25 per operation, token and backend
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_a_server_error(case: Case, portal: Portal, known: dict[str, Any]) -> None:
    _aim(case, known)
    for token in (known["token"][0], ADMIN_SECRET):
        response = case.call(base_url=portal.url, headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=[not_a_server_error])


# Inputs that once made a server error, through the same check as the generated ones: each
# JSON body of test_hostile_requests, every file of the broken-file corpus on the upload, and
# an ad-hoc request due 9999-12-31.
CORPUS = Path(__file__).parents[1] / "data" / "broken"


def _no_server_error(case: Case, portal: Portal, token: str, **sent: Any) -> None:
    response = case.call(base_url=portal.url, headers={"Authorization": f"Bearer {token}"}, **sent)
    case.validate_response(response, checks=[not_a_server_error])
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize("name", sorted(BODIES))
def test_hostile_json_bodies_make_no_server_error(
    portal: Portal, known: dict[str, Any], name: str
) -> None:
    case = schema["/api/v1/submissions"]["POST"].Case(body={}, media_type="application/json")
    raw = BODIES[name][0]
    for token in (known["token"][0], ADMIN_SECRET):
        _no_server_error(case, portal, token, data=raw)


def test_the_broken_file_corpus_makes_no_server_error(
    portal: Portal, known: dict[str, Any]
) -> None:
    operation = schema["/api/v1/submissions/upload"]["POST"]
    case = operation.Case(body={}, media_type="multipart/form-data")
    for path in sorted(p for p in CORPUS.iterdir() if p.is_file()):
        _no_server_error(
            case, portal, known["token"][0], files={"file": (path.name, path.read_bytes())}
        )


def test_a_far_future_ad_hoc_request_makes_no_server_error(portal: Portal) -> None:
    body = {"kind": "report", "title": "Báo cáo nhanh", "units": ["xa-mot"], "due_on": "9999-12-31"}
    case = schema["/api/v1/requests"]["POST"].Case(body=body, media_type="application/json")
    _no_server_error(case, portal, ADMIN_SECRET)
