"""The deals pages in a real browser: drag a card to another stage (and a column's figures
follow), drop one on Lost (the reason dialog, cancelled then given), move one with the
keyboard, a deal's page (a fact in place, a product, lost from the dialog), and screenshots of
the board (desktop, phone, a drag in progress), the list, a deal, the pipeline settings and the
products in both languages, with axe-core on each."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.services import account_create, contact_create
from vinculo.core.models import User
from vinculo.core.services import membership_add, workspace_create
from vinculo.core.tenancy import workspace_scope
from vinculo.sales.deals import services
from vinculo.sales.models import Deal, DealStatus, Stage

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
COMPANIES = (
    "Laticínios Serra Azul",
    "Transportes Rio Claro",
    "Clínica Bem Viver",
    "Construtora Horizonte",
    "Padaria Pão Dourado",
    "Metalúrgica Vale Verde",
)
DEALS = (
    ("Renovação da frota", 0, "48000", "new"),
    ("Sistema de estoque", 1, "12500", "new"),
    ("Licenças ERP 50 usuários", 2, "89000", "new"),
    ("Consultoria tributária", 3, "7200", "qualified"),
    ("Treinamento de equipe", 4, "3600", "qualified"),
    ("Expansão filial Recife", 5, "156000", "proposal"),
    ("Suporte anual", 0, "18000", "proposal"),
    ("Implantação CRM", 1, "42000", "negotiation"),
    ("Contrato de manutenção", 2, "26400", "won"),
    ("Upgrade de servidores", 3, "31000", "lost"),
)


@pytest.fixture
def sales(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    bruno = User.objects.create_user(email="bruno@acme.example.com", full_name="Bruno Lima")
    membership_add(workspace=workspace, user=bruno, role="sales")
    with workspace_scope(workspace):
        accounts = [
            account_create(workspace=workspace, actor=user, data={"name": n}) for n in COMPANIES
        ]
        contact = contact_create(
            workspace=workspace,
            actor=user,
            data={"first_name": "Heloísa", "last_name": "Viana", "account_id": accounts[0].pk},
        )
        pipeline = services.pipeline_default(workspace)
        stages = {
            key: stage
            for key, stage in zip(
                ["new", "qualified", "proposal", "negotiation", "won", "lost"],
                Stage.objects.filter(pipeline=pipeline).order_by("position"),
                strict=True,
            )
        }
        for reason in ("Preço", "Concorrente", "Sem orçamento"):
            services.lost_reason_create(workspace=workspace, actor=user, name=reason)
        today = dt.date.today()
        deals = {}
        for i, (name, company, amount, stage) in enumerate(DEALS):
            data = {
                "name": name,
                "account_id": accounts[company].pk,
                "amount": amount,
                "owner_id": (user if i % 2 else bruno).pk,
                "expected_close_date": (today + dt.timedelta(days=20 * i - 15)).isoformat(),
                "stage_id": stages[stage].pk,
            }
            if stage == "lost":
                data["lost_reason"] = "Preço"
            if i == 0:
                data["contact_id"] = contact.pk
            deals[name] = services.deal_create(workspace=workspace, actor=user, data=data)
        # Some history for the deal page.
        first = deals["Renovação da frota"]
        for stage in ("qualified", "new"):
            services.deal_move(
                workspace=workspace, actor=bruno, deal_id=first.pk, stage_id=stages[stage].pk
            )
        for name, code, price in (
            ("Licença mensal", "LIC-M", "89.90"),
            ("Implantação", "IMP", "2500"),
        ):
            services.product_create(
                workspace=workspace,
                actor=user,
                data={"name": name, "code": code, "unit_price": price, "tax_rate": "5"},
            )
    return {"workspace": workspace, "user": user, "stages": stages, "deals": deals}


def _settle(page) -> None:
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")


def _english(page) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base_url}])


def _portuguese(page) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "pt-br", "url": page.base_url}])


def _accept_422(page) -> None:
    page.problems[:] = [p for p in page.problems if "status of 422" not in p]


def _no_serious_violations(page) -> None:
    violations = axe_violations(page)
    assert violations == [], violations


def _card(page, name: str):
    return page.locator(".deal-card", has_text=name)


def _column(page, stage: Stage):
    return page.locator(f'[data-column-cards][data-stage-id="{stage.pk}"]')


def _drag(page, source, target, *, hold=None) -> None:
    """Drag with the mouse the way a person does (SortableJS listens to real pointer and drag
    events); `hold` runs while the card is in the air."""
    box = source.bounding_box()
    goal = target.bounding_box()
    x, y = goal["x"] + goal["width"] / 2, goal["y"] + 40
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 12)
    page.mouse.down()
    # SortableJS starts the drag on the next tick after the pointer has moved a little.
    page.mouse.move(box["x"] + box["width"] / 2 + 10, box["y"] + 30, steps=5)
    page.wait_for_timeout(100)
    page.mouse.move(x, y, steps=15)
    page.mouse.move(x + 2, y + 2, steps=2)
    page.wait_for_timeout(150)
    if hold is not None:
        hold()
    page.mouse.up()


def test_drag_cards_between_stages_and_lose_one_with_a_reason(page, sales):
    # Wide enough for the whole pipeline at once: a drag is from one visible column to another.
    page.set_viewport_size({"width": 1920, "height": 1000})
    _english(page)
    log_in(page, sales["user"].email, PASSWORD)
    stages = sales["stages"]
    page.goto(page.base_url + "/deals/")
    expect(page.get_by_role("heading", name="Deals", exact=True)).to_be_visible()
    expect(_column(page, stages["new"]).locator(".deal-card")).to_have_count(3)

    # Drag "Sistema de estoque" from New to Qualified.
    card = _card(page, "Sistema de estoque")
    with page.expect_response(lambda r: "/move" in r.url and r.status == 200):
        _drag(page, card, _column(page, stages["qualified"]))
    expect(_column(page, stages["qualified"]).locator(".deal-card")).to_have_count(3)
    deal = Deal.all_tenants.get(name="Sistema de estoque")
    assert deal.stage_id == stages["qualified"].pk
    head = page.locator(f'[data-column-head="{stages["qualified"].pk}"]')
    expect(head.locator("[data-count]")).to_have_text("3 deals")
    expect(page.locator(f'[data-column-head="{stages["new"].pk}"] [data-count]')).to_have_text(
        "2 deals"
    )

    # Dropped on Lost: the reason is asked first; cancelling puts the card back.
    card = _card(page, "Treinamento de equipe")
    _drag(page, card, _column(page, stages["lost"]))
    dialog = page.locator("#lost-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(
        _column(page, stages["qualified"]).locator(".deal-card", has_text="Treinamento")
    ).to_have_count(1)
    assert Deal.all_tenants.get(name="Treinamento de equipe").status == DealStatus.OPEN

    _drag(page, _card(page, "Treinamento de equipe"), _column(page, stages["lost"]))
    expect(dialog).to_be_visible()
    # A common reason fills the field; Enter confirms.
    dialog.get_by_role("button", name="Concorrente").click()
    expect(dialog.get_by_label("Lost reason")).to_have_value("Concorrente")
    with page.expect_response(lambda r: "/move" in r.url and r.status == 200):
        page.keyboard.press("Enter")
    expect(
        _column(page, stages["lost"]).locator(".deal-card", has_text="Treinamento")
    ).to_have_count(1)
    lost = Deal.all_tenants.get(name="Treinamento de equipe")
    assert (lost.status, lost.lost_reason) == (DealStatus.LOST, "Concorrente")

    # With the keyboard: the card's Move menu.
    card = _card(page, "Consultoria tributária")
    card.locator("summary").focus()
    page.keyboard.press("Enter")
    card.get_by_label("Stage").select_option(str(stages["negotiation"].pk))
    with page.expect_response(lambda r: "/move" in r.url and r.status == 200):
        card.get_by_role("button", name="Move", exact=True).click()
    expect(
        _column(page, stages["negotiation"]).locator(".deal-card", has_text="Consultoria")
    ).to_have_count(1)
    assert Deal.all_tenants.get(name="Consultoria tributária").stage_id == stages["negotiation"].pk
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "deals-board-en")

    # A drag in progress, for the record.
    _drag(
        page,
        _card(page, "Licenças ERP 50 usuários"),
        _column(page, stages["proposal"]),
        hold=lambda: screenshot(page, "deals-board-dragging-en"),
    )


def test_board_in_portuguese_and_on_a_phone(page, sales):
    _portuguese(page)
    log_in(page, sales["user"].email, PASSWORD)
    page.goto(page.base_url + "/deals/")
    expect(page.locator(".deal-card")).to_have_count(len(DEALS))
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "deals-board-pt-br")
    page.set_viewport_size({"width": 390, "height": 844})
    _settle(page)
    screenshot(page, "deals-board-phone-pt-br")
    page.set_viewport_size({"width": 1280, "height": 860})
    # Filters: one owner, then words.
    page.locator("#board-owner").select_option(str(sales["user"].pk))
    expect(page.locator(".deal-card")).to_have_count(5)
    page.locator("#board-owner").select_option("")
    page.locator("#board-q").fill("serra azul")
    expect(page.locator(".deal-card")).to_have_count(2)
    assert "q=serra+azul" in page.url


def test_a_deal_page(page, sales):
    _english(page)
    log_in(page, sales["user"].email, PASSWORD)
    deal = sales["deals"]["Renovação da frota"]
    page.goto(page.base_url + f"/deals/{deal.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Renovação da frota")
    expect(page.locator("#deal-history tbody tr")).to_have_count(3)
    # A fact in place.
    page.locator("#fact-expected_close_date .inline-edit").click()
    page.locator("#fact-expected_close_date input[type=date]").fill("2026-12-15")
    page.locator("#fact-expected_close_date").get_by_role("button", name="Save").click()
    expect(page.locator("#fact-expected_close_date")).to_contain_text("12/15/2026")
    # A product: the amount becomes the lines' total.
    page.locator("#line-product").select_option(label="Implantação")
    page.locator("#line-quantity").fill("2")
    page.get_by_role("button", name="Add to the deal").click()
    expect(page.locator("#deal-lines tbody tr")).to_have_count(1)
    expect(page.locator(".deal-amount")).to_have_text("R$ 5,000.00")
    expect(page.locator("#fact-amount")).to_contain_text("R$ 5,000.00")
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "deal-detail-en")
    # Lost, from the dialog: a reason is required.
    page.get_by_role("link", name="Mark as lost").click()
    dialog = page.locator("#deal-lost-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Sem orçamento").click()
    dialog.get_by_role("button", name="Mark as lost").click()
    expect(page.locator(".record-meta .badge")).to_have_text("Lost")
    assert Deal.all_tenants.get(pk=deal.pk).lost_reason == "Sem orçamento"
    _portuguese(page)
    page.goto(page.base_url + f"/deals/{deal.pk}/")
    _settle(page)
    screenshot(page, "deal-detail-pt-br")
    page.set_viewport_size({"width": 390, "height": 844})
    _settle(page)
    screenshot(page, "deal-detail-phone-pt-br")


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_list_settings_and_products(page, sales, language):
    page.context.add_cookies([{"name": "django_language", "value": language, "url": page.base_url}])
    log_in(page, sales["user"].email, PASSWORD)
    shots = {
        "deals-list": "/deals/list/",
        "deal-new": "/deals/new",
        "pipeline-settings": f"/deals/pipelines/{sales['stages']['new'].pipeline_id}/",
        "pipelines": "/deals/pipelines/",
        "lost-reasons": "/deals/lost-reasons/",
        "products": "/products/",
        "price-lists": "/price-lists/",
    }
    for name, url in shots.items():
        page.goto(page.base_url + url)
        _settle(page)
        _no_serious_violations(page)
        screenshot(page, f"{name}-{language}")
    if language == "en":
        # The new-deal form names the fields to fix.
        page.goto(page.base_url + "/deals/new")
        page.get_by_role("button", name="Create deal").click()
        expect(page.locator("#deal-name_error")).to_be_visible()
        _accept_422(page)
        screenshot(page, "deal-new-errors-en")
        page.get_by_label("Name", exact=True).fill("Parceria regional")
        page.get_by_role("combobox", name="Account", exact=True).fill("clínica")
        page.get_by_role("option", name="Clínica Bem Viver").click()
        page.get_by_role("button", name="Create deal").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Parceria regional")
        assert Deal.all_tenants.get(name="Parceria regional").account.name == "Clínica Bem Viver"


def test_a_contacts_page_lists_their_deals_and_starts_a_new_one(page, sales):
    _english(page)
    log_in(page, sales["user"].email, PASSWORD)
    deal = sales["deals"]["Renovação da frota"]
    page.goto(page.base_url + f"/contacts/{deal.contact_id}/")
    section = page.locator("#record-deals")
    expect(section.get_by_role("link", name="Renovação da frota")).to_be_visible()
    expect(section).to_contain_text("1 deal open")
    _settle(page)
    screenshot(page, "contact-deals-en")
    section.get_by_role("link", name="New deal").click()
    expect(page.get_by_role("heading", name="New deal")).to_be_visible()
    expect(page.get_by_role("combobox", name="Contact", exact=True)).to_have_value("Heloísa Viana")
    expect(page.get_by_role("combobox", name="Account", exact=True)).to_have_value(
        "Laticínios Serra Azul"
    )
