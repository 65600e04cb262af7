"""Keeps secrets (SMTP password, Zalo tokens, webhook credentials) out of logs and error texts.

Third-party libraries log what they see: urllib3 logs every request path at DEBUG, apprise
logs a webhook's full URL at DEBUG, httpx logs every URL at INFO, and the Zalo Bot API and
many webhooks put their token in the path. So every log record of the process is scrubbed
when it is created (a LogRecord factory), whichever logger or handler it goes to (apprise,
urllib3, httpx, httpcore, Prefect's), including the text of an attached exception; a URL's
secret parts are registered with `url_secrets`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "***"
# Shorter values would mask ordinary words; no real credential is this short.
_MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
# Replaced whole (never mutated) so readers in other threads see a consistent set.
_secrets: frozenset[str] = frozenset()
_installed = False


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every known secret (and the extra `secrets`) masked."""
    values = _secrets | {s for s in (secrets or ()) if s and len(s) >= _MIN_SECRET_LENGTH}
    for value in sorted(values, key=len, reverse=True):  # longest first: one may contain another
        if value in text:
            text = text.replace(value, MASK)
    return text


def url_secrets(url: str) -> set[str]:
    """The parts of a URL that may be secret, as written, decoded and percent-encoded: its
    password, its path (where many webhooks carry their token) and its query values."""
    parts = urlsplit(url)
    values = [parts.password, parts.path if parts.path.strip("/") else None]
    values += [value for _, value in parse_qsl(parts.query)]
    return {form for v in values if v for form in (v, unquote(v), quote(unquote(v), safe="/"))}


def _contains_secret(text: str) -> bool:
    return any(value in text for value in _secrets)


def _scrub(record: logging.LogRecord) -> None:
    if not _secrets:
        return
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is the logging module's business, not ours
        return
    if _contains_secret(message):
        record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        if _contains_secret(text):
            # Formatters reuse exc_text instead of formatting the exception again.
            record.exc_text = redact(text)


def protect(values: Iterable[str | None]) -> None:
    """Register secrets to mask in every log record from now on (idempotent)."""
    global _installed, _secrets
    with _lock:
        _secrets = _secrets | {v for v in values if v and len(v) >= _MIN_SECRET_LENGTH}
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
