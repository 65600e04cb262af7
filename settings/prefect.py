"""Prefect's client settings as dondoc reads them: one path for the portal and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from settings import Settings


@contextmanager
def prefect_client(settings: Settings) -> Iterator[None]:
    """Within the block, Prefect's client talks to the API of dondoc's settings (the
    environment, else the home's .env), whatever the working directory; what they leave
    unset stays as Prefect's own settings say (its profile)."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    updates: dict[object, str] = {}
    if settings.prefect_api_url:
        updates[PREFECT_API_URL] = settings.prefect_api_url
    if settings.prefect_api_auth_string is not None:
        updates[PREFECT_API_AUTH_STRING] = settings.prefect_api_auth_string.get_secret_value()
    with temporary_settings(updates):
        yield
