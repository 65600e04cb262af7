"""Support for the security tests: every route the portal answers, every value a database holds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, inspect, text

from portal.app import create_app
from settings import Settings

Route = tuple[str, str]  # (METHOD, path template); ("MOUNT", path) for a mounted app


def portal_app() -> FastAPI:
    """The portal's application, built without a server or a real database."""
    return create_app(Settings(_env_file=None, database_url="sqlite://"))  # type: ignore[call-arg]


def app_routes(routes: Iterable[Any], prefix: str = "") -> set[Route]:
    """Every (method, path) the application answers, through included routers too."""
    found: set[Route] = set()
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included router
            found |= app_routes(route.original_router.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "methods") and route.methods:
            found |= {(m, prefix + route.path) for m in route.methods if m != "HEAD"}
        elif getattr(route, "routes", None):  # a mounted router; static files have no routes
            found |= app_routes(route.routes, prefix + route.path)
        else:
            found.add(("MOUNT", prefix + route.path))
    return found


def every_value(engine: Engine) -> str:
    """Every value of every row of every table the database holds (not only dondoc's models)."""
    parts = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.extend(str(v) for v in row)
    return "\n".join(parts)
