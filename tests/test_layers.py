"""The layers hold: every module imports alone, and the ground loads no database or framework."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "schedules", "plans", "submissions", "wording", "settings", "models", "access", "status",
    "plan_sync", "intake", "adhoc", "notifications", "reports", "tasks", "flows", "portal",
    "deploy", "cli", "demo", "benchmarks",
]  # fmt: skip
# Modules only a tool loads: Alembic's environment runs inside `alembic upgrade`.
TOOL_ONLY = {"models.migrations.env"}
GROUND = ["schedules", "plans.schema", "plans.loader", "plans.dues", "submissions.content",
          "submissions.spreadsheet", "submissions.values", "wording.vietnamese"]  # fmt: skip
HEAVY = ["sqlalchemy", "prefect", "fastapi", "starlette", "apprise", "settings", "models"]


def all_modules() -> list[str]:
    modules = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "versions" in parts:
                continue  # migration scripts run only inside Alembic
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if name not in TOOL_ONLY:
                modules.append(name)
    return modules


@pytest.mark.slow
def test_every_module_imports_alone() -> None:
    modules = all_modules()
    assert len(modules) > 100
    # Each in a child of one interpreter that holds the heavy third-party packages, none of
    # the project's (tests/support/import_alone.py says why that is still "alone").
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.import_alone", *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {}


def test_the_ground_loads_no_database_framework_or_settings() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for m in {GROUND!r}: importlib.import_module(m)\n"
        f"print(json.dumps([h for h in {HEAVY!r} if h in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=root, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_the_layer_contracts_hold_and_refuse_an_upward_import(tmp_path: Path) -> None:
    assert _lint_imports(ROOT).returncode == 0
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    (tmp_path / "plans" / "upward.py").write_text('"""A probe."""\nimport models.db\n')
    broken = _lint_imports(tmp_path)
    assert broken.returncode != 0
    assert "plans.upward -> models.db" in broken.stdout
