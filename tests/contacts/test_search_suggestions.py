"""The light search of the top-bar dropdown: the list's search, one query, access applied."""

from __future__ import annotations

from vinculo.contacts.selectors import account_search_suggestions, contact_search_suggestions
from vinculo.core.roles import Role


def test_contact_suggestions_carry_what_a_dropdown_shows(
    workspace, admin, contact_factory, account_factory, django_assert_num_queries
):
    account = account_factory(name="Padaria Pão Doce")
    jose = contact_factory(
        first_name="José",
        last_name="Conceição",
        emails=["ze@exemplo.com.br"],
        phones=["(11) 98765-4321"],
        account_id=account.pk,
    )
    contact_factory(first_name="Joana")
    with django_assert_num_queries(2):  # the viewer's membership, then the search
        (row,) = contact_search_suggestions(workspace=workspace, viewer=admin, q="jose")
    assert row.id == jose.pk
    assert row.display_name == "José Conceição"
    assert (row.email, row.phone, row.company) == (
        "ze@exemplo.com.br",
        "+5511987654321",
        "Padaria Pão Doce",
    )


def test_suggestions_come_newest_first_and_limited(workspace, admin, contact_factory):
    for name in ("Zuleide", "Ana", "Mara"):
        contact_factory(first_name=name, last_name="Souza")
    rows = contact_search_suggestions(workspace=workspace, viewer=admin, q="souza", limit=2)
    assert [r.first_name for r in rows] == ["Mara", "Ana"]


def test_blank_query_finds_nothing(workspace, admin, contact_factory, account_factory):
    contact_factory()
    account_factory()
    assert contact_search_suggestions(workspace=workspace, viewer=admin, q="  ") == []
    assert account_search_suggestions(workspace=workspace, viewer=admin, q="") == []


def test_suggestions_apply_record_access(workspace, make_member, contact_factory):
    seller = make_member("seller@acme.test", Role.SALES)
    other = make_member("other@acme.test", Role.SALES)
    mine = contact_factory(first_name="Ciro", owner_id=seller.pk)
    contact_factory(first_name="Ciro", owner_id=other.pk)
    rows = contact_search_suggestions(workspace=workspace, viewer=seller, q="ciro")
    assert [r.id for r in rows] == [mine.pk]


def test_suggestions_stay_in_their_workspace(
    workspace, admin, other_workspace, contact_factory, account_factory
):
    contact_factory(ws=other_workspace, first_name="Ciro")
    account_factory(ws=other_workspace, name="Ciro Ltda")
    assert contact_search_suggestions(workspace=workspace, viewer=admin, q="ciro") == []
    assert account_search_suggestions(workspace=workspace, viewer=admin, q="ciro") == []


def test_account_suggestions(workspace, admin, account_factory, contact_factory):
    account = account_factory(name="Globo Têxtil", domain="globotextil.com.br", city="Blumenau")
    account_factory(name="Outra")
    deleted = account_factory(name="Globo Antiga")
    from vinculo.contacts.services import account_delete

    account_delete(workspace=workspace, actor=admin, account_id=deleted.pk)
    (row,) = account_search_suggestions(workspace=workspace, viewer=admin, q="GLOBO textil")
    assert (row.id, row.name, row.domain, row.city) == (
        account.pk,
        "Globo Têxtil",
        "globotextil.com.br",
        "Blumenau",
    )
