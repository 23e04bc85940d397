"""Custom field values: validated per type on every write and filterable with cf.<key>."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.contacts.conftest import error_fields, item_ids
from vinculo.core.custom_fields import clean_custom_fields
from vinculo.core.exceptions import ErrorCollector


def _clean(workspace, values, *, current=None, partial=False, object_type="contact"):
    errors = ErrorCollector()
    result = clean_custom_fields(
        workspace=workspace,
        object_type=object_type,
        values=values,
        current=current,
        errors=errors,
        partial=partial,
    )
    return result, {e.field: e.code for e in errors.errors}


@pytest.mark.parametrize(
    ("field_type", "given", "stored"),
    [
        ("text", "  hello  ", "hello"),
        ("number", 42, 42),
        ("number", 2.5, 2.5),
        ("number", "17", 17),
        ("number", 3.0, 3),
        ("money", "1234.5", "1234.50"),
        ("money", 10, "10.00"),
        ("money", 0.1, "0.10"),
        ("money", "-3.00", "-3.00"),
        ("date", "2024-02-29", "2024-02-29"),
        ("boolean", True, True),
        ("boolean", "false", False),
        ("choice", "pro", "pro"),
        ("multi_choice", ["pro", "free", "pro"], ["pro", "free"]),
    ],
)
def test_values_are_normalised(workspace, custom_field, field_type, given, stored):
    custom_field("f", field_type, choices=["free", "pro"])
    result, errors = _clean(workspace, {"f": given})
    assert errors == {}
    assert result == {"f": stored}
    assert type(result["f"]) is type(stored)


@pytest.mark.parametrize(
    ("field_type", "given", "code"),
    [
        ("text", 12, "invalid-type"),
        ("text", "x" * 2001, "too-long"),
        ("number", "lots", "invalid-type"),
        ("number", True, "invalid-type"),
        ("number", "nan", "invalid-type"),
        ("number", [1], "invalid-type"),
        ("money", "12.345", "invalid-decimal-places"),
        ("money", "twelve", "invalid-type"),
        ("money", "Infinity", "invalid-type"),
        ("money", False, "invalid-type"),
        ("date", "2023-02-29", "invalid-date"),
        ("date", "29/02/2024", "invalid-date"),
        ("date", 20240229, "invalid-type"),
        ("boolean", "maybe", "invalid-type"),
        ("boolean", 1, "invalid-type"),
        ("choice", "gold", "invalid-choice"),
        ("choice", ["pro"], "invalid-type"),
        ("multi_choice", "pro", "invalid-type"),
        ("multi_choice", ["pro", "gold"], "invalid-choice"),
    ],
)
def test_values_of_the_wrong_type_are_refused(workspace, custom_field, field_type, given, code):
    custom_field("f", field_type, choices=["free", "pro"])
    _result, errors = _clean(workspace, {"f": given})
    assert errors == {"custom_fields.f": code}


def test_every_bad_key_is_reported_at_once(workspace, custom_field):
    custom_field("size", "number")
    custom_field("plan", "choice", choices=[{"value": "pro", "label": "Pro plan"}])
    custom_field("since", "date", required=True)
    _result, errors = _clean(workspace, {"size": "big", "plan": "gold", "ghost": 1})
    assert errors == {
        "custom_fields.size": "invalid-type",
        "custom_fields.plan": "invalid-choice",
        "custom_fields.ghost": "unknown",
        "custom_fields.since": "required",
    }


def test_partial_update_merges_and_clears(workspace, custom_field):
    custom_field("a", "text")
    custom_field("b", "number", required=True)
    current = {"a": "x", "b": 1, "retired": "kept"}
    result, errors = _clean(workspace, {"a": None}, current=current, partial=True)
    assert errors == {}
    assert result == {"b": 1, "retired": "kept"}  # a value of a deleted field stays
    _result, errors = _clean(workspace, {"b": ""}, current=current, partial=True)
    assert errors == {"custom_fields.b": "required"}


def test_deleted_definitions_and_other_objects_are_unknown(workspace, custom_field):
    from django.utils import timezone

    gone = custom_field("gone", "text")
    gone.deleted_at = timezone.now()
    gone.save()
    custom_field("industry_code", "text", object_type="account")
    _result, errors = _clean(workspace, {"gone": "x", "industry_code": "x"})
    assert errors == {"custom_fields.gone": "unknown", "custom_fields.industry_code": "unknown"}
    result, errors = _clean(workspace, {"industry_code": "x"}, object_type="account")
    assert errors == {} and result == {"industry_code": "x"}


def test_other_workspace_definitions_do_not_apply(workspace, other_workspace, custom_field):
    custom_field("theirs", "text", ws=other_workspace)
    _result, errors = _clean(workspace, {"theirs": "x"})
    assert errors == {"custom_fields.theirs": "unknown"}


def test_required_field_through_the_api(api, custom_field):
    custom_field("cpf", "text", required=True)
    r = api.post("/api/v1/contacts", {"first_name": "Ana"})
    assert error_fields(r) == {"custom_fields.cpf"}
    r = api.post("/api/v1/contacts", {"first_name": "Ana", "custom_fields": {"cpf": "123"}})
    assert r.status_code == 201
    cid = r.json()["id"]
    # Other updates do not trip over it; clearing it does.
    assert api.patch(f"/api/v1/contacts/{cid}", {"city": "Recife"}).status_code == 200
    r = api.patch(f"/api/v1/contacts/{cid}", {"custom_fields": {"cpf": None}})
    assert error_fields(r) == {"custom_fields.cpf"}


@pytest.fixture
def catalogue(custom_field, contact_factory):
    custom_field("note", "text")
    custom_field("seats", "number")
    custom_field("mrr", "money")
    custom_field("renewal", "date")
    custom_field("churned", "boolean")
    custom_field("plan", "choice", choices=["free", "pro"])
    custom_field("channels", "multi_choice", choices=["email", "sms", "whatsapp"])
    a = contact_factory(
        first_name="A",
        custom_fields={
            "note": "hello",
            "seats": 10,
            "mrr": "99.9",
            "renewal": dt.date(2025, 1, 31).isoformat(),
            "churned": False,
            "plan": "pro",
            "channels": ["email", "whatsapp"],
        },
    )
    b = contact_factory(
        first_name="B",
        custom_fields={"seats": 2.5, "churned": True, "plan": "free", "channels": ["sms"]},
    )
    c = contact_factory(first_name="C")
    return a.pk, b.pk, c.pk


@pytest.mark.parametrize(
    ("param", "value", "who"),
    [
        ("cf.note", "hello", "a"),
        ("cf.seats", "10", "a"),
        ("cf.seats", "10.0", "a"),
        ("cf.seats", "2.5", "b"),
        ("cf.mrr", "99.90", "a"),
        ("cf.mrr", "99.9", "a"),
        ("cf.renewal", "2025-01-31", "a"),
        ("cf.churned", "true", "b"),
        ("cf.churned", "false", "a"),
        ("cf.plan", "pro", "a"),
        ("cf.channels", "whatsapp", "a"),
        ("cf.channels", "sms", "b"),
        ("cf.channels", "email", "a"),
    ],
)
def test_list_filters_by_custom_field(api, catalogue, param, value, who):
    a, b, _c = catalogue
    assert item_ids(api.get("/api/v1/contacts", **{param: value})) == [{"a": a, "b": b}[who]]


def test_custom_field_filters_combine(api, catalogue):
    a, _b, _c = catalogue
    assert item_ids(api.get("/api/v1/contacts", **{"cf.plan": "pro", "cf.seats": "10"})) == [a]
    assert item_ids(api.get("/api/v1/contacts", **{"cf.plan": "pro", "cf.seats": "2.5"})) == []


def test_bad_custom_field_filters_are_named(api, catalogue):
    r = api.get("/api/v1/contacts", **{"cf.ghost": "1", "cf.seats": "many", "cf.plan": "gold"})
    assert error_fields(r) == {"cf.ghost", "cf.seats", "cf.plan"}
