"""Helpers of the office-action tests: the office signed in, a page's CSRF value, audit rows."""

from __future__ import annotations

import html as markup
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import Engine, select

from models.access import AuditEvent
from models.db import session_factory
from tests.support.intake import ADMIN_SECRET, Portal, new_token, sign_in


@contextmanager
def signed_in(portal: Portal, unit: str | None = "office") -> Iterator[httpx.Client]:
    """A page client signed in as the office (the settings' admin secret) or a unit's token."""
    with portal.client() as client:
        sign_in(client, ADMIN_SECRET if unit == "office" else new_token(portal.engine, unit))
        yield client


def csrf(client: httpx.Client, path: str = "/") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def audit(engine: Engine, action: str) -> list[dict[str, Any]]:
    """The audit rows of one action, oldest first."""
    with session_factory(engine)() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return [
            {
                "actor": r.actor,
                "object_id": r.object_id,
                "details": r.details,
                "address": r.source_address,
            }
            for r in rows
        ]


def hidden_fields(html: str, marker: str = "xac_nhan") -> dict[str, list[str]]:
    """The hidden inputs of the confirm page's form carrying `marker` (xac_nhan: do it; sua:
    back to the form as typed), as a browser would post them."""
    forms = re.findall(r"<form\b.*?</form>", html, re.S)
    (form,) = [f for f in forms if f'name="{marker}"' in f]
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
        fields.setdefault(name, []).append(markup.unescape(value))
    return fields
