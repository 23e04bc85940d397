"""The dedupe pages: the review queue (scan, progress, dismiss), the merge screen, and the
"already exists" warning of the forms. Rights, query budgets and other workspaces."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.contacts.dedupe.conftest import open_pairs, pair_of
from vinculo.contacts.models import Contact, DuplicateCandidate, DuplicateScan, JobStatus
from vinculo.core.models import Event, User
from vinculo.core.roles import Role
from vinculo.timeline.models import Interaction
from vinculo.timeline.services import interaction_create

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def log_in(client: Client):
    def log_in(user: User) -> Client:
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return log_in


@pytest.fixture
def admin_client(log_in, admin: User) -> Client:
    return log_in(admin)


@pytest.fixture
def pairs(workspace, contact_factory, account_factory, run_scan):
    """Three pairs of look-alike contacts, scanned."""
    acme = account_factory(name="Acme Ltda")
    made = {
        "ana": contact_factory(
            first_name="Ana", last_name="Souza", emails=["ana@example.com"], city="Recife"
        ),
        "ana2": contact_factory(first_name="Ana", last_name="Sousa", emails=["ana@example.com"]),
        "bia": contact_factory(
            first_name="Bia", last_name="Reis", phones=["+5511987654321"], account_id=acme.pk
        ),
        "bia2": contact_factory(first_name="Beatriz", last_name="Reis", phones=["+5511987654321"]),
        "rui": contact_factory(first_name="Rui", last_name="Barbosa", account_id=acme.pk),
        "rui2": contact_factory(first_name="Ruy", last_name="Barbosa", account_id=acme.pk),
    }
    run_scan()
    return made


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- the queue -----------------------------------------------------------------------------------


def test_queue_shows_pairs_side_by_side_with_reasons_and_actions(admin_client, pairs):
    response = admin_client.get("/duplicates/?object=contact")
    assert response.status_code == 200
    html = text(response)
    assert "3 pairs to review" in html
    assert "Same email: ana@example.com" in html
    assert "Same phone: " in html
    assert "Similar name (" in html and "at the same company" in html
    for person in pairs.values():
        assert f'href="/contacts/{person.pk}/"' in html
    assert html.count("Not duplicates</button>") == 3
    assert html.count(">Merge…</a>") == 3
    assert "The last scan, " in html and "found 3 pairs" in html and "Scan now" in html
    # Likeliest first: the shared email (and near-identical name) leads.
    first = re.search(r'id="pair-(\d+)"', html)
    assert (
        int(first.group(1)) == pair_of(pairs["ana"].workspace, pairs["ana"].pk, pairs["ana2"].pk).pk
    )


def test_queue_empty_states(admin_client, workspace, run_scan):
    html = text(admin_client.get("/duplicates/?object=contact"))
    assert "No duplicates to review" in html and "No scan yet" in html
    run_scan()
    html = text(admin_client.get("/duplicates/?object=account"))
    assert "No duplicates to review" in html
    assert admin_client.get("/duplicates/?object=deal").status_code == 404


def test_queue_pages_load_more(
    admin_client, workspace, contact_factory, run_scan, django_assert_max_num_queries
):
    for i in range(30):
        for _ in range(2):
            contact_factory(first_name=f"Twin{i}", emails=[f"twin@mail{i}.com.br"])
    run_scan()
    html = text(admin_client.get("/duplicates/?object=contact"))
    assert html.count('class="card pair"') == 25
    more = re.search(r'id="more-pairs".*?hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    with django_assert_max_num_queries(10):
        rest = admin_client.get(more, **HTMX)
    assert text(rest).count('class="card pair"') == 5


def test_queue_query_count_does_not_grow_with_pairs(
    admin_client,
    workspace,
    contact_factory,
    account_factory,
    run_scan,
    django_assert_max_num_queries,
):
    acme = account_factory(name="Acme")
    for i in range(30):
        for _ in range(2):
            contact_factory(
                first_name=f"Dup{i}",
                emails=[f"d{i}@example.com"],
                account_id=acme.pk,
                tags=["a", "b"],
            )
    run_scan()
    # The app's own (session, user, memberships, the session saved) and this page's: the last
    # scan, the pairs, their records (owner and account joined), their tags, the count.
    with django_assert_max_num_queries(13):
        response = admin_client.get("/duplicates/?object=contact")
    assert text(response).count('class="card pair"') == 25


def test_queue_never_shows_another_workspace(
    log_in, admin_client, other_admin, other_workspace, pairs, contact_factory, run_scan
):
    contact_factory(ws=other_workspace, first_name="Segredo", emails=["segredo@globex.com.br"])
    contact_factory(ws=other_workspace, first_name="Segredo", emails=["segredo@globex.com.br"])
    run_scan(ws=other_workspace)
    ours = text(admin_client.get("/duplicates/?object=contact"))
    assert "Segredo" not in ours
    theirs = text(log_in(other_admin).get("/duplicates/?object=contact"))
    assert "1 pair to review" in theirs and "Ana" not in theirs
    ours_pair = pair_of(pairs["ana"].workspace, pairs["ana"].pk, pairs["ana2"].pk)
    client = log_in(other_admin)
    assert client.get(f"/duplicates/{ours_pair.pk}/merge").status_code == 404
    assert client.post(f"/duplicates/{ours_pair.pk}/dismiss").status_code == 404
    assert (
        client.get(f"/contacts/merge?ids={pairs['ana'].pk},{pairs['ana2'].pk}").status_code == 404
    )
    ours_pair.refresh_from_db()
    assert ours_pair.status == DuplicateCandidate.Status.OPEN


def test_queue_hides_pairs_whose_records_the_viewer_cannot_see(
    log_in, workspace, make_member, contact_factory, run_scan
):
    seller = make_member("seller@acme.test", Role.SALES)
    mine = contact_factory(first_name="Ana", emails=["ana@example.com"], owner_id=seller.pk)
    contact_factory(first_name="Ana", emails=["ana@example.com"], owner_id=seller.pk)
    theirs_owner = make_member("other@acme.test", Role.SALES)
    contact_factory(first_name="Ana", emails=["ana@example.com"], owner_id=theirs_owner.pk)
    run_scan()
    assert len(open_pairs(workspace)) == 3
    html = text(log_in(seller).get("/duplicates/?object=contact"))
    assert "1 pair to review" in html
    # A seller may edit but not delete: no merge button, dismissing is allowed.
    assert ">Merge…</a>" not in html and "Not duplicates" in html
    del mine


def test_scan_now_shows_progress_then_the_result(
    admin_client, workspace, pairs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post("/duplicates/scan", {"object": "contact"}, **HTMX)
    assert response.status_code == 200
    html = text(response)
    scan = DuplicateScan.objects.for_workspace(workspace).order_by("-id").first()
    assert scan.status == JobStatus.QUEUED
    assert f'hx-get="/duplicates/scans/{scan.pk}/progress"' in html and "<progress" in html
    poll = admin_client.get(f"/duplicates/scans/{scan.pk}/progress", **HTMX)
    assert poll.status_code == 200 and "HX-Refresh" not in poll
    for callback in callbacks:
        callback()  # the worker runs the task
    done = admin_client.get(f"/duplicates/scans/{scan.pk}/progress", **HTMX)
    assert done["HX-Refresh"] == "true"
    assert "The last scan, " in text(admin_client.get("/duplicates/?object=contact"))
    # Without htmx the button posts and comes back to the queue.
    assert (
        admin_client.post("/duplicates/scan", {"object": "account"})["Location"]
        == "/duplicates/?object=account"
    )


def test_scan_and_dismiss_need_the_edit_right(log_in, workspace, make_member, pairs):
    reader = log_in(make_member("reader@acme.test", Role.READ_ONLY))
    html = text(reader.get("/duplicates/?object=contact"))
    assert "Scan now" not in html and "Not duplicates" not in html and "Merge…" not in html
    assert reader.post("/duplicates/scan", {"object": "contact"}).status_code == 403
    pair = pair_of(workspace, pairs["ana"].pk, pairs["ana2"].pk)
    assert reader.post(f"/duplicates/{pair.pk}/dismiss").status_code == 403
    pair.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.OPEN


def test_dismiss_takes_the_pair_off_the_queue(admin_client, workspace, pairs):
    pair = pair_of(workspace, pairs["rui"].pk, pairs["rui2"].pk)
    response = admin_client.post(f"/duplicates/{pair.pk}/dismiss", **HTMX)
    assert response.status_code == 200 and "not duplicates" in text(response)
    pair.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.DISMISSED
    assert (
        Event.objects.for_workspace(workspace)
        .filter(type="duplicate.dismissed", subject_id=pair.pk)
        .exists()
    )
    assert "2 pairs to review" in text(admin_client.get("/duplicates/?object=contact"))
    assert admin_client.post(f"/duplicates/{pair.pk}/dismiss").status_code == 404


# --- the merge screen ----------------------------------------------------------------------------


def test_merge_screen_shows_both_sides_with_a_radio_per_differing_field(
    admin_client, workspace, pairs, django_assert_max_num_queries
):
    pair = pair_of(workspace, pairs["ana"].pk, pairs["ana2"].pk)
    # The app's own (session, user, memberships, the session saved: 8) and this page's: the
    # pair, its records and their tags, a count per kind of related record (4 of the contacts
    # module, 3 the sales module registered: deals, orders, quotes), the custom fields. None of
    # it grows with the records' history.
    with django_assert_max_num_queries(20):
        response = admin_client.get(f"/duplicates/{pair.pk}/merge")
    assert response.status_code == 200
    html = text(response)
    assert "Merge two contacts" in html
    assert "Record kept" in html and "Merged into it, then deleted" in html
    # Last name differs: a choice, the survivor's chosen; the email is the same on both.
    assert 'name="choice.last_name" value="survivor" checked' in html
    assert 'name="choice.last_name" value="other">' in html
    assert "The same on both" in html
    # City is empty on the other side: the survivor's value is the default.
    assert 'name="choice.city" value="survivor" checked' in html
    assert "Keep this one instead" in html
    swapped = text(admin_client.get(f"/duplicates/{pair.pk}/merge?survivor={pairs['ana2'].pk}"))
    assert 'name="choice.city" value="other" checked' in swapped
    assert 'value="' + str(pairs["ana2"].pk) + '"' in swapped


def test_merging_from_the_screen_moves_the_timeline_and_goes_to_the_survivor(
    admin_client, workspace, admin, pairs
):
    ana, ana2 = pairs["ana"], pairs["ana2"]
    interaction_create(
        workspace=workspace,
        actor=admin,
        channel="email",
        contact_id=ana2.pk,
        subject="Proposta enviada",
    )
    pair = pair_of(workspace, ana.pk, ana2.pk)
    response = admin_client.post(
        f"/duplicates/{pair.pk}/merge",
        {"survivor_id": str(ana.pk), "choice.last_name": "other", "choice.city": "survivor"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{ana.pk}/"
    ana.refresh_from_db()
    assert ana.last_name == "Sousa" and ana.city == "Recife"
    assert (
        Interaction.objects.for_workspace(workspace).get(subject="Proposta enviada").contact_id
        == ana.pk
    )
    assert Contact.objects.for_workspace(workspace).get(pk=ana2.pk).deleted_at is not None
    page = text(admin_client.get(f"/contacts/{ana.pk}/"))
    assert "Contacts merged" in page
    assert admin_client.get(f"/duplicates/{pair.pk}/merge").status_code == 404


def test_merge_screen_by_ids_and_its_errors(admin_client, workspace, pairs, contact_factory):
    a, b = pairs["bia"], pairs["rui"]
    response = admin_client.get(f"/contacts/merge?ids={a.pk},{b.pk}")
    assert response.status_code == 200
    assert f"ids={a.pk},{b.pk}&amp;survivor={b.pk}" in text(response)
    bad = admin_client.post(
        f"/contacts/merge?ids={a.pk},{b.pk}",
        {"survivor_id": str(a.pk), "choice.first_name": "both"},
    )
    assert bad.status_code == 422
    assert "Choose “survivor” or “other”." in text(bad)
    assert Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=False).count() == 0
    assert admin_client.get(f"/contacts/merge?ids={a.pk}").status_code == 404
    assert admin_client.get(f"/contacts/merge?ids={a.pk},{a.pk}").status_code == 404


def test_merge_screen_needs_rights_to_merge(log_in, workspace, make_member, pairs):
    seller = make_member("seller@acme.test", Role.SALES)
    client = log_in(seller)
    for person in pairs.values():
        Contact.objects.for_workspace(workspace).filter(pk=person.pk).update(owner_id=seller.pk)
    pair = pair_of(workspace, pairs["ana"].pk, pairs["ana2"].pk)
    html = text(client.get(f"/duplicates/{pair.pk}/merge"))
    assert "Your role can look at duplicates but not merge them." in html
    assert (
        client.post(
            f"/duplicates/{pair.pk}/merge", {"survivor_id": str(pairs["ana"].pk)}
        ).status_code
        == 403
    )


def test_account_merge_screen(admin_client, workspace, account_factory, contact_factory, run_scan):
    keep = account_factory(name="Acme Ltda", domain="acme.com.br")
    gone = account_factory(name="ACME S.A.", domain="acme.com.br", city="Recife")
    contact_factory(first_name="Pessoa", account_id=gone.pk)
    run_scan("account")
    pair = pair_of(workspace, keep.pk, gone.pk, "account")
    html = text(admin_client.get(f"/duplicates/{pair.pk}/merge"))
    assert "Merge two accounts" in html and "1 contact" in html
    response = admin_client.post(
        f"/accounts/merge?ids={keep.pk},{gone.pk}", {"survivor_id": str(keep.pk)}
    )
    assert response["Location"] == f"/accounts/{keep.pk}/"
    assert Contact.objects.for_workspace(workspace).get(first_name="Pessoa").account_id == keep.pk


# --- the "already exists" warning ----------------------------------------------------------------


def test_the_create_form_asks_for_the_check(admin_client):
    html = text(admin_client.get("/contacts/new"))
    assert 'id="duplicate-warning"' in html and 'hx-get="/duplicates/check?object=contact"' in html
    html = text(admin_client.get("/accounts/new"))
    assert 'hx-get="/duplicates/check?object=account"' in html


def test_check_warns_about_an_existing_email_or_phone(
    admin_client, workspace, contact_factory, django_assert_max_num_queries
):
    ana = contact_factory(
        first_name="Ana",
        last_name="Souza",
        emails=["ana@work.com", "ana@home.com"],
        phones=["+5511987654321"],
    )
    with django_assert_max_num_queries(8):
        response = admin_client.get(
            "/duplicates/check", {"object": "contact", "emails": ["", "ANA@home.com"]}, **HTMX
        )
    html = text(response)
    assert "The email ana@home.com already belongs to" in html
    assert f'href="/contacts/{ana.pk}/"' in html and "Ana Souza" in html
    html = text(
        admin_client.get("/duplicates/check", {"object": "contact", "phones": "(11) 98765-4321"})
    )
    assert "The phone +55 11 98765-4321 already belongs to" in html
    # The record being edited does not warn about itself; unknown values warn about nothing.
    assert (
        text(
            admin_client.get(
                "/duplicates/check",
                {"object": "contact", "emails": "ana@work.com", "exclude": ana.pk},
            )
        ).strip()
        == ""
    )
    assert (
        text(
            admin_client.get(
                "/duplicates/check", {"object": "contact", "emails": "nobody@work.com"}
            )
        ).strip()
        == ""
    )


def test_check_finds_an_address_among_many_alike_and_short_ones(admin_client, contact_factory):
    for i in range(15):
        contact_factory(first_name="Maria", last_name="Silva", emails=[f"maria.silva{i}@gmail.com"])
    holder = contact_factory(
        first_name="Maria", last_name="Silva", emails=["m.s@work.com.br", "maria.silva@gmail.com"]
    )
    html = text(
        admin_client.get(
            "/duplicates/check", {"object": "contact", "emails": "maria.silva@gmail.com"}
        )
    )
    assert html.count("already belongs to") == 1 and f'href="/contacts/{holder.pk}/"' in html
    # A local part too short to search for is still found as a primary address.
    html = text(
        admin_client.get("/duplicates/check", {"object": "contact", "emails": "M.S@work.com.br"})
    )
    assert f'href="/contacts/{holder.pk}/"' in html


def test_check_offers_to_merge_from_the_edit_form(admin_client, contact_factory):
    ana = contact_factory(first_name="Ana", emails=["ana@work.com"])
    other = contact_factory(first_name="Ana", emails=["ana@home.com"])
    html = text(
        admin_client.get(
            "/duplicates/check",
            {"object": "contact", "emails": "ana@work.com", "exclude": other.pk},
        )
    )
    assert f'href="/contacts/merge?ids={other.pk},{ana.pk}"' in html


def test_check_for_accounts_by_domain(admin_client, account_factory):
    acme = account_factory(name="Acme Ltda", domain="acme.com.br")
    html = text(
        admin_client.get(
            "/duplicates/check", {"object": "account", "domain": "https://www.ACME.com.br/contato"}
        )
    )
    assert (
        "The domain acme.com.br already belongs to" in html
        and f'href="/accounts/{acme.pk}/"' in html
    )


def test_check_never_reveals_another_workspace(
    log_in, other_admin, contact_factory, account_factory
):
    contact_factory(first_name="Ana", emails=["ana@work.com"])
    account_factory(name="Acme", domain="acme.com.br")
    client = log_in(other_admin)
    assert (
        text(
            client.get("/duplicates/check", {"object": "contact", "emails": "ana@work.com"})
        ).strip()
        == ""
    )
    assert (
        text(
            client.get("/duplicates/check", {"object": "account", "domain": "acme.com.br"})
        ).strip()
        == ""
    )
