"""What a flow run checks before its first step: the settings it read, and dondoc's database."""

from __future__ import annotations

from prefect import get_run_logger
from sqlalchemy import make_url

from models.db import open_database, where
from settings import Settings, get_settings


def checked_settings() -> Settings:
    """The run's settings, once dondoc's database is known to exist (else DatabaseMissing:
    the run fails at once, saying to run `dondoc init`, not at its first query).

    The log names the home and the database, so an admin sees which ones a worker's run used.
    """
    settings = get_settings()
    open_database(settings.database_url).dispose()
    get_run_logger().info(
        "dondoc home %s, database %s", settings.home, where(make_url(settings.database_url))
    )
    return settings
