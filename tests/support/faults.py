"""Support for the fault tests: `dondoc remind` in a real child process that a test kills with
SIGKILL at a chosen point, sinks that can pull the trigger, and the accounting of arrivals.

The children come from a fork server that has imported dondoc once, so each run starts in
milliseconds instead of the 1.3 s a fresh interpreter needs to import it: dozens of real
process deaths fit in a few seconds. Each child is a fresh process running the `remind`
command's own function with the environment it is given.
"""

from __future__ import annotations

import contextlib
import glob
import multiprocessing
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from cli.common import parse_instant
from demo.sinks import Mail, Request, SmtpServer, ZaloServer
from models.calendar import load_calendar
from models.db import session_factory, transaction
from models.outbox import ChannelToken, OutboxIntent
from notifications.channels import ChannelName
from notifications.deciding import decide
from notifications.wiring import enabled_channels
from plan_sync.sync import load_plan
from plans.loader import read_plan
from settings import Settings
from tests.support.escalation import APP_ID, FIRST_REFRESH, vn

_CONTEXT: ForkServerContext | None = None


def context() -> ForkServerContext:
    """The fork server, with dondoc's `remind` command imported before any child forks."""
    global _CONTEXT
    if _CONTEXT is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["tests.support.faults", "cli.escalation"])
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


# --- the plan ---------------------------------------------------------------------------

PLAN = Path(__file__).parents[1] / "faults" / "plan.yaml"
OA_ACCESS = "access-token-fault-tests-7q2w"


def load_fault_plan(engine: Engine) -> None:
    """The plan, and a Zalo OA access token valid for years.

    With the token in place no run refreshes it, so a kill can never land in the middle of
    a refresh: Zalo's refresh tokens are single-use, and a refresh killed after the server
    rotated the token loses the chain until an admin sets a new one (docs/escalation.md).
    """
    with transaction(engine) as session:
        load_plan(read_plan(PLAN), session=session, now=vn(2024, 1, 1))
        session.add(
            ChannelToken(
                channel=ChannelName.ZALO_OA.value,
                account=APP_ID,
                access_token=OA_ACCESS,
                refresh_token=FIRST_REFRESH,
                access_expires_at=vn(2099, 1, 1),
                version=1,
                updated_at=vn(2024, 1, 1),
            )
        )


# --- what the check decides and what it sent ------------------------------------------

Intent = tuple[int, str, str, str]  # item, step, recipient, channel


def decided(engine: Engine, settings: Settings, as_of: str) -> set[Intent]:
    """What the check decides at this instant, computed without writing (the reference)."""
    with session_factory(engine)() as session:
        decision = decide(
            session=session,
            now=parse_instant(as_of),
            calendar=load_calendar(session=session),
            channels=[c.value for c in enabled_channels(settings)],
            webhooks=list(settings.webhooks),
        )
    return {(d.item_id, d.step_code, d.recipient_key, d.channel) for d in decision.drafts}


def recorded_intents(engine: Engine) -> tuple[set[Intent], Counter[str]]:
    """Every intent in the outbox, whatever its status, and how many are in each status."""
    with session_factory(engine)() as session:
        rows = session.execute(
            select(
                OutboxIntent.item_id,
                OutboxIntent.step_code,
                OutboxIntent.recipient_key,
                OutboxIntent.channel,
                OutboxIntent.status,
            )
        ).all()
    return {tuple(r[:4]) for r in rows}, Counter(r[4] for r in rows)  # type: ignore[misc]


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


class HookList(list[Any]):
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

    def settle(self, quiet: float = 0.1) -> None:
        """After the child ended: no kill may still be pending (its pid could be reused), and
        what it wrote to a socket before dying has reached the sinks (a request can arrive
        just after its sender died), so `last_key` is really its last message."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer.join()
            self.timer = None
        while True:
            with self.lock:
                seen = self.count
            time.sleep(quiet)
            with self.lock:
                if self.count == seen:
                    return

    def install(self, smtp: SmtpServer, zalo: ZaloServer) -> None:
        with smtp.lock:
            smtp.mails = HookList(smtp.mails, self.on_arrival)
        with zalo.lock:
            zalo.state.delivered = HookList(zalo.state.delivered, self.on_arrival)


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


# --- a private PostgreSQL server the tests may restart ------------------------------------


def _postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _version(path: str) -> int:
    part = Path(path).parents[1].name
    return int(part) if part.isdigit() else 0


class PrivatePostgres:
    """A PostgreSQL server of our own (initdb in a temporary folder, a free port on
    127.0.0.1), so restarting it disturbs no other test run on the machine's shared server.
    As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root)."""

    @classmethod
    def create(cls, port: int) -> PrivatePostgres:
        bindir = _postgres_bindir()
        assert bindir is not None, cls.available()
        return cls(bindir, port)

    def __init__(self, bindir: Path, port: int) -> None:
        self.bindir = bindir
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="dondoc-pg-"))
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    @classmethod
    def available(cls) -> str | None:
        """Why a private server cannot run here, or None."""
        if _postgres_bindir() is None:
            return "no PostgreSQL server binaries (pg_ctl, initdb)"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root without a postgres user"
            if shutil.which("runuser") is None:
                return "running as root without runuser"
        return None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.bindir / tool), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        data, log = str(self.root / "data"), str(self.root / "server.log")
        self._run("pg_ctl", "-D", data, "-l", log, "-w", "-o", options, *extra, action)

    def start(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.root / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--no-locale",
        )
        self._ctl("start")

    def restart(self) -> None:
        """A fast restart: every connection is cut, open transactions are rolled back."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)
