"""Helpers of the deploy tests: starting and stopping real processes, their environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

BIN = Path(sys.executable).parent


def stop_group(process: subprocess.Popen[bytes], first: int = signal.SIGINT) -> None:
    """Stop a process and everything in its process group: `first`, SIGTERM, then SIGKILL."""
    for sig, wait in ((first, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break  # the whole group is gone
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; children it left in the group get the stronger signals.
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
    process.wait()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def log_tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return "(no log)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


Spawn = Callable[[Sequence[str], Mapping[str, str], Path], subprocess.Popen[bytes]]


def base_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a child process: this one's, minus settings that would leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DONDOC_"))}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW="ignore",
        COLUMNS="200",
        NO_COLOR="1",
    )
    return env
