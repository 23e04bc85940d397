"""Global search: the top-bar dropdown (htmx) and the results page find contacts and accounts
by name, email, phone and company, ignoring accents and case, and never show what the viewer
may not see."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from vinculo.core.models import User, Workspace
from vinculo.core.roles import ROLE_SPECS, VIEW_ONLY, Role, RoleSpec, Scope
from vinculo.web.search import (
    SearchHit,
    clean_query,
    global_search,
    register_search_provider,
    unregister_search_provider,
)

SUGGEST = "/search/suggest"
RESULTS = "/search"


@pytest.fixture
def records(contact_factory, account_factory):
    padaria = account_factory(
        name="Padaria Pão Doce", domain="paodoce.com.br", city="São Paulo", phone="1133334444"
    )
    globo = account_factory(name="Globo Têxtil", domain="globotextil.com.br", city="Blumenau")
    return {
        "padaria": padaria,
        "globo": globo,
        "jose": contact_factory(
            first_name="José",
            last_name="Conceição",
            emails=["ze.conceicao@exemplo.com.br"],
            phones=["(11) 98765-4321"],
            account_id=padaria.pk,
        ),
        "joana": contact_factory(first_name="Joana", last_name="Prado", emails=["joana@globo.br"]),
        "marcos": contact_factory(
            first_name="Marcos", last_name="Úrsula", phones=["+1 650 253 0000"]
        ),
    }


def suggest(client: Client, q: str) -> str:
    response = client.get(SUGGEST, {"q": q}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("q", ["jose", "José", "JOSE", "josé", "JoSe", "  jose  ", "conceicao"])
def test_suggest_ignores_accents_and_case(admin_client, records, q):
    html = suggest(admin_client, q)
    assert f'href="/contacts/{records["jose"].pk}/"' in html
    assert "Jos" in html and "Conceição" in html
    assert "Joana" not in html


@pytest.mark.parametrize(
    "q", ["98765", "98765-4321", "(11) 98765-4321", "11987654321", "+55 11 98765-4321", "4321"]
)
def test_suggest_finds_a_phone_typed_in_any_format(admin_client, records, q):
    html = suggest(admin_client, q)
    assert f'href="/contacts/{records["jose"].pk}/"' in html
    assert f'href="/contacts/{records["joana"].pk}/"' not in html


def test_suggest_by_email_and_company(admin_client, records):
    by_email = suggest(admin_client, "ze.conceicao@exemplo")
    assert f'href="/contacts/{records["jose"].pk}/"' in by_email
    # The company finds the people who work there, and the account itself.
    by_company = suggest(admin_client, "pao doce")
    assert f'href="/contacts/{records["jose"].pk}/"' in by_company
    assert f'href="/accounts/{records["padaria"].pk}/"' in by_company


def test_suggest_groups_contacts_and_accounts(admin_client, records):
    html = suggest(admin_client, "glo")
    assert html.index("Contat") < html.index(f"/contacts/{records['joana'].pk}/")
    assert f'href="/accounts/{records["globo"].pk}/"' in html
    # Contacts come before accounts, and each group is labelled for screen readers.
    assert html.index("/contacts/") < html.index("/accounts/")
    assert 'role="listbox"' in html
    assert html.count('role="group"') == 3  # contacts, accounts, "all results"
    assert 'href="/search?q=glo"' in html


def test_suggest_shows_the_account_city_and_domain(admin_client, records):
    html = suggest(admin_client, "globo textil")
    assert "<mark>globo</mark>textil.com.br · Blumenau" in html


def test_suggest_marks_the_matching_words(admin_client, records):
    html = suggest(admin_client, "jose conc")
    assert "<mark>José</mark> <mark>Conc</mark>eição" in html


def test_suggest_shows_a_phone_when_there_is_no_email(admin_client, records):
    html = suggest(admin_client, "marcos")
    assert "+1 650-253-0000" in html


@pytest.mark.parametrize("q", ["", " ", "j", "é", " a "])
def test_one_character_searches_nothing(admin_client, records, q, django_assert_max_num_queries):
    # Only what every request costs: session (read and save), user, workspace.
    with django_assert_max_num_queries(6):
        html = suggest(admin_client, q)
    assert html.strip() == ""
    assert clean_query(q) == ""


def test_no_results_says_so(admin_client, records):
    html = suggest(admin_client, "xyzzy")
    assert "xyzzy" in html
    assert "data-empty" in html
    assert 'role="option"' not in html


def test_query_with_only_punctuation_finds_nothing(admin_client, records):
    assert 'role="option"' not in suggest(admin_client, "--")


def test_markup_in_a_query_is_escaped(admin_client, records):
    html = suggest(admin_client, "<script>alert(1)</script>")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_the_dropdown_is_a_fragment(admin_client, records):
    html = suggest(admin_client, "jose")
    assert "<html" not in html and "sidebar" not in html


def test_search_needs_a_login(client, records):
    for url in (SUGGEST, RESULTS):
        response = client.get(url, {"q": "jose"})
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


# --- tenancy and record access ------------------------------------------------------------------


def test_another_workspaces_records_never_appear(
    logged_in, admin, records, other_workspace: Workspace, other_admin: User, contact_factory
):
    contact_factory(ws=other_workspace, first_name="José", last_name="Estrangeiro")
    contact_factory(ws=other_workspace, first_name="Outro", emails=["jose@globex.example.com"])
    html = suggest(logged_in(admin), "jose")
    assert "Estrangeiro" not in html and "globex" not in html
    page = logged_in(admin).get(RESULTS, {"q": "jose"}).content.decode()
    assert "Estrangeiro" not in page and "globex" not in page
    # And the other way round.
    other = suggest(logged_in(other_admin), "jose")
    assert "Estrangeiro" in other and "Conceição" not in other


def test_team_scope_sees_only_its_own_and_unowned_records(logged_in, make_member, contact_factory):
    seller = make_member("seller@acme.test", Role.SALES)
    stranger = make_member("stranger@acme.test", Role.SALES)
    contact_factory(first_name="Mine Josias", owner_id=seller.pk)
    contact_factory(first_name="Theirs Josias", owner_id=stranger.pk)
    contact_factory(first_name="Pool Josias", owner_id=None)
    html = suggest(logged_in(seller), "josias")
    assert "Mine" in html and "Pool" in html
    assert "Theirs" not in html


def test_a_role_without_contact_rights_gets_no_contact_hits(
    logged_in, make_member, records, monkeypatch
):
    monkeypatch.setitem(ROLE_SPECS, Role.SERVICE, RoleSpec(Scope.ALL, {"accounts": VIEW_ONLY}))
    agent = make_member("agent@acme.test", Role.SERVICE)
    html = suggest(logged_in(agent), "pao doce")
    assert "/contacts/" not in html
    assert f'href="/accounts/{records["padaria"].pk}/"' in html
    page = logged_in(agent).get(RESULTS, {"q": "jose"}).content.decode()
    assert "Conceição" not in page


def test_deleted_records_are_not_found(admin_client, admin, workspace, records):
    from vinculo.contacts.services import contact_delete

    contact_delete(workspace=workspace, actor=admin, contact_id=records["jose"].pk)
    assert "Conceição" not in suggest(admin_client, "jose")


def test_a_user_without_a_workspace_gets_an_empty_answer(client, db):
    loner = User.objects.create_user(email="loner@example.com", password="x" * 12)
    client.force_login(loner)
    assert 'role="option"' not in suggest(client, "jose")
    assert client.get(RESULTS, {"q": "jose"}).status_code == 200


# --- query budgets ------------------------------------------------------------------------------


def test_suggest_query_count_does_not_grow(
    admin_client, contact_factory, account_factory, django_assert_max_num_queries
):
    account = account_factory(name="Jota Comércio")
    for n in range(12):
        contact_factory(first_name=f"Jota{n}", emails=[f"jota{n}@x.com"], account_id=account.pk)
    # Session (read and save), user, workspace, the viewer's role, one query per provider
    # (contacts, accounts, leads, deals).
    with django_assert_max_num_queries(11):
        html = suggest(admin_client, "jota")
    assert html.count('role="option"') == 5 + 1 + 1


def test_results_page_query_count_does_not_grow(
    admin_client, contact_factory, account_factory, django_assert_max_num_queries
):
    for n in range(30):
        account = account_factory(name=f"Jota Comércio {n}")
        contact_factory(first_name=f"Jota{n}", account_id=account.pk)
    # The page adds the shell's workspaces (for the switcher) to what the dropdown costs.
    with django_assert_max_num_queries(12):
        response = admin_client.get(RESULTS, {"q": "jota"})
    html = response.content.decode()
    assert len(re.findall(r'href="/contacts/\d+/"', html)) == 20
    assert len(re.findall(r'href="/accounts/\d+/"', html)) == 20


# --- the results page ---------------------------------------------------------------------------


def test_results_page_works_without_javascript(admin_client, records):
    response = admin_client.get(RESULTS, {"q": "José"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/contacts/{records["jose"].pk}/"' in html
    # The query stays in the page's own box and in the top bar's.
    assert 'value="José"' in html
    assert html.count('value="José"') == 2


def test_results_page_with_one_character_asks_for_more(admin_client, records):
    html = admin_client.get(RESULTS, {"q": "j"}).content.decode()
    assert "/contacts/" not in html.split('id="content"')[1]
    assert "2" in html.split('id="content"')[1]


def test_results_page_empty_state(admin_client, records):
    html = admin_client.get(RESULTS, {"q": "xyzzy"}).content.decode()
    assert "xyzzy" in html
    assert 'class="empty card"' in html


def test_results_page_in_english(admin_client, admin, records):
    admin.language = "en"
    admin.save()
    html = admin_client.get(RESULTS, {"q": "xyzzy"}).content.decode()
    assert "No results for “xyzzy”" in html
    admin.language = "pt-br"
    admin.save()
    html = admin_client.get(RESULTS, {"q": "xyzzy"}).content.decode()
    assert "Nenhum resultado para “xyzzy”" in html


# --- the registry -------------------------------------------------------------------------------


def test_a_module_registers_its_own_provider(admin_client, workspace, admin, records):
    calls = []

    def deals(*, workspace, viewer, query, limit):
        calls.append((workspace.pk, viewer.pk, query, limit))
        return [SearchHit(title="Deal José", subtitle="R$ 10", url="/deals/1/", kind="deal")]

    register_search_provider("deals", "Deals", deals, order=15)
    try:
        groups = global_search(workspace=workspace, viewer=admin, query=" jose ", limit=3)
        assert [g.key for g in groups] == ["contacts", "deals"]
        assert calls == [(workspace.pk, admin.pk, "jose", 3)]
        assert 'href="/deals/1/"' in suggest(admin_client, "jose")
    finally:
        unregister_search_provider("deals")


def test_a_group_says_when_there_are_more(workspace, admin, contact_factory):
    for n in range(4):
        contact_factory(first_name=f"Lia{n}")
    (group,) = global_search(workspace=workspace, viewer=admin, query="lia", limit=3)
    assert len(group.hits) == 3 and group.has_more
    (group,) = global_search(workspace=workspace, viewer=admin, query="lia", limit=4)
    assert len(group.hits) == 4 and not group.has_more


def test_a_full_group_links_to_its_list_page_once_it_exists(admin_client, workspace, admin):
    def many(*, workspace, viewer, query, limit):
        return [
            SearchHit(title=f"Item {n}", subtitle="", url=f"/items/{n}/", kind="item")
            for n in range(limit + 1)
        ]

    register_search_provider("items", "Items", many, list_url_name="web:search")
    register_search_provider("ghosts", "Ghosts", many, list_url_name="ghosts:list")
    try:
        groups = {g.key: g for g in global_search(workspace=workspace, viewer=admin, query="it")}
        assert groups["items"].list_url == "/search?q=it"
        assert groups["ghosts"].list_url is None
        html = admin_client.get(RESULTS, {"q": "it em"}).content.decode()
        assert 'href="/search?q=it+em">Ver todos em Items</a>' in html
    finally:
        unregister_search_provider("items")
        unregister_search_provider("ghosts")
