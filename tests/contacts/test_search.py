"""`q` finds records by name (with or without accents), email, phone fragment and company, on
SQLite (FTS5) and PostgreSQL (trigrams) alike."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.contacts.conftest import item_ids
from vinculo.contacts.models import Contact
from vinculo.contacts.search import contact_search_document, query_tokens

URL = "/api/v1/contacts"


@pytest.fixture
def people(contact_factory, account_factory):
    padaria = account_factory(name="Padaria Pão Doce", domain="paodoce.com.br")
    return {
        "jose": contact_factory(
            first_name="José",
            last_name="Müller Conceição",
            emails=["ze.muller@exemplo.com.br"],
            phones=["(11) 98765-4321"],
            account_id=padaria.pk,
        ),
        "joana": contact_factory(first_name="Joana", last_name="Prado", phones=["+1 650 253 0000"]),
        "marcos": contact_factory(first_name="Marcos", emails=["marcos@acme.com"]),
    }


def _q(api, q, url=URL):
    return sorted(item_ids(api.get(url, q=q)))


@pytest.mark.parametrize(
    ("q", "who"),
    [
        ("jose", ["jose"]),
        ("José", ["jose"]),
        ("JOSE", ["jose"]),
        ("conceicao", ["jose"]),
        ("Conceição", ["jose"]),
        ("muller", ["jose"]),
        ("Müller", ["jose"]),
        ("jo", ["joana", "jose"]),
        ("jos mul", ["jose"]),
        ("jose prado", []),
        ("ze.muller@exemplo.com.br", ["jose"]),
        ("exemplo", ["jose"]),
        ("marcos@acme", ["marcos"]),
        ("padaria", ["jose"]),
        ("pao doce", ["jose"]),
        ("nobody", []),
    ],
)
def test_search_by_name_email_and_company(api, people, q, who):
    assert _q(api, q) == sorted(people[w].pk for w in who)


@pytest.mark.parametrize(
    "q",
    [
        "98765",
        "98765-4321",
        "4321",
        "(11) 98765-4321",
        "11987654321",
        "+55 11 98765",
        "5511987",
        "987654321",
    ],
)
def test_search_by_phone_fragment(api, people, q):
    assert _q(api, q) == [people["jose"].pk]


def test_us_phone_fragment(api, people):
    assert _q(api, "650 253") == [people["joana"].pk]
    assert _q(api, "6502530000") == [people["joana"].pk]


def test_blank_and_punctuation_queries(api, people):
    assert len(_q(api, "   ")) == 3
    assert _q(api, "!!! ---") == []


def test_search_follows_changes_deletes_and_company_renames(api, workspace, people):
    jose = people["jose"].pk
    api.patch(f"{URL}/{jose}", {"first_name": "Zacarias"})
    assert _q(api, "zacarias") == [jose]
    assert _q(api, "jose") == []
    api.patch(f"/api/v1/accounts/{Contact.objects.get(pk=jose).account_id}", {"name": "Mercado"})
    assert _q(api, "mercado") == [jose]
    assert _q(api, "padaria") == []
    api.delete(f"{URL}/{jose}")
    assert _q(api, "zacarias") == []
    assert sorted(item_ids(api.get(URL, q="zacarias", deleted="true"))) == [jose]


def test_rows_written_in_bulk_are_searchable(api, workspace):
    """The demo generator and imports insert rows directly; the index must follow them."""
    now = timezone.now()
    rows = [
        Contact(
            workspace=workspace,
            first_name=f"Bulk{i}",
            last_name="Gonçalves",
            sort_name=f"bulk{i} goncalves",
            search_document=contact_search_document(
                first_name=f"Bulk{i}", last_name="Gonçalves", phones=["+5521912345678"]
            ),
            created_at=now,
            updated_at=now,
        )
        for i in range(30)
    ]
    Contact.objects.for_workspace(workspace).bulk_create(rows)
    assert len(item_ids(api.get(URL, q="goncalves", limit="100"))) == 30
    assert len(item_ids(api.get(URL, q="91234", limit="100"))) == 30
    # Plain queryset updates and deletes are followed too.
    Contact.objects.for_workspace(workspace).filter(first_name="Bulk0").update(
        search_document="renamed person"
    )
    assert len(item_ids(api.get(URL, q="goncalves", limit="100"))) == 29
    assert len(item_ids(api.get(URL, q="renamed"))) == 1
    Contact.objects.for_workspace(workspace).filter(first_name="Bulk1").delete()
    assert len(item_ids(api.get(URL, q="goncalves", limit="100"))) == 28


def test_accounts_search_by_name_domain_and_phone(api, account_factory):
    acme = account_factory(name="Açaí & Cia", domain="acaiecia.com.br", phone="(21) 3333-4444")
    account_factory(name="Other")
    for q in ("acai", "Açaí", "cia", "acaiecia", "3333", "2133334444"):
        assert _q(api, q, "/api/v1/accounts") == [acme.pk], q


def test_search_combines_with_filters_and_pages(api, contact_factory):
    for i in range(5):
        contact_factory(first_name=f"Silva {i}", lifecycle_stage="customer" if i % 2 else "lead")
    r = api.get(URL, q="silva", lifecycle_stage="customer", limit="1")
    first = item_ids(r)
    second = item_ids(
        api.get(
            URL, q="silva", lifecycle_stage="customer", limit="1", cursor=r.json()["next_cursor"]
        )
    )
    assert len(first) == len(second) == 1 and first != second


def test_query_tokens_match_the_index_words():
    assert query_tokens("  José da SILVA ") == ["jose", "da", "silva"]
    assert query_tokens("(11) 98765-4321") == ["11", "98765", "4321"]
    assert query_tokens("a_b") == ["a", "b"]


def test_lost_sqlite_triggers_are_recreated_and_the_index_rebuilt(api, workspace, contact_factory):
    from django.db import connection

    from vinculo.contacts.search import sqlite_fts_ensure

    if connection.vendor != "sqlite":
        pytest.skip("FTS5 triggers exist on SQLite only")
    with connection.cursor() as cursor:
        # What a table rebuild by a later migration does to them.
        cursor.execute("DROP TRIGGER contacts_contact_fts_ai")
    contact_factory(first_name="Orphan")
    assert item_ids(api.get(URL, q="orphan")) == []
    assert sqlite_fts_ensure(connection) is True
    assert len(item_ids(api.get(URL, q="orphan"))) == 1
    contact_factory(first_name="Orphan Two")
    assert len(item_ids(api.get(URL, q="orphan"))) == 2
    assert sqlite_fts_ensure(connection) is False


def test_search_results_come_newest_first_unless_a_sort_is_asked(api, contact_factory):
    abel = contact_factory(first_name="Abel", last_name="Souza")
    zeca = contact_factory(first_name="Zeca", last_name="Souza")
    assert item_ids(api.get(URL, q="souza")) == [zeca.pk, abel.pk]
    assert item_ids(api.get(URL, q="souza", sort="name")) == [abel.pk, zeca.pk]
    assert item_ids(api.get(URL)) == [abel.pk, zeca.pk]  # no search: by name


def test_search_pages_walk_every_match_once(api, contact_factory):
    made = [contact_factory(first_name=f"Lima {i}").pk for i in range(5)]
    contact_factory(first_name="Other")
    seen, cursor = [], None
    while True:
        params = {"q": "lima", "limit": "2"} | ({"cursor": cursor} if cursor else {})
        r = api.get(URL, **params)
        seen += item_ids(r)
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(made, reverse=True)
    # A cursor of the search order does not fit the name order.
    cursor = api.get(URL, q="lima", limit="2").json()["next_cursor"]
    assert api.get(URL, q="lima", sort="name", cursor=cursor).status_code == 422
