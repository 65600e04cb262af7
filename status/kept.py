"""Answers kept between requests, used only while they are still exactly what a fresh
computation would give.

An answer is kept with the change marks (models.marks) read before it was computed and the
span of time over which it holds: from the instant it was computed for, up to the first
instant at which a state it counts changes by the clock alone (a deadline passes, a first
acceptance is received). A request reuses it only when its own instant lies in that span and
the marks still read the same, so a submission, a relief, a reloaded plan or a renamed unit
is seen at the next click, by any portal process, whoever wrote it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")
_NEVER = datetime.max.replace(tzinfo=UTC)
ALWAYS = datetime.min.replace(tzinfo=UTC)  # the `since` of an answer the clock cannot change

# Enough for the views an office moves between in a morning (one view keeps about twenty
# answers). Most answers are a few hundred bytes; a province's unit list is 10,000 rows of
# ~250 bytes, so the rows kept are bounded too: ~50 MB at most, whatever is asked.
KEPT_ANSWERS = 512
KEPT_ROWS = 200_000


@dataclass(frozen=True)
class Held:
    """When an answer holds: under these marks, from `since` up to (not including) `until`."""

    marks: Hashable
    since: datetime
    until: datetime | None  # None: no instant ahead changes it


class Kept:
    """A bounded, thread-safe store of answers, the least recently used dropped first."""

    def __init__(self, size: int = KEPT_ANSWERS, rows: int = KEPT_ROWS) -> None:
        self._size, self._rows = size, rows
        self._answers: OrderedDict[Hashable, tuple[Held, Any]] = OrderedDict()
        self._kept_rows = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, marks: Hashable, at: datetime = ALWAYS) -> Any | None:
        """The answer kept for `key` if it holds under `marks` at `at`, else None (answers
        are never None)."""
        with self._lock:
            found = self._answers.get(key)
            if found is None:
                return None
            held, answer = found
            if held.marks != marks or not held.since <= at < (held.until or _NEVER):
                return None
            self._answers.move_to_end(key)
            return answer

    def put(self, key: Hashable, held: Held, answer: Any) -> None:
        with self._lock:
            if key in self._answers:
                self._kept_rows -= _rows(self._answers.pop(key)[1])
            self._answers[key] = (held, answer)
            self._kept_rows += _rows(answer)
            while len(self._answers) > self._size or (
                self._kept_rows > self._rows and len(self._answers) > 1
            ):
                self._kept_rows -= _rows(self._answers.popitem(last=False)[1][1])

    def answer(
        self,
        key: Hashable,
        marks: Hashable,
        compute: Callable[[], tuple[T, datetime | None]],
        at: datetime = ALWAYS,
    ) -> T:
        """The kept answer, or `compute()`'s (answer, until), kept from `at` (an answer the
        clock cannot change is asked without `at`)."""
        found = self.get(key, marks, at)
        if found is not None:
            return found
        answer, until = compute()
        self.put(key, Held(marks, at, until), answer)
        return answer


def _rows(answer: Any) -> int:
    """An answer's weight against KEPT_ROWS: its length if it is a collection, else one."""
    return len(answer) if isinstance(answer, list | set | dict | tuple) else 1
