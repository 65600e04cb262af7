"""Fixtures of the settings tests: a clean environment with no DONDOC_ variable set."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No DONDOC_ variable of the test process leaks in; the settings and the CLI's engine
    are read again in the test and after it."""
    from cli import common
    from settings import get_settings

    for key in [k for k in os.environ if k.startswith("DONDOC_")]:
        monkeypatch.delenv(key)
    get_settings.cache_clear()
    common.engine.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
    common.engine.cache_clear()
