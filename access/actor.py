"""Who is acting: a unit's officer, an admin, or a trusted local channel (CLI, inbox)."""

from __future__ import annotations

from dataclasses import dataclass

from models.access import Role


@dataclass(frozen=True)
class Actor:
    """Who is acting: a unit's officer, an admin, or a trusted local channel (CLI, inbox)."""

    role: Role
    label: str  # for the audit trail, never the secret: "unit:xa-mot token#3", "cli:root"
    unit_id: int | None = None
    unit_code: str | None = None
    unit_name: str | None = None  # what pages show; the code stays for links and the audit
    token_id: int | None = None
    # A person signed in with their own token (None for unit and admin tokens).
    person_id: int | None = None
    person_name: str | None = None
    person_role: str | None = None  # plans.vocabulary.PersonRole's value

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_act_for(self, unit_id: int) -> bool:
        """A unit token acts only for its own unit; an admin for every unit."""
        return self.is_admin or self.unit_id == unit_id


SETTINGS_ADMIN = Actor(role=Role.ADMIN, label="admin:settings")
