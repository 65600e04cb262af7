"""Named points where the tests kill the daily check as a power cut would (never in production).

`DONDOC_CRASH_POINT` names the point: `after_record` (the outbox is written, nothing sent) and
`after_send` (a server accepted the first message, not yet marked sent). The process kills
itself with SIGKILL there, so the crash tests exercise real process death.
"""

from __future__ import annotations

import os
import signal

CRASH_POINT_ENV = "DONDOC_CRASH_POINT"


def crash_point(name: str) -> None:
    """Die here when the tests ask for it (the variable is never set in production)."""
    if os.environ.get(CRASH_POINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
