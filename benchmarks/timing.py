"""Best-of-n wall time and peak Python memory of a call.

The machine is shared (other test runs come and go), so the two sides of a ratio are timed
in alternation and each keeps its best run: a burst of load then hits both, not one.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def peak_mib(call: Callable[[], object]) -> float:
    """Peak MiB of Python memory allocated during one traced run of `call`."""
    gc.collect()
    tracemalloc.start()
    try:
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def measure(call: Callable[[], T], repeat: int) -> tuple[T, float, float]:
    """(result, best seconds of `repeat` runs, peak MiB allocated during one traced run)."""
    result = call()  # warm-up: caches, compiled statements
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return result, best, peak_mib(call)


def compare(
    calls: Mapping[str, Callable[[], Any]], repeat: int, *, memory: bool = True
) -> dict[str, dict[str, Any]]:
    """Each call's last result, best seconds and peak MiB; the calls alternate run by run."""
    out: dict[str, dict[str, Any]] = {
        name: {"result": call(), "best_s": float("inf")}  # warm-up
        for name, call in calls.items()
    }
    for _ in range(repeat):
        for name, call in calls.items():
            gc.collect()
            start = time.perf_counter()
            out[name]["result"] = call()
            out[name]["best_s"] = min(out[name]["best_s"], time.perf_counter() - start)
    if memory:
        for name, call in calls.items():
            out[name]["peak_mib"] = peak_mib(call)
    return out
