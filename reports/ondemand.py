"""Reports compiled on demand: where they are written, which are there, PDF, one run per period."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine

from intake.locks import wait_for_writers
from models.db import session_factory
from reports.compile import Format, load_report, render_all, write_files
from reports.document import ReportError
from schedules.periods import Period

log = logging.getLogger(__name__)
PDF = "pdf"
# What the office downloads; Markdown and JSON (and the chart PNG) stay for machines.
LISTED = (Format.DOCX.value, Format.XLSX.value, Format.HTML.value, PDF, Format.MD.value)
MEDIA = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
}
PDF_TIMEOUT_S = 300


def reports_dir(data_dir: Path, period: str) -> Path:
    """Where a period's compiled files are written: the CLI's and the flow's default too."""
    return data_dir / "reports" / period


def libreoffice() -> str | None:
    """LibreOffice's program when installed (it converts the DOCX to PDF)."""
    return shutil.which("libreoffice") or shutil.which("soffice")


def docx_to_pdf(docx: Path) -> Path:
    """The DOCX's PDF beside it, converted by LibreOffice in a private profile.

    One conversion per file at a time: a second request waits for the first and takes its
    PDF. LibreOffice writes into a hidden folder beside the DOCX and the PDF is renamed into
    place, so a download never reads a half-written file."""
    program = libreoffice()
    if program is None:
        raise ReportError("Máy chủ chưa cài LibreOffice nên không tạo được tệp PDF.")
    pdf = docx.with_suffix(".pdf")
    with _converting(pdf):
        if current_pdf(pdf):
            return pdf  # made while this request waited
        with (
            tempfile.TemporaryDirectory(prefix="dondoc-lo-") as profile,
            tempfile.TemporaryDirectory(prefix=".pdf-", dir=docx.parent) as out,
        ):
            done = subprocess.run(  # noqa: S603 - fixed program, our own file
                [
                    program,
                    f"-env:UserInstallation={Path(profile).as_uri()}",
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    out,
                    str(docx),
                ],
                capture_output=True,
                timeout=PDF_TIMEOUT_S,
                check=False,
            )
            made = Path(out) / pdf.name
            if done.returncode != 0 or not made.exists():
                raise ReportError(f"LibreOffice không chuyển được {docx.name} sang PDF.")
            os.replace(made, pdf)
    return pdf


_LOCKS_GUARD = threading.Lock()
_LOCKS: dict[Path, threading.Lock] = {}


def _converting(pdf: Path) -> threading.Lock:
    """The lock of one PDF's conversion (the portal's request threads and compilations)."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(pdf.resolve(), threading.Lock())


@dataclass(frozen=True)
class CompiledFile:
    name: str
    fmt: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class CompiledPeriod:
    period: str
    files: tuple[CompiledFile, ...]


def valid_period(label: str) -> bool:
    try:
        Period.parse(label)
    except ValueError:
        return False
    return True


def compiled_periods(data_dir: Path) -> list[CompiledPeriod]:
    """Every period with compiled files, newest period first; only the listed formats."""
    root = data_dir / "reports"
    found = []
    for folder in sorted(root.iterdir() if root.is_dir() else (), reverse=True):
        if not folder.is_dir() or not valid_period(folder.name):
            continue
        files = [
            CompiledFile(
                p.name,
                p.suffix[1:],
                p.stat().st_size,
                datetime.fromtimestamp(p.stat().st_mtime, UTC),
            )
            for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith(".") and p.suffix[1:] in LISTED
        ]
        if files:
            found.append(CompiledPeriod(folder.name, tuple(files)))
    return found


def compiled_file(data_dir: Path, period: str, name: str) -> Path | None:
    """A listed file of a period by its name; None for anything else (no path tricks)."""
    for listed in compiled_periods(data_dir):
        if listed.period == period and any(f.name == name for f in listed.files):
            return reports_dir(data_dir, period) / name
    return None


def current_pdf(pdf: Path) -> bool:
    """Whether a PDF made on download still shows its DOCX: a later compilation rewrites the
    DOCX (the CLI, a flow, "Tổng hợp ngay" without PDF) and leaves the old PDF beside it."""
    docx = pdf.with_suffix(".docx")
    if not pdf.is_file():
        return False
    return not docx.is_file() or docx.stat().st_mtime_ns <= pdf.stat().st_mtime_ns


def compile_period(
    engine: Engine, *, period: str, formats: Sequence[str], now: datetime, data_dir: Path
) -> list[Path]:
    """Compile a period as of `now` into its reports folder, the PDF from the DOCX if asked."""
    wanted = [Format(f) for f in formats if f != PDF]
    if PDF in formats and Format.DOCX not in wanted:
        wanted.append(Format.DOCX)
    wait_for_writers(engine)  # what counts as of `now` is final from here on
    with session_factory(engine)() as session:
        report = load_report(session=session, period=period, as_of=now)
    paths = write_files(render_all(report, wanted), reports_dir(data_dir, period))
    if PDF in formats:
        docx = next(p for p in paths if p.suffix == ".docx")
        paths.append(docx_to_pdf(docx))
    return paths


class JobState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


STATE_VI = {
    JobState.RUNNING: "Đang tổng hợp",
    JobState.DONE: "Đã tổng hợp xong",
    JobState.FAILED: "Tổng hợp không thành công",
}


@dataclass(frozen=True)
class Job:
    """One compilation in the portal's background, as the status page shows it."""

    job_id: int
    period: str
    formats: tuple[str, ...]
    state: JobState
    started_at: datetime
    finished_at: datetime | None = None
    files: tuple[str, ...] = ()
    error: str | None = None
    by: str = ""

    @property
    def state_vi(self) -> str:
        return STATE_VI[self.state]

    @property
    def finished(self) -> bool:
        return self.state is not JobState.RUNNING


class AlreadyRunning(Exception):
    def __init__(self, job: Job) -> None:
        super().__init__(job.period)
        self.job = job


@dataclass
class CompileJobs:
    """Compilations running in threads of this process: one at a time per period."""

    clock: Callable[[], datetime]
    _jobs: dict[int, Job] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(
        self, period: str, formats: Sequence[str], by: str, work: Callable[[], list[Path]]
    ) -> Job:
        """Run `work` in a thread; AlreadyRunning when the period already compiles."""
        with self._lock:
            for job in self._jobs.values():
                if job.period == period and not job.finished:
                    raise AlreadyRunning(job)
            job = Job(len(self._jobs) + 1, period, tuple(formats), JobState.RUNNING, self.clock())
            job = replace(job, by=by)
            self._jobs[job.job_id] = job
        thread = threading.Thread(
            target=self._run, args=(job.job_id, work), name=f"compile-{period}", daemon=True
        )
        self._threads.append(thread)
        thread.start()
        return job

    def _run(self, job_id: int, work: Callable[[], list[Path]]) -> None:
        try:
            paths = work()
        except ReportError as exc:
            self._finish(job_id, JobState.FAILED, error=str(exc))
        except Exception as exc:
            log.exception("compiling %s failed", self._jobs[job_id].period)
            self._finish(
                job_id,
                JobState.FAILED,
                error=f"Lỗi khi tổng hợp ({type(exc).__name__}); xem nhật ký của cổng báo cáo.",
            )
        else:
            self._finish(job_id, JobState.DONE, files=tuple(p.name for p in paths))

    def _finish(
        self,
        job_id: int,
        state: JobState,
        *,
        files: tuple[str, ...] = (),
        error: str | None = None,
    ) -> None:
        with self._lock:
            job = self._jobs[job_id]
            self._jobs[job_id] = replace(
                job, state=state, finished_at=self.clock(), files=files, error=error
            )

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every started thread (tests, shutdown)."""
        for thread in list(self._threads):
            thread.join(timeout)
