"""Import each module named on the command line alone, in a child forked from this process;
print the failures, with their last line, as JSON.

What makes a child cheap: this process first imports every third-party module that the named
modules load (a fresh interpreter spends a second or more on Prefect alone). No module of the
project is loaded before a child imports its own, so an import cycle, or a missing import of
one of the project's modules, still fails. Run it as `python -m tests.support.import_alone
MODULE...` from the repository's root.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys


def _child(module: str, write: int) -> None:
    try:
        importlib.import_module(module)
    except BaseException as exc:  # SystemExit too: a module must not end the program
        os.write(write, f"{type(exc).__name__}: {exc}".encode()[:4000])
        os._exit(1)
    os._exit(0)


def _preload(modules: list[str]) -> None:
    """Import what importing every one of `modules` loads outside the project, found in a child."""
    project = {m.split(".")[0] for m in modules} | {"tests", "__main__"}
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        for module in modules:
            with contextlib.suppress(BaseException):  # its own child says how it fails
                importlib.import_module(module)
        names = [name for name in sys.modules if name.split(".")[0] not in project]
        with os.fdopen(write, "w") as pipe:
            json.dump(names, pipe)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        names = json.load(pipe)
    os.waitpid(pid, 0)
    for name in names:  # in the order they were loaded: each after what it needs
        with contextlib.suppress(Exception):  # a warm-up only: a child imports it as it must
            importlib.import_module(name)


def main(modules: list[str]) -> dict[str, str]:
    _preload(modules)
    failures: dict[str, str] = {}
    running: dict[int, tuple[str, int]] = {}

    def reap() -> None:
        pid, status = os.wait()
        module, read = running.pop(pid)
        with os.fdopen(read, "rb") as pipe:
            said = pipe.read().decode(errors="replace").strip()
        if status:
            failures[module] = said or f"wait status {status}"

    for module in modules:
        if len(running) >= (os.cpu_count() or 2):
            reap()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            _child(module, write)
        os.close(write)
        running[pid] = (module, read)
    while running:
        reap()
    return failures


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
