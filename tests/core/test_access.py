"""Record access: the role matrix behind `can`/`require`, and the own/team/all visibility that
`visible` applies to real records."""

from __future__ import annotations

import pytest

from vinculo.contacts.models import Contact
from vinculo.core.access import can, require, team_user_ids, visible
from vinculo.core.exceptions import PermissionDenied
from vinculo.core.models import Membership, Team, TeamMember, User, Workspace
from vinculo.core.roles import MODULES, ROLE_SPECS, Right, Role, RoleSpec, Scope
from vinculo.core.services import membership_add

# The matrix as the product defines it, written out by hand so that any change to the roles
# shows up here: v=view c=create e=edit d=delete.
COLUMNS = (
    "contacts",
    "accounts",
    "timeline",
    "tags",
    "privacy",
    "settings",
    "leads",
    "deals",
    "products",
    "forecasts",
    "automation",
    "webforms",
)
EXPECTED_RIGHTS: dict[str, dict[str, str]] = {
    role: dict(zip(COLUMNS, cells, strict=True))
    for role, cells in {
        Role.ADMIN: ("vced",) * 12,
        Role.MANAGER: ("vced", "vced", "vced", "vced", "vced", "v") + ("vced",) * 6,
        Role.SALES: ("vce", "vce", "vced", "", "", "", "vce", "vce", "v", "v", "", ""),
        Role.MARKETING: ("vce", "vce", "vce", "", "", "", "vce", "v", "v", "", "vce", "vced"),
        Role.SERVICE: ("vce", "v", "vced", "", "", "", "", "v", "v", "", "", ""),
        Role.READ_ONLY: ("v", "v", "v", "", "", "", "v", "v", "v", "v", "", ""),
    }.items()
}
LETTER = {Right.VIEW: "v", Right.CREATE: "c", Right.EDIT: "e", Right.DELETE: "d"}
EXPECTED_SCOPE = {
    Role.ADMIN: Scope.ALL,
    Role.MANAGER: Scope.ALL,
    Role.SALES: Scope.TEAM,
    Role.MARKETING: Scope.ALL,
    Role.SERVICE: Scope.ALL,
    Role.READ_ONLY: Scope.ALL,
}

MATRIX = [
    (role, module, right, LETTER[right] in EXPECTED_RIGHTS[role].get(module, "-"))
    for role in Role.values
    for module in MODULES
    for right in Right
]


def test_the_matrix_covers_every_role_and_module():
    assert set(EXPECTED_RIGHTS) == set(Role.values) == set(ROLE_SPECS)
    assert all(set(modules) == set(MODULES) for modules in EXPECTED_RIGHTS.values())
    assert {role: spec.scope for role, spec in ROLE_SPECS.items()} == EXPECTED_SCOPE


@pytest.mark.parametrize(("role", "module", "right", "allowed"), MATRIX)
def test_can_and_require_follow_the_role_matrix(
    workspace, make_member, role, module, right, allowed
):
    user = make_member(f"{role}-member@acme.test", role)
    assert can(workspace=workspace, user=user, module=module, right=right) is allowed
    assert can(workspace=workspace, user=user, module=module, right=right.value) is allowed
    if allowed:
        require(workspace=workspace, user=user, module=module, right=right)
    else:
        with pytest.raises(PermissionDenied, match=f"{right} on {module}"):
            require(workspace=workspace, user=user, module=module, right=right)


def test_unknown_modules_grant_nothing_even_to_admins(workspace, admin):
    assert not can(workspace=workspace, user=admin, module="payroll", right=Right.VIEW)


def test_the_system_may_do_anything_but_a_stranger_nothing(workspace, other_admin):
    require(workspace=workspace, user=None, module="settings", right=Right.DELETE)
    assert not can(workspace=workspace, user=other_admin, module="contacts", right=Right.VIEW)
    with pytest.raises(PermissionDenied):
        require(workspace=workspace, user=other_admin, module="contacts", right=Right.VIEW)


def test_rights_are_per_workspace(workspace, other_workspace, make_member):
    user = make_member("both@acme.test", Role.READ_ONLY)
    membership_add(workspace=other_workspace, user=user, role=Role.ADMIN)
    assert not can(workspace=workspace, user=user, module="contacts", right=Right.EDIT)
    assert can(workspace=other_workspace, user=user, module="contacts", right=Right.EDIT)


def test_a_deactivated_membership_grants_nothing(workspace, make_member):
    user = make_member("gone@acme.test", Role.ADMIN)
    Membership.objects.for_workspace(workspace).filter(user=user).update(is_active=False)
    fresh = User.objects.get(pk=user.pk)  # memberships are cached per user object
    assert not can(workspace=workspace, user=fresh, module="contacts", right=Right.VIEW)
    assert list(_visible(workspace, fresh)) == []


# --- visibility on real records ---------------------------------------------------------------


def _contact(workspace: Workspace, name: str, owner: User | None) -> Contact:
    return Contact.objects.for_workspace(workspace).create(
        workspace=workspace, first_name=name, owner=owner
    )


def _visible(workspace: Workspace, viewer: User | None, module: str = "contacts") -> set[str]:
    qs = visible(
        Contact.objects.for_workspace(workspace), workspace=workspace, viewer=viewer, module=module
    )
    return {c.first_name for c in qs}


@pytest.fixture
def crew(workspace, make_member) -> dict[str, User]:
    """Ana and Bruno share a team; Caio works alone; Dora manages; one contact has no owner."""
    people = {
        "ana": make_member("ana@acme.test", Role.SALES),
        "bruno": make_member("bruno@acme.test", Role.SALES),
        "caio": make_member("caio@acme.test", Role.SALES),
        "dora": make_member("dora@acme.test", Role.MANAGER),
        "rita": make_member("rita@acme.test", Role.READ_ONLY),
    }
    team = Team.objects.for_workspace(workspace).create(workspace=workspace, name="South")
    for name in ("ana", "bruno"):
        TeamMember.objects.for_workspace(workspace).create(
            workspace=workspace, team=team, user=people[name]
        )
    for name in ("ana", "bruno", "caio", "dora"):
        _contact(workspace, f"{name}-client", people[name])
    _contact(workspace, "unowned", None)
    return people


ALL_CONTACTS = {"ana-client", "bruno-client", "caio-client", "dora-client", "unowned"}


def test_team_scope_sees_own_teammates_and_unowned_records(workspace, crew):
    assert _visible(workspace, crew["ana"]) == {"ana-client", "bruno-client", "unowned"}
    assert _visible(workspace, crew["bruno"]) == {"ana-client", "bruno-client", "unowned"}


def test_team_scope_without_a_team_sees_own_and_unowned(workspace, crew):
    assert _visible(workspace, crew["caio"]) == {"caio-client", "unowned"}


def test_all_scope_sees_every_record(workspace, crew):
    assert _visible(workspace, crew["dora"]) == ALL_CONTACTS
    assert _visible(workspace, crew["rita"]) == ALL_CONTACTS
    assert _visible(workspace, None) == ALL_CONTACTS


def test_own_scope_sees_only_own_records(workspace, crew, monkeypatch):
    own_sales = RoleSpec(Scope.OWN, {"contacts": frozenset({Right.VIEW})})
    monkeypatch.setitem(ROLE_SPECS, Role.SALES, own_sales)
    assert _visible(workspace, crew["ana"]) == {"ana-client"}
    assert _visible(workspace, crew["caio"]) == {"caio-client"}


def test_no_view_right_sees_nothing(workspace, crew, other_admin):
    assert _visible(workspace, crew["ana"], module="settings") == set()
    assert _visible(workspace, other_admin) == set()


def test_visible_never_reaches_into_another_workspace(workspace, other_workspace, crew):
    # Ana owns a contact in another workspace too (she was invited there as well).
    membership_add(workspace=other_workspace, user=crew["ana"], role=Role.SALES)
    _contact(other_workspace, "elsewhere", crew["ana"])
    assert "elsewhere" not in _visible(workspace, crew["ana"])
    assert _visible(other_workspace, crew["ana"]) == {"elsewhere"}


def test_a_team_lead_sees_the_teams_records_and_the_team_sees_the_leads(workspace, crew):
    team = Team.objects.for_workspace(workspace).get(name="South")
    team.lead = crew["caio"]
    team.save(update_fields=["lead"])
    assert _visible(workspace, crew["caio"]) == {
        "ana-client",
        "bruno-client",
        "caio-client",
        "unowned",
    }
    assert "caio-client" in _visible(workspace, crew["ana"])


def test_team_members_are_found_in_one_query(workspace, crew, django_assert_num_queries):
    with django_assert_num_queries(1):
        ids = team_user_ids(workspace=workspace, user=crew["ana"])
    assert ids == sorted([crew["ana"].pk, crew["bruno"].pk])
