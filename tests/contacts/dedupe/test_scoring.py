"""Scoring of likely duplicates: pure functions, no database."""

from __future__ import annotations

import itertools
import random

import pytest

from vinculo.contacts.dedupe.scoring import (
    MIN_SCORE,
    account_facts,
    account_pairs,
    company_name_key,
    contact_facts,
    contact_pairs,
    name_key,
    phone_key,
    score_accounts,
    score_contacts,
    stored_contact_facts,
)


def person(pk: int, first: str = "", last: str = "", **kw):
    return contact_facts(id=pk, first_name=first, last_name=last, region="BR", **kw)


def kinds(match) -> set[tuple[str, str]]:
    return {(r["kind"], r.get("with", "")) for r in match.reasons}


def test_accents_and_case_do_not_make_names_differ():
    assert name_key("José", "Núñez") == name_key("jose", "nunez") == "jose nunez"
    assert name_key("  Ana-Maria  O'Neil ") == "ana maria o neil"


def test_jose_nunez_and_jose_nunez_in_the_same_city():
    a = person(1, "José", "Núñez", city="São Paulo", emails=["jose@example.com"])
    b = person(2, "jose", "nunez", city="sao paulo")
    match = score_contacts(a, b)
    assert match is not None
    assert match.score >= MIN_SCORE
    assert match.reasons == [{"kind": "name", "similarity": 100, "with": "city"}]


def test_same_name_in_another_city_is_not_a_pair():
    a = person(1, "José", "Núñez", city="São Paulo")
    b = person(2, "José", "Núñez", city="Recife")
    assert score_contacts(a, b) is None


def test_same_email_in_another_case_scores_high():
    a = person(1, "Ana", "Souza", emails=["Ana.Souza@Example.COM "])
    b = person(2, "Ana", "Souza", emails=["ana.souza@example.com"])
    match = score_contacts(a, b)
    assert match is not None and match.score >= 95
    assert {"kind": "email", "value": "ana.souza@example.com"} in match.reasons


def test_any_of_the_emails_counts_not_only_the_primary():
    a = person(1, "Ana", emails=["ana@work.com", "ana@home.com"])
    b = person(2, "Ana", emails=["ana@home.com"])
    match = score_contacts(a, b)
    assert match is not None and match.score >= 95


@pytest.mark.parametrize(
    "typed",
    ["+55 11 98765-4321", "(11) 98765-4321", "11987654321", "+5511987654321", "0055 11 98765 4321"],
)
def test_phone_formats_compare_as_e164(typed):
    assert phone_key(typed, "BR") == "+5511987654321"
    a = person(1, "Bruno", phones=[typed])
    b = person(2, "Carla", phones=["+5511987654321"])
    match = score_contacts(a, b)
    assert match is not None
    assert {"kind": "phone", "value": "+5511987654321"} in match.reasons
    # Different names sharing one number (a switchboard) still show, a little lower.
    assert 80 <= match.score < 95


def test_email_and_phone_together_score_100():
    a = person(1, "Ana", "Souza", emails=["ana@x.com"], phones=["+5511987654321"])
    b = person(2, "Ana", "Sousa", emails=["ana@x.com"], phones=["11 98765 4321"])
    match = score_contacts(a, b)
    assert match is not None and match.score == 100


def test_similar_names_at_the_same_company_score_by_similarity():
    close = score_contacts(
        person(1, "Mariana", "Costa", account_id=7), person(2, "Mariana", "Costa", account_id=7)
    )
    near = score_contacts(
        person(1, "Mariana", "Costa", account_id=7), person(2, "Marianna", "Costta", account_id=7)
    )
    assert close is not None and near is not None
    assert close.score > near.score >= MIN_SCORE
    assert kinds(close) == {("name", "account")}
    assert (
        score_contacts(
            person(1, "Mariana", "Costa", account_id=7), person(2, "Pedro", "Alves", account_id=7)
        )
        is None
    )


def test_same_company_domain_ties_names_but_free_mail_does_not():
    a = person(1, "Rafael", "Lima", emails=["rafael@acme.com.br"])
    b = person(2, "Rafael", "Lima", emails=["r.lima@acme.com.br"])
    match = score_contacts(a, b)
    assert match is not None and ("name", "domain") in kinds(match)
    c = person(3, "Rafael", "Lima", emails=["rafael@gmail.com"])
    d = person(4, "Rafael", "Lima", emails=["rlima@gmail.com"])
    assert score_contacts(c, d) is None


def test_namesakes_whose_emails_and_phones_all_differ_are_held_back():
    a = person(
        1, "Maria", "Silva", city="São Paulo", emails=["m1@x.com"], phones=["+5511911111111"]
    )
    b = person(
        2, "Maria", "Silva", city="São Paulo", emails=["m2@y.com"], phones=["+5511922222222"]
    )
    match = score_contacts(a, b)
    assert match is None or match.score < MIN_SCORE


def test_word_order_of_names_does_not_matter():
    a = person(1, "Silva", "Maria", account_id=3)
    b = person(2, "Maria", "Silva", account_id=3)
    match = score_contacts(a, b)
    assert match is not None and match.reasons[0]["similarity"] == 100


def test_accounts_same_domain_or_phone_and_similar_names_in_a_city():
    acme = account_facts(
        id=1, name="Acme Comércio Ltda", domain="https://www.acme.com.br/", city="Curitiba"
    )
    same_domain = account_facts(id=2, name="ACME", domain="acme.com.br")
    assert company_name_key("ACME Comércio S.A.") == "acme comercio"
    match = score_accounts(acme, same_domain)
    assert match is not None and match.score >= 95
    assert {"kind": "domain", "value": "acme.com.br"} in match.reasons
    by_phone = score_accounts(
        account_facts(id=1, name="Padaria Central", phone="+554133334444"),
        account_facts(id=2, name="Panificadora Central", phone="(41) 3333-4444", region="BR"),
    )
    assert by_phone is not None and {"kind": "phone", "value": "+554133334444"} in by_phone.reasons
    by_name = score_accounts(acme, account_facts(id=3, name="ACME Comercio S.A.", city="curitiba"))
    assert by_name is not None and kinds(by_name) == {("name", "city")}
    assert score_accounts(acme, account_facts(id=4, name="Acme Comércio", city="Natal")) is None


def _brute_force(records, score):
    found = {}
    for a, b in itertools.combinations(records, 2):
        match = score(a, b)
        if match is not None and match.score >= MIN_SCORE:
            found[tuple(sorted((a.id, b.id)))] = match.score
    return found


def test_blocking_finds_what_comparing_every_pair_finds():
    """On data where every similar pair shares a block (same company, domain or city and first
    letters), the blocked search finds exactly the pairs of the all-pairs comparison."""
    rng = random.Random(4)
    firsts = ["Ana", "Anna", "Bruno", "Carla", "Carlos", "Davi", "Débora", "Eduardo"]
    lasts = ["Silva", "Silvas", "Souza", "Sousa", "Lima", "Costa", "Rocha"]
    cities = ["São Paulo", "Recife", "Natal"]
    records = []
    for pk in range(1, 301):
        first, last = rng.choice(firsts), rng.choice(lasts)
        emails = [f"{first.lower()}{rng.randint(1, 40)}@{rng.choice(['acme.com', 'gmail.com'])}"]
        phones = [f"+55119{rng.randint(10_000_000, 10_000_060)}"] if rng.random() < 0.5 else []
        records.append(
            stored_contact_facts(
                pk,
                first if rng.random() < 0.9 else first.upper(),
                last,
                emails if rng.random() < 0.7 else [],
                phones,
                rng.choice([None, 1, 2]),
                rng.choice(cities),
            )
        )
    fast = {(a, b): m.score for a, b, m in contact_pairs(records)}
    brute = _brute_force(records, score_contacts)

    # Only pairs the blocks can see: those tied by a key (what the brute force also needs).
    def tied(a, b):
        wa, wb = a.name.split(), b.name.split()
        same_city_block = a.city == b.city and (wa[0][:2], wa[-1][:2]) == (wb[0][:2], wb[-1][:2])
        return (
            set(a.emails) & set(b.emails)
            or set(a.phones) & set(b.phones)
            or (a.account_id is not None and a.account_id == b.account_id)
            or set(a.domains) & set(b.domains)
            or same_city_block
        )

    by_id = {r.id: r for r in records}
    expected = {k: v for k, v in brute.items() if tied(by_id[k[0]], by_id[k[1]])}
    assert len(expected) > 50
    assert fast == expected


def test_pairs_come_once_with_the_smaller_id_first_and_progress_is_reported():
    records = [
        person(5, "Ana", emails=["a@x.com"]),
        person(3, "Ana", emails=["a@x.com"]),
        person(9, "Ana", emails=["a@x.com"]),
    ]
    seen = []
    pairs = list(contact_pairs(records, progress=seen.append))
    assert sorted((a, b) for a, b, _m in pairs) == [(3, 5), (3, 9), (5, 9)]
    assert seen[-1] == 3


def test_accounts_pairs_by_domain_and_name():
    records = [
        account_facts(id=1, name="Acme Ltda", domain="acme.com", city="Recife"),
        account_facts(id=2, name="ACME S.A.", domain="acme.com"),
        account_facts(id=3, name="Acme", city="Recife"),
        account_facts(id=4, name="Globex", city="Recife"),
    ]
    found = {(a, b) for a, b, _m in account_pairs(records)}
    assert found == {(1, 2), (1, 3)}
