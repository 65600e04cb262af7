"""A leader in charge (a person signed in with their own token) reads the compiled reports but
acts on nothing: every office act answers a Vietnamese 403 and stores nothing."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from access.actor import Actor
from models.access import Role
from plans.vocabulary import PersonRole
from portal.app import create_app
from portal.deps import COOKIE, csrf_of, web_actor
from settings import Settings
from tests.support.desk_actions import audit
from tests.support.intake import ADMIN_SECRET, Clock, item_id

LEADER = Actor(
    role=Role.PERSON,
    label="person:pho-chu-tich token#9",
    person_id=9,
    person_name="Nguyễn Văn Lãnh",
    person_role=PersonRole.LEADER_IN_CHARGE.value,
)


def test_a_leader_reads_reports_but_every_act_is_refused(loaded: Engine, tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=loaded.url.render_as_string(hide_password=False),
        data_dir=tmp_path,
        admin_token=SecretStr(ADMIN_SECRET),
    )
    app = create_app(settings, engine=loaded, clock=Clock())
    app.dependency_overrides[web_actor] = lambda: LEADER
    item = item_id(loaded, "xa-mot", "bao-cao-thang", "2024-04")
    with TestClient(app, base_url=settings.portal_url) as client:
        client.cookies.set(COOKIE, "dds_leader-session")
        csrf = csrf_of("dds_leader-session")
        assert client.get("/bao-cao").status_code == 200  # the report is addressed to them
        assert "Tổng hợp ngay" not in client.get("/bao-cao").text
        for path in (f"/viec/{item}/gia-han", f"/viec/{item}/mien", "/quan-ly", "/quan-ly/yeu-cau"):
            page = client.get(path)
            assert page.status_code == 403 and "Chỉ văn phòng" in page.text, path
        for path in (
            f"/viec/{item}/gia-han",
            f"/viec/{item}/mien",
            "/quan-ly/khoa-so",
            "/quan-ly/cap-ma",
            "/quan-ly/yeu-cau",
            "/bao-cao/tong-hop",
        ):
            data = {"csrf": csrf, "xac_nhan": "1", "until": "06/05/2024", "reason": "x"}
            data |= {"lock_source": "bao-cao-thang", "lock_period": "2024-04", "period": "2024-04"}
            refused = client.post(path, data=data)
            assert refused.status_code == 403 and "Chỉ văn phòng" in refused.text, path
    for action in ("item.extend", "item.exempt", "period.lock", "token.issue", "report.compile"):
        assert audit(loaded, action) == [], action


def test_a_unit_head_does_not_read_the_compiled_reports(loaded: Engine, tmp_path: Path) -> None:
    """The reports are addressed to leaders (access.scope.may_read_reports): a unit head, who
    sees the items reported to their unit, still gets the Vietnamese 403."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=loaded.url.render_as_string(hide_password=False),
        data_dir=tmp_path,
        admin_token=SecretStr(ADMIN_SECRET),
    )
    folder = tmp_path / "reports" / "2024-04"
    folder.mkdir(parents=True)
    (folder / "bao-cao.docx").write_bytes(b"PK")
    app = create_app(settings, engine=loaded, clock=Clock())
    head = Actor(
        role=Role.PERSON,
        label="person:truong-phong token#8",
        unit_id=1,
        person_id=8,
        person_role=PersonRole.UNIT_HEAD.value,
    )
    for actor, allowed in ((head, False), (LEADER, True)):
        app.dependency_overrides[web_actor] = lambda actor=actor: actor
        with TestClient(app, base_url=settings.portal_url) as client:
            for path in ("/bao-cao", "/bao-cao/2024-04/bao-cao.docx"):
                got = client.get(path)
                assert got.status_code == (200 if allowed else 403), (actor.label, path)
                if not allowed:
                    assert "Chỉ văn phòng và lãnh đạo phụ trách" in got.text
