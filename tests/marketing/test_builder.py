"""The web form builder pages: list (empty state, counts, open/closed), create and edit with
fields chosen, labelled, required and reordered, errors naming the setting (422), the live
preview, the share page, the submissions, delete, rights and cross-workspace leaks."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest

from tests.marketing.conftest import post_form
from vinculo.core.roles import Role
from vinculo.marketing.fields import LEAD_FORM_FIELD_NAMES
from vinculo.marketing.models import WebForm
from vinculo.sales.models import Lead


def builder_post(fields: list[tuple[str, str, bool]] | None = None, **settings: Any) -> dict:
    """What the builder page posts: every lead field as a row, in the given order first."""
    chosen = fields or [("first_name", "Nome", True), ("email", "E-mail", True)]
    order = [name for name, _label, _required in chosen]
    order += [name for name in LEAD_FORM_FIELD_NAMES if name not in order]
    data: dict[str, Any] = {
        "name": "Site — contato",
        "title": "Fale com vendas",
        "introduction": "",
        "submit_label": "",
        "consent_enabled": "on",
        "consent_purpose": "email_marketing",
        "consent_wording": "Aceito receber e-mails.",
        "after_submit": "message",
        "thank_you_message": "Obrigado!",
        "redirect_url": "",
        "lead_source": "Site",
        "allowed_origins": "https://www.padaria.example",
        "field_order": order,
    }
    for name, label, required in chosen:
        data[f"include_{name}"] = "on"
        data[f"label_{name}"] = label
        if required:
            data[f"required_{name}"] = "on"
    data.update(settings)
    return data


def test_the_list_starts_empty(staff):
    r = staff.get("/forms/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "No web forms yet" in html
    assert 'href="/forms/new"' in html


def test_the_sidebar_links_to_web_forms(staff):
    assert 'href="/forms/"' in staff.get("/").content.decode()


def test_the_list_shows_each_form_with_its_count(staff, webform_factory, visitor):
    form = webform_factory(name="Landing page")
    post_form(visitor, form, {"first_name": "Ana", "email": "ana@example.com"})
    html = staff.get("/forms/").content.decode()
    assert "Landing page" in html
    assert f'href="/forms/{form.pk}/submissions">1<' in html
    assert 'role="switch" aria-checked="true"' in html
    assert "data-confirm=" in html


def test_the_list_query_count_does_not_grow(staff, webform_factory, django_assert_max_num_queries):
    for _ in range(30):
        webform_factory()
    with django_assert_max_num_queries(12):
        r = staff.get("/forms/")
    assert r.content.decode().count('role="switch"') == 30


def test_create_a_form_in_the_builder(staff, workspace):
    data = builder_post(
        [
            ("email", "E-mail de trabalho", True),
            ("first_name", "Nome", True),
            ("company_size", "", False),
        ]
    )
    r = staff.post("/forms/new", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    form = WebForm.objects.for_workspace(workspace).get()
    assert r["Location"] == f"/forms/{form.pk}/share"
    assert form.fields == [
        {"name": "email", "label": "E-mail de trabalho", "required": True},
        {"name": "first_name", "label": "Nome", "required": True},
        {"name": "company_size", "label": "", "required": False},
    ]
    assert form.consent_wording == "Aceito receber e-mails."
    assert form.allowed_origins == "https://www.padaria.example"
    assert form.lead_source == "Site"
    assert len(form.public_key) >= 16


def test_the_email_field_is_always_asked_and_required(staff, workspace):
    data = builder_post([("first_name", "Nome", True)])
    data.pop("include_email", None)
    r = staff.post("/forms/new", data)
    assert r.status_code == 302
    fields = WebForm.objects.for_workspace(workspace).get().fields
    assert {"name": "email", "label": "", "required": True} in fields


def test_builder_errors_name_each_setting(staff, workspace):
    data = builder_post(
        name="",
        consent_wording="",
        allowed_origins="not a site\nftp://files.example",
        after_submit="redirect",
        redirect_url="",
    )
    r = staff.post("/forms/new", data)
    assert r.status_code == 422
    html = r.content.decode()
    assert "Enter the address of the page to go to." in html
    r = staff.post("/forms/new", {**data, "redirect_url": "javascript:alert(1)"})
    assert r.status_code == 422
    html = r.content.decode()
    assert "Give the form a name." in html
    assert "Write the exact words the visitor agrees to" in html
    assert "“not a site” is not a site address" in html
    assert "“ftp://files.example” is not a site address" in html
    assert "Enter a full web address starting with https://" in html
    # What was typed is still there.
    assert "ftp://files.example" in html
    assert not WebForm.objects.for_workspace(workspace).exists()


def test_a_too_long_label_is_named_on_its_row(staff, workspace):
    r = staff.post("/forms/new", builder_post([("first_name", "x" * 121, True)]))
    assert r.status_code == 422
    assert 'id="error-first_name"' in r.content.decode()


def test_edit_reorders_and_relabels(staff, webform):
    r = staff.get(f"/forms/{webform.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.index('value="first_name"') < html.index('value="email"')
    data = builder_post([("message", "Sua mensagem", True), ("email", "", True)], name="Renamed")
    r = staff.post(f"/forms/{webform.pk}/", data)
    assert r.status_code == 302
    webform.refresh_from_db()
    assert webform.name == "Renamed"
    assert [f["name"] for f in webform.fields] == ["message", "email"]
    assert webform.fields[0] == {"name": "message", "label": "Sua mensagem", "required": True}


def test_the_live_preview_follows_the_builder(staff):
    data = builder_post(
        [("company_name", "Sua empresa", True), ("email", "", True)],
        title="Peça um orçamento",
        submit_label="Quero meu orçamento",
    )
    r = staff.post("/forms/preview", data, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    assert "<html" not in html
    assert "Peça um orçamento" in html
    assert "Sua empresa" in html
    assert "Quero meu orçamento" in html
    assert html.index("Sua empresa") < html.index('name="email"')
    assert "Aceito receber e-mails." in html


def test_the_share_page_gives_the_address_and_the_snippet(staff, webform):
    r = staff.get(f"/forms/{webform.pk}/share")
    assert r.status_code == 200
    html = r.content.decode()
    assert f"http://testserver/f/{webform.public_key}" in html
    snippet = unescape(html)
    assert (
        f'<div data-vinculo-form="{webform.public_key}" data-title="Talk to sales"></div>'
        in snippet
    )
    assert '<script src="http://testserver/static/marketing/embed.js" async></script>' in snippet
    assert "Any site may embed this form." in html


def test_the_submissions_page(staff, visitor, workspace, webform, django_assert_max_num_queries):
    for i in range(12):
        post_form(
            visitor,
            webform,
            {"first_name": f"Pessoa {i}", "email": f"p{i}@example.com", "utm_source": "ads"},
            REMOTE_ADDR=f"10.0.0.{i}",
        )
    with django_assert_max_num_queries(12):
        r = staff.get(f"/forms/{webform.pk}/submissions")
    assert r.status_code == 200
    html = r.content.decode()
    assert "Pessoa 11" in html and "p11@example.com" in html
    assert "utm_source: ads" in html
    assert html.count('id="submission-') == 12
    assert Lead.objects.for_workspace(workspace).count() == 12


def test_the_submissions_page_starts_empty(staff, webform):
    assert "No submissions yet" in staff.get(f"/forms/{webform.pk}/submissions").content.decode()


def test_close_and_reopen_from_the_list(staff, webform):
    r = staff.post(f"/forms/{webform.pk}/active", {"active": "0"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert 'aria-checked="false"' in r.content.decode()
    assert "<html" not in r.content.decode()
    webform.refresh_from_db()
    assert webform.is_active is False
    staff.post(f"/forms/{webform.pk}/active", {"active": "1"})
    webform.refresh_from_db()
    assert webform.is_active is True


def test_delete_moves_the_form_to_the_bin(staff, visitor, webform):
    r = staff.post(f"/forms/{webform.pk}/delete")
    assert r.status_code == 302
    webform.refresh_from_db()
    assert webform.deleted_at is not None
    assert "No web forms yet" in staff.get("/forms/").content.decode()
    assert staff.get(f"/forms/{webform.pk}/").status_code == 404
    assert visitor.get(f"/f/{webform.public_key}").status_code == 404


def test_roles_without_web_forms_cannot_open_the_pages(client, make_member, webform):
    seller = make_member("seller@acme.test", Role.SALES)
    client.force_login(seller)
    assert client.get("/forms/").status_code == 403
    assert client.get(f"/forms/{webform.pk}/").status_code == 403
    assert client.post(f"/forms/{webform.pk}/delete").status_code == 403
    webform.refresh_from_db()
    assert webform.deleted_at is None


def test_marketing_may_build_forms(client, make_member):
    marketer = make_member("mkt@acme.test", Role.MARKETING)
    client.force_login(marketer)
    assert client.get("/forms/new").status_code == 200
    assert client.post("/forms/new", builder_post()).status_code == 302


@pytest.mark.parametrize("suffix", ["/", "/share", "/submissions"])
def test_another_workspace_form_is_not_found(staff, other_workspace, webform_factory, suffix):
    theirs = webform_factory(ws=other_workspace, name="Their form")
    r = staff.get(f"/forms/{theirs.pk}{suffix}")
    assert r.status_code == 404
    assert staff.get(f"/forms/{theirs.pk + 1000}{suffix}").status_code == 404
    assert "Their form" not in staff.get("/forms/").content.decode()


def test_another_workspace_cannot_change_or_delete(staff, other_workspace, webform_factory):
    theirs = webform_factory(ws=other_workspace)
    assert staff.post(f"/forms/{theirs.pk}/active", {"active": "0"}).status_code == 404
    assert staff.post(f"/forms/{theirs.pk}/delete").status_code == 404
    assert staff.post(f"/forms/{theirs.pk}/", builder_post()).status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active and theirs.deleted_at is None


@pytest.mark.parametrize("suffix", ["/", "/share"])
def test_a_form_page_stays_within_its_query_budget(
    staff, webform, suffix, django_assert_max_num_queries
):
    staff.get(f"/forms/{webform.pk}{suffix}")
    with django_assert_max_num_queries(12):
        assert staff.get(f"/forms/{webform.pk}{suffix}").status_code == 200


def test_a_broken_cursor_starts_the_list_again(staff, webform):
    assert staff.get("/forms/?cursor=garbage")["Location"] == "/forms/"
    r = staff.get(f"/forms/{webform.pk}/submissions?cursor=garbage")
    assert r["Location"] == f"/forms/{webform.pk}/submissions"
