"""Best-of-n wall time and peak Python memory of a call."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def measure(call: Callable[[], T], repeat: int) -> tuple[T, float, float]:
    """(result, best seconds of `repeat` runs, peak MiB allocated during one traced run)."""
    result = call()  # warm-up: caches, compiled statements
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, best, peak / 2**20
