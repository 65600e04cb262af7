"""Reading uploaded files in a separate, low-priority process, so no file takes the portal's CPU.

Parsing a spreadsheet is CPU work under the GIL: in a thread of the portal it slows every
other request (issue 13: a 16,384-column or 3-million-cell XLSX). In a process of its own,
niced and capped in memory, the operating system serves the portal first, and a file that
exhausts the reader's memory kills the reader, not the portal. Each file's work is still
bounded by submissions.workbook (cells, rows, columns, time).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from submissions.spreadsheet import ParsedFile, parse_json, read_upload
from submissions.workbook import file_error

log = logging.getLogger(__name__)

# One reader process: uploads are short and queue behind each other, and on a small server
# the portal keeps the other core. Niced so the portal's requests come first.
READER_PROCESSES = 1
READER_NICENESS = 10
READER_MEMORY_BYTES = 1 << 30  # far above any file within the upload limit

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _start_reader() -> None:
    os.nice(READER_NICENESS)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (READER_MEMORY_BYTES, READER_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):  # not Linux, or a lower hard limit already set
        pass


def _readers() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                READER_PROCESSES,
                mp_context=multiprocessing.get_context("spawn"),  # never fork a threaded server
                initializer=_start_reader,
            )
        return _pool


def _drop(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def _read(filename: str | None, data: bytes) -> ParsedFile:
    return parse_json(data, "payload") if filename is None else read_upload(filename, data)


async def read_in_reader(filename: str | None, data: bytes) -> ParsedFile:
    """The file read by the reader process (filename None: a JSON payload field).

    Raises what read_upload raises (IntakeError with its fields). A reader that dies takes
    every file it held with it: each is read once more by a fresh reader, and a file that
    kills that one too is refused.
    """
    for attempt in (1, 2):
        pool = _readers()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, _read, filename, data)
        except BrokenProcessPool:
            log.warning("the upload reader died on a %d-byte file (attempt %d)", len(data), attempt)
            _drop(pool)
    raise file_error(
        "too_complex", "Tệp quá phức tạp, đọc vượt giới hạn bộ nhớ: hãy dùng mẫu của dondoc."
    )


def stop_readers() -> None:
    """End the reader process (the portal's shutdown; blocks until it has exited)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
