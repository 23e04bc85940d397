"""The leads API: list (filters, sorts, search, keyset pages), create with the duplicate
warning, read, change, delete, convert, assign, status; problems for bad input; tenancy and
query counts."""

from __future__ import annotations

import pytest

from vinculo.contacts.services import contact_create
from vinculo.core.models import Team
from vinculo.sales.leads import services
from vinculo.sales.models import Lead

from .conftest import problem_fields

# Key lookup (the key, its user, the membership), then the page of leads with owner and team.
LIST_BUDGET = 4


def _ids(response) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


def test_create_returns_the_lead_and_warns_of_duplicates(api, workspace, admin, lead):
    contact = contact_create(
        workspace=workspace,
        actor=admin,
        data={"first_name": "Mar", "email": "maria@padaria.com.br"},
    )

    r = api.post(
        "/api/v1/leads",
        {"first_name": "Maria", "email": "MARIA@padaria.com.br", "utm_source": "newsletter"},
    )

    assert r.status_code == 201, r.content
    body = r.json()
    assert body["email"] == "maria@padaria.com.br"
    assert body["utm_source"] == "newsletter" and body["status"] == "new"
    # Through the API a lead is routed by the rules: nobody owns it yet.
    assert body["owner"] is None
    assert {(d["kind"], d["id"]) for d in body["duplicates"]} == {
        ("lead", lead.pk),
        ("contact", contact.pk),
    }
    assert api.get(f"/api/v1/leads/{body['id']}").json().get("duplicates") is None


def test_create_answers_422_with_every_bad_field(api):
    r = api.post(
        "/api/v1/leads", {"email": "nope", "country": "XX", "website": "::", "colour": "red"}
    )
    assert r.status_code == 422
    assert r["Content-Type"].startswith("application/problem+json")
    assert problem_fields(r) == {"colour": "extra_forbidden"}

    r = api.post("/api/v1/leads", {"email": "nope", "country": "XX", "website": "::"})
    assert problem_fields(r) == {
        "email": "invalid-email",
        "country": "invalid-country",
        "website": "invalid-url",
    }
    assert not Lead.objects.exists()


def test_get_patch_delete_restore(api, lead):
    r = api.get(f"/api/v1/leads/{lead.pk}")
    assert r.status_code == 200 and r.json()["phone"] == "+5511987654321"

    r = api.patch(f"/api/v1/leads/{lead.pk}", {"job_title": "Owner", "phone": "11 3456-7890"})
    assert r.status_code == 200
    assert (r.json()["job_title"], r.json()["phone"]) == ("Owner", "+551134567890")

    assert api.delete(f"/api/v1/leads/{lead.pk}").status_code == 204
    assert api.get(f"/api/v1/leads/{lead.pk}").status_code == 404
    assert _ids(api.get("/api/v1/leads", deleted="true")) == [lead.pk]
    assert api.post(f"/api/v1/leads/{lead.pk}/restore").json()["deleted_at"] is None


def test_assign_status_and_convert_endpoints(api, workspace, admin, seller, lead):
    team = Team.objects.create(workspace=workspace, name="South")
    r = api.post(
        f"/api/v1/leads/{lead.pk}/assign",
        {"owner_id": seller.pk, "team_id": team.pk, "reason": "by hand"},
    )
    assert r.status_code == 200
    assert (r.json()["owner"]["id"], r.json()["team"]["name"]) == (seller.pk, "South")

    r = api.post(f"/api/v1/leads/{lead.pk}/status", {"status": "disqualified"})
    assert r.status_code == 422 and problem_fields(r) == {"reason": "required"}
    r = api.post(f"/api/v1/leads/{lead.pk}/status", {"status": "qualified"})
    assert r.status_code == 200 and r.json()["status"] == "qualified"

    preview = api.get(f"/api/v1/leads/{lead.pk}/conversion").json()
    assert preview == {"contact": None, "account": None, "account_matched_by": ""}

    r = api.post(f"/api/v1/leads/{lead.pk}/convert", {"deal_name": "Ovens", "amount": "900.50"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["contact_created"] and body["account_created"]
    assert body["contact"]["name"] == "Maria Silva"
    assert body["deal"]["name"] == "Ovens"
    assert body["lead"]["status"] == "converted"
    assert body["lead"]["converted_deal_id"] == body["deal"]["id"]

    again = api.post(f"/api/v1/leads/{lead.pk}/convert", {})
    assert again.status_code == 409
    assert again.json()["type"].endswith("/lead-converted")
    assert "converted on" in again.json()["detail"]


def test_list_filters(api, workspace, admin, seller, lead_factory):
    team = Team.objects.create(workspace=workspace, name="North")
    a = lead_factory(source="Fair", utm_campaign="spring", owner_id=seller.pk, team_id=team.pk)
    b = lead_factory(source="Fair", utm_campaign="autumn")
    c = lead_factory(source="Ads", owner_id=admin.pk)
    Lead.objects.filter(pk=a.pk).update(score=40)
    Lead.objects.filter(pk=c.pk).update(score=80)
    services.lead_set_status(
        workspace=workspace, actor=admin, lead_id=b.pk, status="disqualified", reason="Spam"
    )

    assert sorted(_ids(api.get("/api/v1/leads", source="Fair"))) == [a.pk, b.pk]
    assert _ids(api.get("/api/v1/leads", utm_campaign="spring")) == [a.pk]
    assert sorted(_ids(api.get("/api/v1/leads", status="open"))) == [a.pk, c.pk]
    assert _ids(api.get("/api/v1/leads", status="disqualified")) == [b.pk]
    assert _ids(api.get("/api/v1/leads", owner="me")) == [c.pk]
    assert _ids(api.get("/api/v1/leads", owner="none")) == [b.pk]
    assert _ids(api.get("/api/v1/leads", owner=str(seller.pk))) == [a.pk]
    assert _ids(api.get("/api/v1/leads", team=str(team.pk))) == [a.pk]
    assert sorted(_ids(api.get("/api/v1/leads", team="none"))) == [b.pk, c.pk]
    assert _ids(api.get("/api/v1/leads", score_min="50")) == [c.pk]


def test_list_rejects_bad_filters_by_name(api):
    r = api.get("/api/v1/leads", status="lost", owner="x", score_min="lots", sort="price")
    assert r.status_code == 422
    assert problem_fields(r) == {
        "status": "invalid-choice",
        "owner": "invalid",
        "score_min": "invalid",
        "sort": "invalid-choice",
    }
    assert api.get("/api/v1/leads", cursor="garbage").status_code == 422


def test_search_by_name_company_email_and_phone(api, lead_factory):
    maria = lead_factory(
        first_name="Maria", last_name="Conceição", company_name="Padaria", phone="11 98765-4321"
    )
    lead_factory(first_name="João", company_name="Oficina")

    for q in ("conceicao", "padar", "98765", maria.email, "MARIA CONC"):
        assert _ids(api.get("/api/v1/leads", q=q)) == [maria.pk], q
    assert _ids(api.get("/api/v1/leads", q="nobody")) == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-score", ["c", "a", "b"]),
        ("score", ["b", "a", "c"]),
        ("name", ["a", "b", "c"]),
        ("-name", ["c", "b", "a"]),
        ("created_at", ["a", "b", "c"]),
        ("-created_at", ["c", "b", "a"]),
        # Unscored leads come after the scored ones, newest first.
        ("-predicted_score", ["a", "c", "b"]),
        ("predicted_score", ["c", "a", "b"]),
    ],
)
def test_sorts(api, lead_factory, sort, expected):
    leads = {
        "a": lead_factory(first_name="Ana"),
        "b": lead_factory(first_name="Bruno"),
        "c": lead_factory(first_name="Carla"),
    }
    for key, score, predicted in (("a", 40, 70), ("b", 10, None), ("c", 90, 20)):
        Lead.objects.filter(pk=leads[key].pk).update(score=score, predicted_score=predicted)
    names = {lead.pk: key for key, lead in leads.items()}

    r = api.get("/api/v1/leads", sort=sort)

    assert r.status_code == 200
    assert [names[pk] for pk in _ids(r)] == expected


@pytest.mark.parametrize("sort", ["-created_at", "name", "-score", "-predicted_score"])
def test_keyset_pages_cover_every_lead_once(api, lead_factory, sort):
    made = [lead_factory() for _ in range(7)]
    for i, lead in enumerate(made):
        Lead.objects.filter(pk=lead.pk).update(
            score=i % 3, predicted_score=None if i % 2 else i * 10
        )
    seen: list[int] = []
    cursor = None
    for _page in range(10):
        params = {"sort": sort, "limit": "3", **({"cursor": cursor} if cursor else {})}
        body = api.get("/api/v1/leads", **params).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(lead.pk for lead in made)
    assert len(seen) == len(set(seen))


def test_a_seller_lists_their_own_leads_and_the_unowned_pool(
    client, workspace, seller, other_seller, seller_key, lead_factory
):
    from tests.conftest import ApiClient

    mine = lead_factory(owner_id=seller.pk)
    pool = lead_factory()
    theirs = lead_factory(owner_id=other_seller.pk)
    api = ApiClient(client=client, key=seller_key)

    assert sorted(_ids(api.get("/api/v1/leads"))) == sorted([mine.pk, pool.pk])
    assert api.get(f"/api/v1/leads/{theirs.pk}").status_code == 404
    assert api.post(f"/api/v1/leads/{theirs.pk}/convert", {}).status_code == 404


# --- tenancy and query counts -----------------------------------------------------------------


def test_another_workspace_cannot_reach_a_lead(api, other_key, lead):
    assert api.get("/api/v1/leads", key=other_key).json()["items"] == []
    for method, path, body in (
        ("get", f"/api/v1/leads/{lead.pk}", None),
        ("patch", f"/api/v1/leads/{lead.pk}", {"job_title": "x"}),
        ("delete", f"/api/v1/leads/{lead.pk}", None),
        ("post", f"/api/v1/leads/{lead.pk}/assign", {"owner_id": None}),
        ("post", f"/api/v1/leads/{lead.pk}/status", {"status": "working"}),
        ("post", f"/api/v1/leads/{lead.pk}/convert", {}),
        ("get", f"/api/v1/leads/{lead.pk}/conversion", None),
        ("post", f"/api/v1/leads/{lead.pk}/restore", None),
    ):
        call = getattr(api, method)
        r = call(path, body, key=other_key) if body is not None else call(path, key=other_key)
        assert r.status_code == 404, (method, path)
        assert r.json()["type"].endswith("/not-found")
    lead.refresh_from_db()
    assert lead.job_title == "" and lead.status == "new" and lead.deleted_at is None


def test_list_and_detail_queries_do_not_grow(
    api, workspace, admin, lead_factory, django_assert_max_num_queries
):
    team = Team.objects.create(workspace=workspace, name="South")
    for i in range(30):
        lead_factory(owner_id=admin.pk if i % 2 else None, team_id=team.pk if i % 3 else None)

    with django_assert_max_num_queries(LIST_BUDGET):
        r = api.get("/api/v1/leads", limit="50")
    assert len(r.json()["items"]) == 30
    with django_assert_max_num_queries(LIST_BUDGET + 1):
        r = api.get("/api/v1/leads", sort="-predicted_score", limit="50")
    assert len(r.json()["items"]) == 30
    lead = Lead.objects.first()
    with django_assert_max_num_queries(LIST_BUDGET):
        assert api.get(f"/api/v1/leads/{lead.pk}").status_code == 200
