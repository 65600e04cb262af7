"""The production set-up files, checked as far as this machine allows (no Docker engine here).

prefect.yaml, compose.yaml, the Dockerfile and the systemd units are parsed; every command they
run is a real command with real options; every deployment they name exists in the code and its
entrypoint imports; what they say agrees with `build_deployments` and the settings.
"""

from __future__ import annotations

import configparser
import importlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.flows import Flow
from prefect.types.entrypoint import EntrypointType
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from deploy.deployments import build_deployments
from deploy.register import DEFAULT_POOL
from schedules.calendar import VN_TZ, WorkCalendar
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def help_text(*command: str) -> str:
    """`command --help`, wide and without colours, so every option name is printed whole."""
    env = dict(os.environ, COLUMNS="250", NO_COLOR="1", TERM="dumb")
    executable = str(BIN / command[0])
    done = subprocess.run(
        [executable, *command[1:], "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, f"{' '.join(command)} --help failed:\n{done.stderr}"
    return done.stdout


def dondoc_options(*subcommand: str) -> set[str]:
    """The options of a `dondoc` (sub)command, read from the Typer app itself."""
    from typer.main import get_command

    from cli.main import app

    command: Any = get_command(app)
    for word in subcommand:
        found = getattr(command, "commands", {}).get(word)
        assert found is not None, f"no command dondoc {' '.join(subcommand)}"
        command = found
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}


def assert_real_command(argv: list[str]) -> None:
    """`argv` names an existing dondoc/prefect (sub)command and only options it has."""
    program = Path(argv[0]).name
    assert program in ("dondoc", "prefect"), argv
    first_option = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    subcommand = argv[1:first_option]
    options = [a.split("=")[0] for a in argv[first_option:] if a.startswith("--")]
    if program == "dondoc":
        known = dondoc_options(*subcommand)
        for option in options:
            assert option in known, f"{argv}: no option {option}"
        return
    text = help_text(program, *subcommand)
    for option in options:
        assert re.search(rf"{re.escape(option)}\b", text), f"{argv}: no option {option}"


# ----------------------------------------------------------------------------- prefect.yaml


@pytest.fixture(scope="module")
def prefect_yaml() -> dict[str, Any]:
    return load_yaml(DEPLOY / "prefect.yaml")  # type: ignore[no-any-return]


def test_prefect_yaml_deployments_exist_and_import(prefect_yaml: dict[str, Any]) -> None:
    assert prefect_yaml["pull"] == []  # flows load from the installed package
    names = set()
    for deployment in prefect_yaml["deployments"]:
        module_name, _, attribute = deployment["entrypoint"].rpartition(".")
        flow = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(flow, Flow), deployment["entrypoint"]
        names.add(f"{flow.name}/{deployment['name']}")
        assert deployment["work_pool"]["name"] == DEFAULT_POOL
        for schedule in deployment.get("schedules") or []:
            assert schedule["timezone"] == VN_TZ
    assert names == {
        "check-and-escalate/daily",
        "collect-submissions/inbox",
        "compile-report/adhoc",
    }


def _static(deployments: list[Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{d.flow_name}/{d.name}": {
            "entrypoint": d.entrypoint,
            "description": d.description,
            "schedules": sorted(
                (s.schedule.cron, s.schedule.timezone, s.slug) for s in d.schedules or []
            ),
        }
        for d in deployments
    }


def test_prefect_yaml_agrees_with_build_deployments(
    prefect_yaml: dict[str, Any], engine: Engine
) -> None:
    """The static deployments are written twice (YAML for `prefect deploy`, Python for `dondoc
    deploy` and `dondoc serve`): the two must say the same."""
    with Session(engine) as session:
        built = build_deployments(
            session=session,
            calendar=WorkCalendar(),
            today=date(2024, 1, 2),
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
    from_code = _static(built)
    assert "compile-report/scheduled" in from_code  # plan-derived: only `dondoc deploy` has it
    for deployment in prefect_yaml["deployments"]:
        flow_name = deployment["entrypoint"].rpartition(".")[2].replace("_", "-")
        name = f"{flow_name}/{deployment['name']}"
        assert from_code[name] == {
            "entrypoint": deployment["entrypoint"],
            "description": deployment["description"],
            "schedules": sorted(
                (s["cron"], s["timezone"], s["slug"]) for s in deployment.get("schedules") or []
            ),
        }, name


# ----------------------------------------------------------------------------- compose.yaml


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(DEPLOY / "compose.yaml")  # type: ignore[no-any-return]


def test_compose_has_the_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "prefect-server", "init", "deploy", "worker", "portal"}
    # Prefect server of the version dondoc is built with, on PostgreSQL.
    import prefect

    assert services["prefect-server"]["image"].startswith(
        f"prefecthq/prefect:{prefect.__version__}-"
    )
    server_env = services["prefect-server"]["environment"]
    assert server_env["PREFECT_API_DATABASE_CONNECTION_URL"].startswith(
        "postgresql+asyncpg://dondoc:"
    )
    assert "@postgres:5432/prefect" in server_env["PREFECT_API_DATABASE_CONNECTION_URL"]
    for name in ("init", "deploy", "worker", "portal"):
        env = services[name]["environment"]
        assert env["DONDOC_DATABASE_URL"].startswith("postgresql+psycopg://dondoc:")
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        assert services[name]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    # Start order: migrate, then register (server healthy), then the worker.
    assert services["deploy"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["deploy"]["depends_on"]["prefect-server"]["condition"] == "service_healthy"
    assert (
        services["worker"]["depends_on"]["deploy"]["condition"] == "service_completed_successfully"
    )
    # Nothing is published beyond the loopback.
    for service in services.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port
    # The files it mounts and builds from exist.
    assert (DEPLOY / "postgres-init.sql").is_file()
    assert (DEPLOY / "Dockerfile").is_file()


@pytest.mark.slow  # subprocesses: each command's `--help` runs as a process
def test_compose_commands_are_real(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("init", "deploy", "worker", "portal"):
        assert_real_command(services[name]["command"])
    assert_real_command(services["prefect-server"]["command"])
    worker = services["worker"]["command"]
    assert worker[worker.index("--pool") + 1] == DEFAULT_POOL


def test_dockerfile_builds_every_package() -> None:
    """`COPY . .` with the ignore file must keep every package pyproject installs."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ignored = {
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    for needed in [*packages, "pyproject.toml", "README.md"]:
        assert needed not in ignored, needed
        assert (ROOT / needed).exists(), needed
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --no-cache-dir ." in dockerfile
    assert re.search(r"^USER dondoc$", dockerfile, re.M)  # not root


def test_installed_package_has_every_data_file() -> None:
    """The image and the systemd venv install dondoc as a package, not from a checkout: every
    template, stylesheet and plan the code reads must be declared as package data."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    declared = tool["setuptools"]["package-data"]
    # deploy/ holds set-up files (Dockerfile, compose, units) used from a checkout, not by code.
    not_runtime = {"deploy"}
    for pattern in tool["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        folder = ROOT / package
        if package in not_runtime or not folder.is_dir():
            continue
        data = {
            p
            for p in folder.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
        }
        covered = {p for glob in declared.get(package, []) for p in folder.glob(glob)}
        missing = sorted(str(p.relative_to(ROOT)) for p in data - covered)
        assert missing == [], f"not in [tool.setuptools.package-data] {package}: {missing}"


# ----------------------------------------------------------------------------- env examples


def _env_keys(path: Path) -> list[str]:
    return [
        line.split("=", 1)[0]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_env_example_names_real_settings() -> None:
    """Every variable of the examples is a setting dondoc or Prefect reads (no silent typos)."""
    keys = [k for k in _env_keys(DEPLOY / "dondoc.env.example") if k.startswith("DONDOC_")]
    assert keys
    for key in keys:
        path = key.removeprefix("DONDOC_").lower().split("__")
        model: Any = Settings
        for part in path:
            assert part in model.model_fields, key
            model = model.model_fields[part].annotation
    prefect_keys = [
        k
        for name in ("dondoc.env.example", "systemd/prefect-server.env.example")
        for k in _env_keys(DEPLOY / name)
        if k.startswith("PREFECT_")
    ]
    assert prefect_keys
    known = prefect_env_names()
    for key in prefect_keys:
        assert key.lower() in known, f"Prefect has no setting {key}"


def prefect_env_names() -> set[str]:
    """Every environment variable name Prefect's settings accept (canonical names and aliases)."""
    from prefect.settings import Settings as PrefectSettings
    from pydantic import AliasChoices, BaseModel

    names: set[str] = set()

    def walk(model: type[BaseModel]) -> None:
        prefix = str(model.model_config.get("env_prefix", "")).lower()
        for field_name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation)
                continue
            names.add(prefix + field_name)
            if isinstance(field.validation_alias, AliasChoices):
                names.update(
                    c.lower() for c in field.validation_alias.choices if isinstance(c, str)
                )

    walk(PrefectSettings)
    return names


# ----------------------------------------------------------------------------- systemd


UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def test_systemd_units_commands_are_real() -> None:
    assert {u.name for u in UNITS} == {
        "dondoc-prefect-server.service",
        "dondoc-deploy.service",
        "dondoc-worker@.service",
        "dondoc-portal.service",
    }
    for unit in UNITS:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(unit, encoding="utf-8")
        assert parser.has_section("Unit") and parser.has_section("Install"), unit.name
        # Multiple ExecStart= lines are legal: configparser keeps the last, so read them all.
        lines = [
            line.split("=", 1)[1]
            for line in unit.read_text(encoding="utf-8").splitlines()
            if line.startswith("ExecStart=")
        ]
        assert lines, unit.name
        for line in lines:
            argv = [a.replace("%H-%i", "host-1") for a in line.split()]
            assert argv[0].startswith("/opt/dondoc/.venv/bin/"), line
            assert_real_command(argv)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_units_verify(tmp_path: Path) -> None:
    """systemd's own checker accepts the units (with the venv path of this machine)."""
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8").replace("/opt/dondoc/.venv/bin", str(BIN))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    names = [u.name.replace("@.service", "@1.service") for u in UNITS]
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    problems = [
        line
        for line in done.stderr.splitlines()
        if "Unknown" in line or "Invalid" in line or "not executable" in line
    ]
    assert problems == []
