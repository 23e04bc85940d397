"""The settings area: who may open which section, the workspace section, tags and custom fields.

Forms are exercised the way the pages use them: htmx posts answered with the section partial
(422 with each error next to its field, nothing written), plain posts redirected.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from vinculo.core.forms import CUSTOMFIELD_MESSAGES
from vinculo.core.models import CustomFieldDefinition, Event, Tag, User, Workspace
from vinculo.core.roles import Role
from vinculo.core.services import customfield_create, tag_create, tag_delete

HTMX = {"HTTP_HX_REQUEST": "true"}
SECTIONS = ["workspace", "users", "teams", "custom_fields", "tags", "api_keys"]


@pytest.fixture
def as_user(client: Client):
    def login(user: User) -> Client:
        client.force_login(user)
        return client

    return login


@pytest.fixture
def admin_client(as_user, admin) -> Client:
    return as_user(admin)


def _events(workspace: Workspace, type_: str) -> int:
    return Event.objects.for_workspace(workspace).filter(type=type_).count()


def _field_error(html: str, field: str) -> str:
    """The error text shown next to `field` (its `<p class="error" id="id_<field>_error">`)."""
    match = re.search(rf'id="id_{field}_error">(.*?)</p>', html, re.S)
    return match.group(1).strip() if match else ""


# --- who may open what ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "first"),
    [
        (Role.ADMIN, "workspace"),
        (Role.MANAGER, "workspace"),
        (Role.SALES, "api_keys"),
        (Role.READ_ONLY, "api_keys"),
    ],
)
def test_index_opens_the_first_section_the_role_may_see(as_user, make_member, role, first):
    user = make_member(f"{role}-member@acme.test", role)
    r = as_user(user).get(reverse("settings:index"))
    assert r.status_code == 302
    assert r.url == reverse(f"settings:{first}")


ALLOWED = {
    Role.ADMIN: set(SECTIONS),
    Role.MANAGER: set(SECTIONS),
    Role.SALES: {"api_keys"},
    Role.MARKETING: {"api_keys"},
    Role.SERVICE: {"api_keys"},
    Role.READ_ONLY: {"api_keys"},
}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_opens_only_its_sections(as_user, make_member, role):
    client = as_user(make_member(f"{role}-member@acme.test", role))
    for section in SECTIONS:
        r = client.get(reverse(f"settings:{section}"))
        expected = 200 if section in ALLOWED[role] else 403
        assert r.status_code == expected, (role, section)
        if expected == 200:
            nav = re.findall(r'<nav class="settings-nav".*?</nav>', r.content.decode(), re.S)[0]
            assert nav.count("<a ") == len(ALLOWED[role])


def test_anonymous_visitors_are_sent_to_log_in(client, workspace):
    r = client.get(reverse("settings:tags"))
    assert r.status_code == 302
    assert r.url.startswith(reverse("account_login"))


def test_someone_in_no_workspace_gets_404(client, db):
    loner = User.objects.create_user(email="loner@example.test", password="x" * 12)
    client.force_login(loner)
    assert client.get(reverse("settings:index")).status_code == 404


def test_a_manager_sees_settings_but_cannot_change_them(as_user, make_member, workspace):
    client = as_user(make_member("boss@acme.test", Role.MANAGER))
    page = client.get(reverse("settings:workspace")).content.decode()
    assert 'name="name"' not in page
    assert workspace.name in page
    r = client.post(reverse("settings:workspace"), {"name": "Hijacked"}, **HTMX)
    assert r.status_code == 403
    workspace.refresh_from_db()
    assert workspace.name == "Acme Ltda"
    assert client.post(reverse("settings:custom_field_new"), {}, **HTMX).status_code == 403
    assert client.post(reverse("settings:team_new"), {"name": "X"}, **HTMX).status_code == 403


def test_sales_cannot_post_to_sections_they_cannot_open(as_user, make_member, workspace):
    client = as_user(make_member("rep@acme.test", Role.SALES))
    assert client.post(reverse("settings:tag_new"), {"name": "VIP"}, **HTMX).status_code == 403
    assert not Tag.objects.for_workspace(workspace).exists()


def test_get_only_pages_refuse_other_methods(admin_client):
    assert admin_client.post(reverse("settings:tags")).status_code == 405
    assert admin_client.get(reverse("settings:tag_delete", args=[1])).status_code == 405


# --- workspace -------------------------------------------------------------------------------


def test_admin_changes_the_workspace_in_place(admin_client, workspace):
    data = {"name": "Acme S.A.", "time_zone": "America/Manaus", "currency": "USD", "locale": "en"}
    r = admin_client.post(reverse("settings:workspace"), data, **HTMX)
    assert r.status_code == 200
    assert 'id="settings-section"' in r.content.decode()
    assert "<html" not in r.content.decode()
    workspace.refresh_from_db()
    assert (workspace.name, workspace.time_zone, workspace.currency, workspace.locale) == (
        "Acme S.A.",
        "America/Manaus",
        "USD",
        "en",
    )
    [event] = Event.objects.for_workspace(workspace).filter(type="workspace.updated")
    assert event.payload["changes"]["currency"] == ["BRL", "USD"]


def test_a_plain_post_is_redirected_back_to_the_section(admin_client, workspace):
    data = {"name": "Acme 2", "time_zone": "UTC", "currency": "BRL", "locale": "pt-br"}
    r = admin_client.post(reverse("settings:workspace"), data)
    assert r.status_code == 302
    assert r.url == reverse("settings:workspace")


def test_workspace_errors_come_back_next_to_their_fields(admin_client, workspace):
    data = {"name": "  ", "time_zone": "Mars/Olympus", "currency": "XXX", "locale": "fr"}
    r = admin_client.post(reverse("settings:workspace"), data, **HTMX)
    assert r.status_code == 422
    html = r.content.decode()
    for field in ("name", "time_zone", "currency", "locale"):
        assert _field_error(html, field), field
        tag = re.search(rf'<(?:input|select)[^>]*id="id_{field}"[^>]*>', html).group(0)
        assert 'aria-invalid="true"' in tag, field
        assert f"id_{field}_error" in tag, field
    workspace.refresh_from_db()
    assert workspace.name == "Acme Ltda"
    assert _events(workspace, "workspace.updated") == 0


# --- tags ------------------------------------------------------------------------------------


def test_tags_are_created_edited_deleted_and_restored(admin_client, workspace):
    r = admin_client.post(reverse("settings:tag_new"), {"name": "VIP", "color": "red"}, **HTMX)
    assert r.status_code == 200
    tag = Tag.objects.for_workspace(workspace).get()
    assert f'id="tag-{tag.pk}"' in r.content.decode()
    assert "badge-red" in r.content.decode()

    form = admin_client.get(reverse("settings:tags") + f"?edit={tag.pk}", **HTMX)
    assert 'value="VIP"' in form.content.decode()
    assert reverse("settings:tag_edit", args=[tag.pk]) in form.content.decode()

    r = admin_client.post(
        reverse("settings:tag_edit", args=[tag.pk]),
        {"name": "Key account", "color": "blue"},
        **HTMX,
    )
    assert r.status_code == 200
    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("Key account", "blue")

    r = admin_client.post(reverse("settings:tag_delete", args=[tag.pk]), **HTMX)
    assert r.status_code == 200
    tag.refresh_from_db()
    assert tag.deleted_at is not None
    deleted = admin_client.get(reverse("settings:tags") + "?deleted=1").content.decode()
    assert "Key account" in deleted
    admin_client.post(reverse("settings:tag_restore", args=[tag.pk]) + "?deleted=1", **HTMX)
    tag.refresh_from_db()
    assert tag.deleted_at is None
    assert [
        e.type for e in Event.objects.for_workspace(workspace).filter(type__startswith="tag.")
    ] == ["tag.created", "tag.updated", "tag.deleted", "tag.restored"]


def test_a_duplicate_tag_name_is_refused_next_to_the_name(admin_client, workspace, admin):
    tag_create(workspace=workspace, actor=admin, name="VIP")
    r = admin_client.post(reverse("settings:tag_new"), {"name": "vip", "color": "gray"}, **HTMX)
    assert r.status_code == 422
    assert _field_error(r.content.decode(), "name")
    assert Tag.objects.for_workspace(workspace).count() == 1


def test_an_empty_tag_name_and_an_unknown_colour_are_both_reported(admin_client, workspace):
    r = admin_client.post(reverse("settings:tag_new"), {"name": "", "color": "plaid"}, **HTMX)
    assert r.status_code == 422
    html = r.content.decode()
    assert _field_error(html, "name")
    assert _field_error(html, "color")
    assert not Tag.objects.for_workspace(workspace).exists()


def test_managers_manage_tags(as_user, make_member, workspace):
    client = as_user(make_member("boss@acme.test", Role.MANAGER))
    r = client.post(reverse("settings:tag_new"), {"name": "Partner", "color": "teal"}, **HTMX)
    assert r.status_code == 200
    assert Tag.objects.for_workspace(workspace).filter(name="Partner").exists()


def test_another_workspaces_tag_answers_404(admin_client, other_workspace, other_admin):
    foreign = tag_create(workspace=other_workspace, actor=other_admin, name="Theirs")
    for url in (
        reverse("settings:tag_edit", args=[foreign.pk]),
        reverse("settings:tag_delete", args=[foreign.pk]),
        reverse("settings:tag_restore", args=[foreign.pk]),
    ):
        assert admin_client.post(url, {"name": "Mine", "color": "red"}, **HTMX).status_code == 404
    assert admin_client.get(reverse("settings:tags") + f"?edit={foreign.pk}").status_code == 404
    foreign.refresh_from_db()
    assert foreign.name == "Theirs"
    assert foreign.deleted_at is None


def test_tag_list_queries_do_not_grow(
    admin_client, workspace, admin, django_assert_max_num_queries
):
    for i in range(40):
        tag_create(workspace=workspace, actor=admin, name=f"Tag {i}")
    tag_delete(
        workspace=workspace, actor=admin, tag_id=Tag.objects.for_workspace(workspace).first().pk
    )
    with django_assert_max_num_queries(12):
        r = admin_client.get(reverse("settings:tags"))
    assert r.content.decode().count('id="tag-') == 39
    with django_assert_max_num_queries(8):
        admin_client.get(reverse("settings:tags"), **HTMX)


def test_the_tag_list_pages_on(admin_client, workspace, admin):
    for i in range(105):
        Tag.objects.for_workspace(workspace).create(workspace=workspace, name=f"T{i:03}")
    first = admin_client.get(reverse("settings:tags")).content.decode()
    assert first.count('id="tag-') == 100
    cursor = re.search(r'href="\?after=([^"&]+)', first).group(1)
    second = admin_client.get(reverse("settings:tags") + f"?after={cursor}").content.decode()
    assert second.count('id="tag-') == 5


# --- custom fields ---------------------------------------------------------------------------


def test_custom_fields_are_created_edited_deleted_and_restored(admin_client, workspace):
    data = {
        "object_type": "contact",
        "label": "T-shirt size",
        "key": "tshirt_size",
        "field_type": "choice",
        "choices": "S\nM\n\nL\n",
        "required": "on",
    }
    r = admin_client.post(reverse("settings:custom_field_new"), data, **HTMX)
    assert r.status_code == 200
    field = CustomFieldDefinition.objects.for_workspace(workspace).get()
    assert (field.key, field.choices, field.required) == ("tshirt_size", ["S", "M", "L"], True)
    assert f'id="field-{field.pk}"' in r.content.decode()

    r = admin_client.post(
        reverse("settings:custom_field_edit", args=[field.pk]),
        {"label": "Size", "choices": "S\nM\nL\nXL"},
        **HTMX,
    )
    assert r.status_code == 200
    field.refresh_from_db()
    assert (field.label, field.choices, field.required) == ("Size", ["S", "M", "L", "XL"], False)

    admin_client.post(reverse("settings:custom_field_delete", args=[field.pk]), **HTMX)
    field.refresh_from_db()
    assert field.deleted_at is not None
    admin_client.post(reverse("settings:custom_field_restore", args=[field.pk]), **HTMX)
    field.refresh_from_db()
    assert field.deleted_at is None


def test_custom_field_errors_are_shown_next_to_each_field(admin_client, workspace, admin):
    customfield_create(
        workspace=workspace,
        actor=admin,
        object_type="contact",
        key="size",
        label="Size",
        field_type="text",
    )
    data = {
        "object_type": "contact",
        "label": "",
        "key": "size",
        "field_type": "choice",
        "choices": "",
    }
    r = admin_client.post(reverse("settings:custom_field_new"), data, **HTMX)
    assert r.status_code == 422
    html = r.content.decode()
    assert _field_error(html, "label")
    # The label is checked by the form; the service then reports the key and the choices.
    data["label"] = "Size again"
    r = admin_client.post(reverse("settings:custom_field_new"), data, **HTMX)
    html = r.content.decode()
    assert r.status_code == 422
    assert _field_error(html, "key")
    assert _field_error(html, "choices")
    assert CustomFieldDefinition.objects.for_workspace(workspace).count() == 1
    assert _events(workspace, "custom_field.created") == 1


def test_a_malformed_key_is_explained(admin_client, workspace):
    data = {"object_type": "account", "label": "Nº", "key": "1-bad", "field_type": "text"}
    r = admin_client.post(reverse("settings:custom_field_new"), data, **HTMX)
    assert r.status_code == 422
    assert _field_error(r.content.decode(), "key") == str(CUSTOMFIELD_MESSAGES[("key", "invalid")])


def test_another_workspaces_custom_field_answers_404(admin_client, other_workspace, other_admin):
    foreign = customfield_create(
        workspace=other_workspace,
        actor=other_admin,
        object_type="contact",
        key="x",
        label="X",
        field_type="text",
    )
    for name in ("custom_field_edit", "custom_field_delete", "custom_field_restore"):
        r = admin_client.post(reverse(f"settings:{name}", args=[foreign.pk]), {"label": "Y"})
        assert r.status_code == 404, name
    r = admin_client.get(reverse("settings:custom_fields") + f"?edit={foreign.pk}")
    assert r.status_code == 404
    foreign.refresh_from_db()
    assert foreign.label == "X"


def test_custom_field_list_queries_do_not_grow(
    admin_client, workspace, admin, django_assert_max_num_queries
):
    for i in range(30):
        customfield_create(
            workspace=workspace,
            actor=admin,
            object_type="contact" if i % 2 else "account",
            key=f"f{i}",
            label=f"Field {i}",
            field_type="choice",
            choices=["a", "b"],
        )
    with django_assert_max_num_queries(12):
        r = admin_client.get(reverse("settings:custom_fields"))
    assert r.content.decode().count('id="field-') == 30
