"""Quotas: one person or team per period, no overlaps, clear field errors; their API and page,
rights and tenancy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import Event
from vinculo.sales.forecasts.forms import amount_text
from vinculo.sales.forecasts.services import quota_create, quota_delete, quota_update
from vinculo.sales.models import Quota

from .conftest import HTMX, make_team, problem_fields

MARCH = {"period_start": "2025-03-01", "period_end": "2025-03-31"}


def create(workspace, actor, **data):
    return quota_create(workspace=workspace, actor=actor, data=data)


def errors_of(call) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as exc:
        call()
    return {e.field: e.code for e in exc.value.errors}


# ---------------------------------------------------------------------------------------------
# Services


def test_create_a_personal_quota(workspace, admin, ana):
    quota = create(workspace, admin, user_id=ana.pk, amount="25000.50", **MARCH)
    assert (quota.user_id, quota.team_id, quota.amount, quota.currency) == (
        ana.pk,
        None,
        Decimal("25000.50"),
        "BRL",
    )
    assert (quota.period_start, quota.period_end) == (dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    event = Event.objects.get(type="quota.created")
    assert (event.subject_type, event.subject_id, event.actor_id) == ("quota", quota.pk, admin.pk)
    assert event.payload["amount"] == "25000.50"


def test_create_a_team_quota(workspace, admin, ana):
    team = make_team(workspace, "Norte", ana)
    quota = create(workspace, admin, team_id=team.pk, amount=90000, currency="usd", **MARCH)
    assert (quota.user_id, quota.team_id, quota.currency) == (None, team.pk, "USD")


def test_every_missing_field_is_named_at_once(workspace, admin):
    assert errors_of(lambda: create(workspace, admin)) == {
        "user_id": "required",
        "period_start": "required",
        "period_end": "required",
        "amount": "required",
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"period_start": "2025-03-31", "period_end": "2025-03-01"},
            {"period_end": "before-start"},
        ),
        ({"period_start": "2025-01-01", "period_end": "2027-06-30"}, {"period_end": "too-long"}),
        (
            {"period_start": "01/03/2025", "period_end": "2025-02-30"},
            {
                "period_start": "invalid-date",
                "period_end": "invalid-date",
            },
        ),
        ({"amount": 0}, {"amount": "not-positive"}),
        ({"amount": "-10"}, {"amount": "not-positive"}),
        ({"amount": "lots"}, {"amount": "invalid"}),
        ({"amount": "NaN"}, {"amount": "invalid"}),
        ({"amount": True}, {"amount": "invalid"}),
        ({"amount": "10.505"}, {"amount": "too-precise"}),
        ({"amount": "1000000000000"}, {"amount": "too-large"}),
        ({"currency": "reais"}, {"currency": "invalid"}),
        ({"color": "red"}, {"color": "unknown-field"}),
    ],
)
def test_bad_values_are_refused_with_the_field_named(workspace, admin, ana, data, expected):
    full = {"user_id": ana.pk, "amount": 1000, **MARCH, **data}
    assert errors_of(lambda: create(workspace, admin, **full)) == expected
    assert not Quota.objects.exists()


def test_a_quota_is_for_a_person_or_a_team_of_this_workspace(
    workspace, admin, ana, other_admin, other_workspace
):
    team = make_team(workspace, "Norte", ana)
    both = {"user_id": ana.pk, "team_id": team.pk, "amount": 1, **MARCH}
    assert errors_of(lambda: create(workspace, admin, **both)) == {"team_id": "person-or-team"}
    outsider = {"user_id": other_admin.pk, "amount": 1, **MARCH}
    assert errors_of(lambda: create(workspace, admin, **outsider)) == {"user_id": "not-a-member"}
    their_team = make_team(other_workspace, "Globex team")
    foreign = {"team_id": their_team.pk, "amount": 1, **MARCH}
    assert errors_of(lambda: create(workspace, admin, **foreign)) == {"team_id": "not-found"}
    assert errors_of(lambda: create(workspace, admin, user_id="x", amount=1, **MARCH)) == {
        "user_id": "invalid"
    }


def test_overlapping_quotas_of_the_same_person_are_refused(workspace, admin, ana, bruno):
    create(workspace, admin, user_id=ana.pk, amount=1000, **MARCH)
    with pytest.raises(ValidationFailed) as exc:
        create(
            workspace,
            admin,
            user_id=ana.pk,
            amount=3000,
            period_start="2025-01-01",
            period_end="2025-03-01",
        )
    [error] = exc.value.errors
    assert (error.field, error.code) == ("period_start", "overlap")
    assert error.message == "This person already has a quota from 2025-03-01 to 2025-03-31."
    # The next month, another person and a team are all fine.
    create(
        workspace,
        admin,
        user_id=ana.pk,
        amount=1,
        period_start="2025-04-01",
        period_end="2025-04-30",
    )
    create(workspace, admin, user_id=bruno.pk, amount=1, **MARCH)
    team = make_team(workspace, "Norte", ana)
    create(workspace, admin, team_id=team.pk, amount=1, **MARCH)
    assert errors_of(lambda: create(workspace, admin, team_id=team.pk, amount=1, **MARCH)) == {
        "period_start": "overlap"
    }
    assert Quota.objects.count() == 4


def test_update_changes_only_what_is_given_and_records_the_changes(workspace, admin, ana):
    quota = create(workspace, admin, user_id=ana.pk, amount=1000, **MARCH)
    updated = quota_update(
        workspace=workspace, actor=admin, quota_id=quota.pk, data={"amount": "1500"}
    )
    assert (updated.amount, updated.user_id, updated.period_end) == (
        Decimal("1500"),
        ana.pk,
        dt.date(2025, 3, 31),
    )
    event = Event.objects.get(type="quota.updated")
    assert event.payload["changes"] == {"amount": ["1000.00", "1500.00"]}
    # Saving the same values again changes nothing and records nothing.
    quota_update(workspace=workspace, actor=admin, quota_id=quota.pk, data={"amount": 1500})
    assert Event.objects.filter(type="quota.updated").count() == 1


def test_update_is_checked_like_a_creation(workspace, admin, ana):
    march = create(workspace, admin, user_id=ana.pk, amount=1000, **MARCH)
    april = create(
        workspace,
        admin,
        user_id=ana.pk,
        amount=1000,
        period_start="2025-04-01",
        period_end="2025-04-30",
    )
    # Its own period is no overlap; stretching into April is.
    quota_update(workspace=workspace, actor=admin, quota_id=march.pk, data=MARCH)
    assert errors_of(
        lambda: quota_update(
            workspace=workspace,
            actor=admin,
            quota_id=march.pk,
            data={"period_end": "2025-04-15", "amount": 0},
        )
    ) == {"amount": "not-positive"}, "overlaps are looked for once the fields are valid"
    assert errors_of(
        lambda: quota_update(
            workspace=workspace, actor=admin, quota_id=march.pk, data={"period_end": "2025-04-15"}
        )
    ) == {"period_start": "overlap"}
    march.refresh_from_db()
    assert march.period_end == dt.date(2025, 3, 31)
    assert april.pk != march.pk


def test_moving_a_quota_to_a_team_clears_its_person(workspace, admin, ana):
    team = make_team(workspace, "Norte", ana)
    quota = create(workspace, admin, user_id=ana.pk, amount=1000, **MARCH)
    moved = quota_update(
        workspace=workspace, actor=admin, quota_id=quota.pk, data={"team_id": team.pk}
    )
    assert (moved.user_id, moved.team_id) == (None, team.pk)


def test_delete_removes_the_quota_and_records_what_it_was(workspace, admin, ana):
    quota = create(workspace, admin, user_id=ana.pk, amount=1000, **MARCH)
    quota_delete(workspace=workspace, actor=admin, quota_id=quota.pk)
    assert not Quota.objects.exists()
    event = Event.objects.get(type="quota.deleted")
    assert (event.subject_id, event.payload["user_id"]) == (quota.pk, ana.pk)
    with pytest.raises(NotFound):
        quota_delete(workspace=workspace, actor=admin, quota_id=quota.pk)


def test_reps_may_read_quotas_but_not_set_them(workspace, admin, ana, manager):
    with pytest.raises(PermissionDenied):
        create(workspace, ana, user_id=ana.pk, amount=1000, **MARCH)
    quota = create(workspace, manager, user_id=ana.pk, amount=1000, **MARCH)
    with pytest.raises(PermissionDenied):
        quota_update(workspace=workspace, actor=ana, quota_id=quota.pk, data={"amount": 1})
    with pytest.raises(PermissionDenied):
        quota_delete(workspace=workspace, actor=ana, quota_id=quota.pk)


def test_another_workspaces_quota_is_not_found(workspace, admin, other_workspace, other_admin):
    theirs = quota_create(
        workspace=other_workspace,
        actor=other_admin,
        data={"user_id": other_admin.pk, "amount": 1, **MARCH},
    )
    with pytest.raises(NotFound):
        quota_update(workspace=workspace, actor=admin, quota_id=theirs.pk, data={"amount": 5})
    with pytest.raises(NotFound):
        quota_delete(workspace=workspace, actor=admin, quota_id=theirs.pk)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("25.000,50", "25000.50"),
        ("25,000.50", "25000.50"),
        ("25000,5", "25000.5"),
        ("25.000", "25000"),
        ("1.250.000", "1250000"),
        (" 30 000 ", "30000"),
        ("abc", "abc"),
    ],
)
def test_typed_amounts_are_read_whatever_the_separators(typed, read):
    assert amount_text(typed) == read


# ---------------------------------------------------------------------------------------------
# API


def test_quota_api_round_trip(api, ana):
    r = api.post("/api/v1/quotas", {"user_id": ana.pk, "amount": "30000", **MARCH})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["user"] == {"id": ana.pk, "name": "Ana Souza"}
    assert (body["team"], body["amount"], body["currency"]) == (None, "30000.00", "BRL")
    pk = body["id"]
    assert api.get(f"/api/v1/quotas/{pk}").json()["period_end"] == "2025-03-31"
    r = api.patch(f"/api/v1/quotas/{pk}", {"amount": 32000})
    assert (r.status_code, r.json()["amount"]) == (200, "32000.00")
    assert api.get("/api/v1/quotas").json()["items"][0]["id"] == pk
    assert api.delete(f"/api/v1/quotas/{pk}").status_code == 204
    assert api.get(f"/api/v1/quotas/{pk}").status_code == 404


def test_quota_api_reports_bad_fields_as_a_problem(api, ana):
    r = api.post(
        "/api/v1/quotas",
        {"user_id": ana.pk, "period_start": "2025-03-31", "period_end": "2025-03-01", "amount": -1},
    )
    assert r.status_code == 422
    assert r["Content-Type"] == "application/problem+json"
    assert problem_fields(r) == {"period_end": "before-start", "amount": "not-positive"}
    r = api.post("/api/v1/quotas", {"user_id": "someone"})
    assert r.status_code == 422
    assert "user_id" in problem_fields(r)


def test_quota_api_filters(api, ana, bruno, workspace, admin):
    create(workspace, admin, user_id=ana.pk, amount=1, **MARCH)
    create(workspace, admin, user_id=bruno.pk, amount=2, **MARCH)
    create(
        workspace,
        admin,
        user_id=ana.pk,
        amount=3,
        period_start="2025-04-01",
        period_end="2025-04-30",
    )
    amounts = lambda **q: [i["amount"] for i in api.get("/api/v1/quotas", **q).json()["items"]]  # noqa: E731
    assert amounts() == ["3.00", "2.00", "1.00"]
    assert amounts(user_id=ana.pk) == ["3.00", "1.00"]
    assert amounts(period="2025-04") == ["3.00"]
    assert amounts(period="2025-Q1", user_id=bruno.pk) == ["2.00"]
    assert api.get("/api/v1/quotas", period="soon").status_code == 422


def test_quota_api_pages_with_a_cursor(api, workspace, admin, make_member):
    for i in range(5):
        user = make_member(f"p{i}@acme.test")
        create(workspace, admin, user_id=user.pk, amount=i + 1, **MARCH)
    first = api.get("/api/v1/quotas", limit=3).json()
    second = api.get("/api/v1/quotas", limit=3, cursor=first["next_cursor"]).json()
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 5
    assert second["next_cursor"] is None


def test_quota_api_shows_nothing_of_another_workspace(api, other_key, workspace, admin, ana):
    quota = create(workspace, admin, user_id=ana.pk, amount=1, **MARCH)
    assert api.get("/api/v1/quotas", key=other_key).json()["items"] == []
    for call in (
        lambda: api.get(f"/api/v1/quotas/{quota.pk}", key=other_key),
        lambda: api.patch(f"/api/v1/quotas/{quota.pk}", {"amount": 9}, key=other_key),
        lambda: api.delete(f"/api/v1/quotas/{quota.pk}", key=other_key),
    ):
        r = call()
        assert r.status_code == 404, r.content
        assert r.json()["type"].endswith("/not-found")
    quota.refresh_from_db()
    assert quota.amount == 1


def test_quota_api_list_queries_do_not_grow(
    api, workspace, admin, make_member, django_assert_max_num_queries
):
    team = make_team(workspace, "Norte")
    for i in range(30):
        user = make_member(f"q{i}@acme.test")
        create(workspace, admin, user_id=user.pk, amount=i + 1, **MARCH)
        create(
            workspace,
            admin,
            team_id=team.pk,
            amount=1,
            period_start=f"2020-01-{i + 1:02d}",
            period_end=f"2020-01-{i + 1:02d}",
        )
    api.get("/api/v1/quotas")
    with django_assert_max_num_queries(5):
        assert len(api.get("/api/v1/quotas").json()["items"]) == 50
    quota = Quota.objects.first()
    with django_assert_max_num_queries(5):
        assert api.get(f"/api/v1/quotas/{quota.pk}").status_code == 200


# ---------------------------------------------------------------------------------------------
# Page


def test_quota_page_lists_quotas_and_offers_the_form(admin_client_ui, workspace, admin, ana):
    create(workspace, admin, user_id=ana.pk, amount=30000, **MARCH)
    html = admin_client_ui.get("/forecast/quotas/").content.decode()
    assert "Ana Souza" in html and "R$&nbsp;30,000" in html
    assert 'name="user_id"' in html and 'name="period_start"' in html
    assert "data-fill-period" in html
    assert "Delete the quota of Ana Souza from 03/01/2025 to 03/31/2025?" in html


def test_quota_form_errors_come_back_next_to_their_fields(admin_client_ui, ana):
    r = admin_client_ui.post(
        "/forecast/quotas/new",
        {
            "user_id": ana.pk,
            "period_start": "2025-03-31",
            "period_end": "2025-03-01",
            "amount": "0",
        },
    )
    assert r.status_code == 422
    html = r.content.decode()
    assert "The period must end on or after its start." in html
    assert "The target must be more than zero." in html
    assert 'id="id_period_end_error"' in html
    assert not Quota.objects.exists()


def test_quota_form_creates_and_redirects(admin_client_ui, ana):
    r = admin_client_ui.post(
        "/forecast/quotas/new",
        {
            "user_id": ana.pk,
            "period_start": "2025-03-01",
            "period_end": "2025-03-31",
            "amount": "30.000,00",
        },
    )
    assert (r.status_code, r["Location"]) == (302, "/forecast/quotas/")
    assert Quota.objects.get().amount == Decimal("30000.00")


def test_quota_form_over_htmx_answers_with_the_section(admin_client_ui, workspace, admin, ana):
    quota = create(workspace, admin, user_id=ana.pk, amount=1000, **MARCH)
    r = admin_client_ui.get(f"/forecast/quotas/?edit={quota.pk}", **HTMX)
    assert 'value="1000.00"' in r.content.decode()
    assert "Edit quota" in r.content.decode()
    r = admin_client_ui.post(
        f"/forecast/quotas/{quota.pk}/edit",
        {
            "user_id": ana.pk,
            "period_start": "2025-03-01",
            "period_end": "2025-03-31",
            "amount": "2000",
        },
        **HTMX,
    )
    html = r.content.decode()
    assert r.status_code == 200
    assert html.lstrip().startswith('<section id="quotas"')
    assert "Quota saved." in html
    quota.refresh_from_db()
    assert quota.amount == 2000


def test_quota_delete_from_the_page(admin_client_ui, workspace, admin, ana):
    quota = create(workspace, admin, user_id=ana.pk, amount=1000, **MARCH)
    r = admin_client_ui.post(f"/forecast/quotas/{quota.pk}/delete")
    assert r.status_code == 302
    assert not Quota.objects.exists()


def test_a_rep_sees_quotas_without_the_form(client, workspace, admin, ana):
    create(workspace, admin, user_id=ana.pk, amount=1000, **MARCH)
    client.force_login(ana)
    html = client.get("/forecast/quotas/").content.decode()
    assert "Ana Souza" in html
    assert 'name="amount"' not in html and "data-confirm" not in html
    r = client.post("/forecast/quotas/new", {"user_id": ana.pk, "amount": 5, **MARCH})
    assert r.status_code == 403


def test_quota_pages_of_another_workspace_answer_404(admin_client_ui, other_workspace, other_admin):
    theirs = quota_create(
        workspace=other_workspace,
        actor=other_admin,
        data={"user_id": other_admin.pk, "amount": 1, **MARCH},
    )
    assert admin_client_ui.get(f"/forecast/quotas/?edit={theirs.pk}").status_code == 404
    assert (
        admin_client_ui.post(f"/forecast/quotas/{theirs.pk}/edit", {"amount": 5}).status_code == 404
    )
    assert admin_client_ui.post(f"/forecast/quotas/{theirs.pk}/delete").status_code == 404
    assert "globex" not in admin_client_ui.get("/forecast/quotas/").content.decode()


def test_quota_page_queries_do_not_grow(
    admin_client_ui, workspace, admin, make_member, django_assert_max_num_queries
):
    for i in range(30):
        user = make_member(f"r{i}@acme.test")
        create(workspace, admin, user_id=user.pk, amount=i + 1, **MARCH)
    admin_client_ui.get("/forecast/quotas/")
    with django_assert_max_num_queries(14):
        html = admin_client_ui.get("/forecast/quotas/").content.decode()
    assert html.count('<tr id="quota-') == 30


def test_sales_role_cannot_use_quota_writes_on_the_api(client, workspace, ana):
    from vinculo.core.services import apikey_create

    key = apikey_create(workspace=workspace, user=ana, name="t")[1]
    r = client.post(
        "/api/v1/quotas",
        {"user_id": ana.pk, "amount": 1, **MARCH},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert r.status_code == 403
    assert r.json()["type"].endswith("/forbidden")
