"""Who is acting: a unit's officer, a person of the plan, an admin, or a local channel."""

from __future__ import annotations

from dataclasses import dataclass

from models.access import Role
from plans.vocabulary import PERSON_ROLE_VI

# Roles whose person reports for their own unit (a leader in charge only follows).
SUBMITTING_ROLES = frozenset({"reporting_officer", "unit_head"})


@dataclass(frozen=True)
class Actor:
    """Who is acting: a unit's officer, a person of the plan, an admin, or a local channel."""

    role: Role
    label: str  # for the audit trail, never the secret: "unit:xa-mot token#3", "cli:root"
    unit_id: int | None = None  # the unit it reports for (None: the office, or a leader)
    unit_code: str | None = None
    unit_name: str | None = None  # what pages show; the code stays for links and the audit
    token_id: int | None = None
    # A person signed in with their own token (None for unit and admin tokens).
    person_id: int | None = None
    person_name: str | None = None
    person_role: str | None = None  # plans.vocabulary.PersonRole's value
    person_title: str | None = None  # "Trưởng phòng Tài chính - Kế hoạch"
    person_unit_id: int | None = None  # the unit the person belongs to (a leader's too)
    person_unit_name: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def person_role_vi(self) -> str | None:
        """The person's role as pages say it ("Thủ trưởng đơn vị"); None for a unit token."""
        return PERSON_ROLE_VI.get(self.person_role or "")

    def may_act_for(self, unit_id: int) -> bool:
        """Whether it may submit for the unit: the office for every unit; a unit token, a
        reporting officer and a unit head for their own unit; a leader in charge for none."""
        return self.is_admin or (self.unit_id is not None and self.unit_id == unit_id)


__all__ = ["PERSON_ROLE_VI", "SETTINGS_ADMIN", "SUBMITTING_ROLES", "Actor"]

SETTINGS_ADMIN = Actor(role=Role.ADMIN, label="admin:settings")
