"""Fixtures of the deploy tests: real processes (Prefect server, worker, `dondoc serve`),
always stopped."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from tests.support.processes import Spawn, stop_group


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start a process in its own process group, output to a log file; stopped at teardown,
    newest first, even when the test failed."""
    started: list[subprocess.Popen[bytes]] = []

    def start(argv: Sequence[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            process = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=log.parent,  # not the repository: the installed package must work
                start_new_session=True,
            )
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in reversed(started):
            stop_group(process)
