"""Support for the fault tests: `dondoc remind` in a real child process that a test kills with
SIGKILL at a chosen point, sinks that can pull the trigger, and the accounting of arrivals.

The children come from a fork server that has imported dondoc once, so each run starts in
milliseconds instead of the 1.3 s a fresh interpreter needs to import it: dozens of real
process deaths fit in a few seconds. Each child is a fresh process running the `remind`
command's own function with the environment it is given.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

from escalation_support import Mail, Request, SmtpServer, ZaloServer

_CONTEXT: ForkServerContext | None = None


def context() -> ForkServerContext:
    """The fork server, with dondoc's `remind` command imported before any child forks."""
    global _CONTEXT
    if _CONTEXT is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["fault_support", "cli.escalation"])
        _CONTEXT = ctx
    return _CONTEXT


def remind_child(env: dict[str, str], as_of: str, log_path: str) -> None:
    """The child: `dondoc remind --as-of AS_OF` with exactly these DONDOC_ settings."""
    for name in [n for n in os.environ if n.startswith("DONDOC_")]:
        del os.environ[name]
    os.environ.update(env)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    from cli.escalation import remind

    remind(as_of=as_of, dry_run=False)


def start_remind(env: dict[str, str], as_of: str, log_path: str) -> BaseProcess:
    process = context().Process(target=remind_child, args=(env, as_of, log_path), daemon=True)
    process.start()
    return process


# --- arrivals -----------------------------------------------------------------------------


def key_of_mail(mail: Mail) -> str:
    return mail.message_id.strip("<>").split("@")[0]


def key_of_request(request: Request) -> str | None:
    """The message key a request carries; None for a token refresh."""
    if request.kind == "webhook":
        return request.headers["idempotency-key"]
    if request.kind == "oa":
        return "zalo:" + request.body["message"]["text"].rsplit("Mã: ", 1)[1].strip()
    if request.kind == "bot":
        return "zalo:" + request.body["text"].rsplit("Mã: ", 1)[1].strip()
    return None


def content_of_mail(mail: Mail) -> tuple[Any, ...]:
    return (mail.rcpt_tos, str(mail.message["Subject"]), mail.text)


def content_of_request(request: Request) -> tuple[Any, ...]:
    return (request.kind, request.path, repr(request.body))


def arrival_key(item: Mail | Request) -> str | None:
    return key_of_mail(item) if isinstance(item, Mail) else key_of_request(item)


def arrivals(smtp: SmtpServer, zalo: ZaloServer) -> Counter[str]:
    """How many times each message key arrived, on any channel."""
    keys: Counter[str] = Counter(key_of_mail(m) for m in smtp.received())
    with zalo.lock:
        delivered = list(zalo.state.delivered)
    keys.update(k for r in delivered if (k := key_of_request(r)) is not None)
    return keys


def copies_differ(smtp: SmtpServer, zalo: ZaloServer) -> list[str]:
    """Keys whose copies are not identical (a resend must repeat the message, not vary it)."""
    seen: dict[str, set[tuple[Any, ...]]] = {}
    for mail in smtp.received():
        seen.setdefault(key_of_mail(mail), set()).add(content_of_mail(mail))
    with zalo.lock:
        delivered = list(zalo.state.delivered)
    for r in delivered:
        if (k := key_of_request(r)) is not None:
            seen.setdefault(k, set()).add(content_of_request(r))
    return sorted(k for k, contents in seen.items() if len(contents) > 1)


def expected_key(key: str, channel: str) -> str:
    """The key a message's copies carry on the wire (Zalo texts show its first 8 characters)."""
    return "zalo:" + key[:8] if channel.startswith("zalo") else key


# --- sinks that pull the trigger -----------------------------------------------------------


class _HookList(list[Any]):
    """The list a sink appends each accepted message to, calling a hook first."""

    def __init__(self, items: list[Any], hook: Callable[[Any], None]) -> None:
        super().__init__(items)
        self._hook = hook

    def append(self, item: Any) -> None:
        super().append(item)
        self._hook(item)


@dataclass
class Trigger:
    """Kill the running child at its n-th arrival: before the sink answers, or just after."""

    at: int
    after_reply_ms: int | None = None  # None: before the sink's reply reaches the child


@dataclass
class KillSwitch:
    """Watches every arrival at the sinks and kills the current child when told to."""

    process: BaseProcess | None = None
    trigger: Trigger | None = None
    count: int = 0
    last_key: str | None = None
    fired: bool = False
    timer: threading.Timer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, process: BaseProcess, trigger: Trigger | None) -> None:
        with self.lock:
            self.process, self.trigger = process, trigger
            self.count, self.last_key, self.fired = 0, None, False

    def on_arrival(self, item: Mail | Request) -> None:
        key = arrival_key(item)
        if key is None:
            return  # a token refresh, not a message
        with self.lock:
            self.count += 1
            self.last_key = key
            trigger, process = self.trigger, self.process
            if trigger is None or process is None or self.fired or self.count != trigger.at:
                return
            self.fired = True
        if process.pid is None:
            return
        if trigger.after_reply_ms is None:
            os.kill(process.pid, signal.SIGKILL)  # the child is waiting for this reply
        else:
            self.timer = threading.Timer(
                trigger.after_reply_ms / 1000, kill_quietly, args=(process.pid,)
            )
            self.timer.start()

    def settle(self) -> None:
        """After the child ended: no kill may still be pending (its pid could be reused)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer.join()
            self.timer = None

    def install(self, smtp: SmtpServer, zalo: ZaloServer) -> None:
        with smtp.lock:
            smtp.mails = _HookList(smtp.mails, self.on_arrival)
        with zalo.lock:
            zalo.state.delivered = _HookList(zalo.state.delivered, self.on_arrival)


def kill_quietly(pid: int) -> None:
    """SIGKILL, unless the process already ended."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def run_remind(env: dict[str, str], as_of: str, log_path: str) -> int | None:
    """One `dondoc remind` run to its end; its exit code."""
    process = start_remind(env, as_of, log_path)
    process.join(60)
    return process.exitcode


# --- an SMTP server that stops accepting part-way ----------------------------------------


class RefusingHandler:
    """Wraps the SMTP sink's handler: after `accept` messages, every one gets 421 (the server
    is going down) and is not recorded; `accept=None` accepts everything again."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.accept: int | None = None
        self.accepted = 0
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.accept is not None and self.accepted >= self.accept:
            self.refused += 1
            return "421 4.3.2 Service shutting down"
        self.accepted += 1
        result: str = await self.inner.handle_DATA(server, session, envelope)
        return result


def refusing(smtp: SmtpServer) -> RefusingHandler:
    """Put a RefusingHandler in front of a started sink (new connections use it)."""
    controller = smtp._controller
    assert controller is not None, "start the server first"
    handler = RefusingHandler(controller.handler)
    controller.handler = handler
    return handler
