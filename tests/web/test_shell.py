"""The app shell: navigation without dead links, the workspace switcher, preferences, the
language switch, locale formats and the error pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation

from vinculo.core.middleware import SESSION_KEY
from vinculo.core.models import User
from vinculo.core.roles import Role
from vinculo.core.services import membership_add, workspace_create
from vinculo.web import shell
from vinculo.web.selectors import Count, WorkspaceOverview

SRC = Path(__file__).resolve().parents[2] / "src" / "vinculo"


def nav_links(html: str) -> list[str]:
    nav = html.split('class="nav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'href="([^"]+)"', nav)


def content(html: str) -> str:
    return html.split('id="content"', 1)[1]


# --- navigation -----------------------------------------------------------------------------


def test_every_sidebar_link_opens_a_page(admin_client):
    links = nav_links(admin_client.get("/").content.decode())
    assert links[0] == "/"
    for url in links:
        assert admin_client.get(url, follow=True).status_code == 200, url


def test_entries_whose_page_does_not_exist_are_left_out(admin_client, monkeypatch):
    monkeypatch.setattr(
        shell, "NAV_ENTRIES", [*shell.NAV_ENTRIES, ("nowhere:index", "Nowhere", None)]
    )
    html = admin_client.get("/").content.decode()
    assert "Nowhere" not in html


def test_entries_follow_the_role(logged_in, make_member, monkeypatch):
    monkeypatch.setattr(
        shell, "NAV_ENTRIES", [("home", "Home", None), ("web:search", "Config", "settings")]
    )
    admin_html = logged_in(make_member("boss@acme.test", Role.ADMIN)).get("/").content.decode()
    assert "Config" in admin_html
    seller_html = logged_in(make_member("sell@acme.test", Role.SALES)).get("/").content.decode()
    assert "Config" not in seller_html


def test_the_current_page_is_marked(admin_client):
    html = admin_client.get("/").content.decode()
    assert re.search(r'<a href="/" aria-current="page">', html)
    html = admin_client.get("/search").content.decode()
    assert 'aria-current="page"' not in html.split("</nav>")[0]


def test_sidebar_entries_have_icons(admin_client):
    nav = admin_client.get("/").content.decode().split('class="nav"', 1)[1].split("</nav>")[0]
    assert nav.count('<svg class="icon"') == len(nav_links('class="nav"' + nav))


def test_pages_carry_no_inline_script_or_style(admin_client, contact_factory):
    contact_factory(first_name="José")
    for url in ("/", "/search?q=jose", "/preferences", "/no-such-page"):
        html = admin_client.get(url).content.decode()
        assert " style=" not in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert " hx-on" not in html and "onclick" not in html, url


# --- workspaces -------------------------------------------------------------------------------


@pytest.fixture
def two_workspaces(workspace, admin):
    second = workspace_create(name="Beta Comércio", slug="beta", admin_email="boss@beta.test")
    membership_add(workspace=second, user=admin, role=Role.SALES)
    return workspace, second


def test_switcher_appears_only_for_users_in_several_workspaces(
    logged_in, admin, make_member, two_workspaces
):
    html = logged_in(admin).get("/").content.decode()
    assert 'id="workspace-switcher"' in html
    assert "Beta Comércio" in html and "Acme Ltda" in html
    single = make_member("single@acme.test")
    assert 'id="workspace-switcher"' not in logged_in(single).get("/").content.decode()


def test_switching_to_an_own_workspace(admin_client, two_workspaces):
    _first, second = two_workspaces
    response = admin_client.post("/workspace/switch", {"workspace": second.pk})
    assert response.status_code == 302 and response["Location"] == "/"
    assert admin_client.session[SESSION_KEY] == second.pk
    html = admin_client.get("/").content.decode()
    assert "Beta Comércio · Vendas" in html  # the role there is shown in the user menu


@pytest.mark.parametrize("value", ["other", "", "99999999", "-1", "9" * 40])
def test_switching_to_anything_else_is_refused(admin_client, workspace, other_workspace, value):
    wanted = str(other_workspace.pk) if value == "other" else value
    admin_client.get("/")
    response = admin_client.post("/workspace/switch", {"workspace": wanted}, follow=True)
    assert admin_client.session[SESSION_KEY] == workspace.pk
    assert "Você não participa desse espaço de trabalho." in response.content.decode()
    assert "Globex" not in response.content.decode()


def test_switch_needs_post_and_login(client, admin_client):
    assert admin_client.get("/workspace/switch").status_code == 405
    assert client.post("/workspace/switch", {"workspace": "1"}).status_code == 302


# --- preferences and languages ------------------------------------------------------------------


def test_switch_to_english_and_back(admin_client, admin):
    html = admin_client.get("/").content.decode()
    assert "Início</a>" in html and 'lang="pt-br"' in html
    response = admin_client.post(
        "/preferences", {"language": "en", "time_zone": "America/Sao_Paulo", "next": "/search"}
    )
    assert response.status_code == 302 and response["Location"] == "/search"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    admin.refresh_from_db()
    assert admin.language == "en"
    html = admin_client.get("/").content.decode()
    assert 'lang="en"' in html and "Home</a>" in html and "Log out" in html
    admin_client.post("/preferences", {"language": "pt-br"})
    html = admin_client.get("/").content.decode()
    assert 'lang="pt-br"' in html and "Sair" in html


def test_time_zone_preference(admin_client, admin):
    response = admin_client.post("/preferences", {"time_zone": "America/Manaus"})
    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.time_zone == "America/Manaus"
    assert admin.language == ""  # only what was sent changes
    html = admin_client.get("/").content.decode()
    assert '<option value="America/Manaus" selected>' in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"language": "klingon"}, "language", "“klingon” não é um idioma que o Vínculo fala"),
        ({"language": ""}, "language", "Escolha um idioma."),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "“Mars/Olympus” não é um fuso horário"),
    ],
)
def test_bad_preferences_come_back_with_the_error_next_to_the_field(
    admin_client, admin, data, field, message
):
    response = admin_client.post("/preferences", {**data, "next": "/search"})
    assert response.status_code == 422
    html = response.content.decode()
    error = re.search(rf'<p class="error" id="id_{field}-error">([^<]+)</p>', html)
    assert error and message in error.group(1)
    admin.refresh_from_db()
    assert (admin.language, admin.time_zone) == ("", "")


def test_bad_preferences_in_english(admin_client, admin):
    admin.language = "en"
    admin.save()
    response = admin_client.post("/preferences", {"time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    assert "is not a time zone we know" in response.content.decode()
    admin.refresh_from_db()
    assert admin.time_zone == ""


def test_preferences_page_offers_every_time_zone(admin_client):
    html = admin_client.get("/preferences?next=/search").content.decode()
    assert 'value="Asia/Tokyo"' in html and 'value="/search"' in html
    # The user menu on every page keeps to a short list.
    assert 'value="Asia/Tokyo"' not in admin_client.get("/").content.decode()


def test_preferences_never_redirect_off_site(admin_client):
    response = admin_client.post(
        "/preferences", {"language": "en", "next": "https://evil.example.com/"}
    )
    assert response["Location"] == "/"


def test_entrance_pages_have_a_language_switch(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert 'value="en"' in html and 'action="/i18n/setlang/"' in html
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "/accounts/login/"}, follow=True
    )
    html = response.content.decode()
    assert 'lang="en"' in html and "Português" in html


# --- locale formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "number", "heading"),
    [("pt-br", "1.234.567", "Contatos"), ("en", "1,234,567", "Contacts")],
)
def test_numbers_follow_the_language(
    admin_client, admin, workspace, monkeypatch, language, number, heading
):
    admin.language = language
    admin.save()

    def overview(**_kwargs):
        return WorkspaceOverview(
            contacts=Count(1234567),
            accounts=Count(89012),
            open_tasks=Count(3),
            now=workspace.created_at,
        )

    monkeypatch.setattr("vinculo.web.views.workspace_overview", overview)
    html = admin_client.get("/").content.decode()
    assert f'<span class="value">{number}</span>' in html
    assert heading in html


def test_dates_follow_the_language(workspace):
    import datetime as dt

    day = dt.date(2026, 3, 5)
    template = "{% load i18n %}{{ day|date:'DATE_FORMAT' }}|{{ day|date:'SHORT_DATE_FORMAT' }}"
    from django.template import engines

    engine = engines["django"]
    with translation.override("pt-br"):
        assert engine.from_string(template).render({"day": day}) == "5 de março de 2026|05/03/2026"
    with translation.override("en"):
        assert engine.from_string(template).render({"day": day}) == "March 5, 2026|03/05/2026"


# --- home -----------------------------------------------------------------------------------------


def test_home_counts_what_the_viewer_may_see(logged_in, make_member, contact_factory):
    seller = make_member("seller@acme.test", Role.SALES)
    stranger = make_member("stranger@acme.test", Role.SALES)
    contact_factory(owner_id=seller.pk)
    contact_factory(owner_id=None)
    contact_factory(owner_id=stranger.pk)
    html = logged_in(seller).get("/").content.decode()
    assert re.search(r"Contatos</span>\s*<span class=\"value\">2</span>", html)


def test_home_counts_stop_at_the_cap(admin_client, contact_factory, monkeypatch):
    monkeypatch.setattr("vinculo.web.selectors.COUNT_CAP", 2)
    for _ in range(3):
        contact_factory()
    html = admin_client.get("/").content.decode()
    assert re.search(r"Contatos</span>\s*<span class=\"value\">2\+</span>", html)
    assert re.search(r"Empresas</span>\s*<span class=\"value\">0</span>", html)


def test_home_lists_the_next_tasks(admin_client, admin, workspace, django_assert_max_num_queries):
    import datetime as dt

    from django.utils import timezone

    from vinculo.timeline.services import task_create

    for n in range(7):
        task_create(
            workspace=workspace,
            actor=admin,
            title=f"Call back {n}",
            assignee_id=admin.pk,
            due_at=timezone.now() + dt.timedelta(days=n - 1, hours=1),
        )
    with django_assert_max_num_queries(14):
        html = admin_client.get("/").content.decode()
    assert "Call back 0" in html and "Call back 4" in html and "Call back 5" not in html
    assert html.count('class="due overdue"') == 1
    assert "Suas próximas tarefas" in html


def test_home_without_a_workspace(client, db):
    loner = User.objects.create_user(email="loner@example.com", password="x" * 12)
    client.force_login(loner)
    html = client.get("/").content.decode()
    assert "Você ainda não participa de nenhum espaço de trabalho" in html
    assert 'id="global-search"' not in html


# --- error pages ----------------------------------------------------------------------------------


def test_404_in_the_shell(admin_client):
    response = admin_client.get("/no-such-page")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Página não encontrada" in html
    assert 'class="sidebar"' in html and 'id="global-search"' in html


def test_404_for_visitors_in_the_entrance_look(client: Client, db):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Página não encontrada" in html and 'class="entrance"' in html
    assert 'class="sidebar"' not in html


def test_500_page_stands_alone():
    # Django renders it with an empty context: no request, no user, no database.
    with translation.override("en"):
        html = render_to_string("500.html")
    assert "Something went wrong" in html and "<script" not in html
    with translation.override("pt-br"):
        assert "Algo deu errado" in render_to_string("500.html")


# --- translations -------------------------------------------------------------------------------


def _po_entries(text: str) -> list[tuple[str, list[str], bool]]:
    """(msgid, msgstrs, fuzzy) of each entry of a .po file, continuation lines joined."""
    entries = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        current = ""
        for line in block.splitlines():
            if line.startswith(("msgid", "msgstr")):
                current, _, value = line.partition(" ")
                fields[current] = value.strip('"')
            elif line.startswith('"') and current:
                fields[current] += line.strip('"')
        if fields.get("msgid"):
            strs = [v for k, v in fields.items() if k.startswith("msgstr")]
            entries.append((fields["msgid"], strs, "#, fuzzy" in block))
    return entries


def test_the_shell_catalogue_is_complete():
    """Every string of the shell has a Brazilian Portuguese translation, none fuzzy, compiled."""
    folder = SRC / "web" / "locale" / "pt_BR" / "LC_MESSAGES"
    entries = _po_entries((folder / "django.po").read_text())
    assert len(entries) > 40
    assert [msgid for msgid, strs, _ in entries if not all(strs)] == []
    assert [msgid for msgid, _, fuzzy in entries if fuzzy] == []
    assert (folder / "django.mo").stat().st_mtime >= (folder / "django.po").stat().st_mtime - 5


def test_a_page_under_an_entrys_path_but_of_another_module_is_not_marked(rf, admin, workspace):
    from django.urls import resolve

    entries = [("home", "Home", None), ("web:search", "Search", None)]
    for path, active in [
        ("/search", ["Search"]),
        ("/search/suggest", ["Search"]),
        ("/", ["Home"]),
        ("/preferences", []),
    ]:
        request = rf.get(path)
        request.resolver_match = resolve(path)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(shell, "NAV_ENTRIES", entries)
            items = shell._nav(request, admin, workspace)
        assert [i.label for i in items if i.active] == active, path
    # The two-factor pages live under /accounts/ like the Accounts module, but are allauth's.
    request = rf.get("/accounts/2fa/")
    request.resolver_match = resolve("/accounts/2fa/")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(shell, "NAV_ENTRIES", [("web:search", "Search", None)])
        mp.setattr(shell, "reverse", lambda name: "/accounts/")
        assert [i.active for i in shell._nav(request, admin, workspace)] == [False]


@pytest.mark.parametrize(
    ("path", "current"),
    [("/contacts/", "Contatos"), ("/accounts/", "Empresas"), ("/accounts/2fa/", None)],
)
def test_the_module_being_viewed_is_current(admin_client, path, current):
    html = admin_client.get(path).content.decode()
    marked = re.findall(r'aria-current="page">\s*<svg.*?</svg>\s*([^<]+)</a>', html, re.S)
    assert marked == ([current] if current else [])


def test_an_unexpected_error_shows_the_500_page(admin_client, monkeypatch):
    def broken(**_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("vinculo.web.views.workspace_overview", broken)
    admin_client.raise_request_exception = False
    response = admin_client.get("/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Algo deu errado" in html and "boom" not in html
