"""One wording for unit kinds and people's roles: the unit page, the dashboard's filter, the
office's request form, the token slip and the CLI all name them from plans.vocabulary."""

from __future__ import annotations

from access import actor
from plans.vocabulary import PERSON_ROLE_VI, UNIT_KIND_VI, PersonRole, UnitKind
from portal import dashboard as dashboard_page
from portal import office_requests
from status import desk_filters, unit_view


def test_every_kind_and_role_has_its_one_vietnamese_name() -> None:
    assert set(UNIT_KIND_VI) == set(UnitKind) and set(PERSON_ROLE_VI) == set(PersonRole)
    assert UNIT_KIND_VI["commune"] == "Xã"  # looked up by the stored value too
    assert PERSON_ROLE_VI["admin"] == "Cán bộ tổng hợp"


def test_pages_and_cli_share_the_one_wording() -> None:
    for module in (unit_view, desk_filters, dashboard_page, office_requests):
        assert module.UNIT_KIND_VI is UNIT_KIND_VI, module.__name__
    for module in (actor, unit_view):
        assert module.PERSON_ROLE_VI is PERSON_ROLE_VI, module.__name__
