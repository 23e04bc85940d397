"""The scoring pages in a real browser: the rules page (both languages, a phone), a fit rule
written with the condition rows (first with a mistake), "recompute now", and a lead's score
panel with its reasons and prediction; axe-core on each. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.core.models import User
from vinculo.core.services import workspace_create
from vinculo.core.tenancy import workspace_scope
from vinculo.sales.models import Lead, LeadEngagement, ScoringRule
from vinculo.sales.scoring import services

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
BRAZIL = {"all": [{"field": "country", "op": "eq", "value": "BR"}]}


@pytest.fixture
def crm(transactional_db, pipeline_for):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    with workspace_scope(workspace):
        ScoringRule.objects.create(
            workspace=workspace, name="País é Brasil", kind="fit", points=10, conditions=BRAZIL
        )
        ScoringRule.objects.create(
            workspace=workspace,
            name="Empresa grande",
            kind="fit",
            points=15,
            conditions={
                "all": [{"field": "company_size", "op": "in", "value": ["201-1000", "1001+"]}]
            },
        )
        ScoringRule.objects.create(
            workspace=workspace,
            name="E-mail gratuito",
            kind="fit",
            points=-5,
            conditions={"all": [{"field": "email", "op": "contains", "value": "gmail"}]},
        )
        form = ScoringRule.objects.create(
            workspace=workspace,
            name="Formulário enviado",
            kind="engagement",
            event_type="webform.submitted",
            points=8,
        )
        close = pipeline_for(workspace)
        for i in range(25):
            close(
                Lead.objects.create(
                    workspace=workspace,
                    first_name=f"Ganho{i}",
                    source="Indicação",
                    job_title="Diretora",
                    company_size="201-1000",
                    email=f"g{i}@empresa.com.br",
                ),
                "won",
            )
            close(
                Lead.objects.create(
                    workspace=workspace,
                    first_name=f"Perdido{i}",
                    source="Google Ads",
                    email=f"p{i}@gmail.com",
                ),
                "lost" if i % 2 else "disqualified",
            )
        lead = Lead.objects.create(
            workspace=workspace,
            first_name="Heloísa",
            last_name="Viana",
            email="helo@viana.com.br",
            country="BR",
            company_size="201-1000",
            source="Indicação",
            job_title="Diretora Comercial",
            phone="+5511988887777",
        )
        for _ in range(3):
            LeadEngagement.objects.create(workspace=workspace, lead=lead, rule=form, points=8)
        services.lead_scoring_retrain(workspace=workspace)
    return {"workspace": workspace, "user": user, "lead": lead}


@pytest.fixture
def pipeline_for():
    from vinculo.sales.models import Deal, Pipeline, Stage

    def make(workspace):
        pipe = Pipeline.objects.create(workspace=workspace, name="Vendas", is_default=True)
        won = Stage.objects.create(workspace=workspace, pipeline=pipe, name="Ganho", kind="won")
        lost = Stage.objects.create(workspace=workspace, pipeline=pipe, name="Perdido", kind="lost")

        def close(lead, outcome):
            if outcome == "disqualified":
                lead.status = "disqualified"
            else:
                lead.status = "converted"
                lead.converted_deal = Deal.objects.create(
                    workspace=workspace,
                    name=str(lead),
                    pipeline=pipe,
                    stage=won if outcome == "won" else lost,
                    status=outcome,
                )
            lead.save()

        return close

    return make


def _english(page) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base_url}])


def _portuguese_catalogue() -> bool:
    with translation.override("pt-br"):
        return translation.gettext("Lead scoring") != "Lead scoring"


def test_rules_page_and_a_new_fit_rule(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    _english(page)
    page.goto(page.base_url + "/leads/scoring/")
    expect(page.get_by_role("heading", name="Lead scoring")).to_be_visible()
    expect(page.get_by_role("strong").filter(has_text="País é Brasil")).to_be_visible()
    expect(page.get_by_text("Whole workspace")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "scoring-rules-en")

    page.get_by_role("link", name="Add a fit rule").click()
    page.fill("#id_name", "Varejo")
    page.fill("#id_points", "0")
    page.select_option("#cond-field-1", "industry")
    page.fill("#cond-value-1", "Varejo")
    page.get_by_role("button", name="Add a condition").click()
    expect(page.locator("#cond-field-2")).to_be_focused()
    page.select_option("#cond-field-2", "company_size")
    # A choice field offers only the comparisons it takes.
    assert page.locator("#cond-op-2 option[value=gt]").get_attribute("hidden") is not None
    page.select_option("#cond-op-2", "in")
    page.fill("#cond-value-2", "Enormous")
    page.get_by_role("button", name="Create rule").click()
    expect(page.locator(".alert-error")).to_be_visible()
    expect(page.locator("#id_points_error")).to_contain_text("other than zero")
    expect(page.locator("#cond-error-2")).to_contain_text("Choose among: 1–10 employees")
    assert axe_violations(page) == []
    screenshot(page, "scoring-rule-form-errors-en")
    page.fill("#id_points", "6")
    page.fill("#cond-value-2", "201–1,000 employees, 1001+")
    page.get_by_role("button", name="Create rule").click()
    expect(page.get_by_role("cell", name="Varejo", exact=True)).to_be_visible()
    rule = ScoringRule.all_tenants.get(name="Varejo")
    assert rule.points == 6
    assert rule.conditions == {
        "all": [
            {"field": "industry", "op": "eq", "value": "Varejo"},
            {"field": "company_size", "op": "in", "value": ["201-1000", "1001+"]},
        ]
    }

    page.get_by_role("button", name="Recompute now").click()
    expect(page.locator(".recompute-progress")).to_contain_text("Done:")
    assert Lead.all_tenants.get(pk=crm["lead"].pk).score == 10 + 15 + 24


def test_rules_page_in_portuguese_and_on_a_phone(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/leads/scoring/")
    expect(page.get_by_role("strong").filter(has_text="País é Brasil")).to_be_visible()
    if _portuguese_catalogue():
        expect(page.get_by_role("heading", name="Pontuação de leads")).to_be_visible()
    screenshot(page, "scoring-rules-pt-br")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.base_url + "/leads/scoring/")
    screenshot(page, "scoring-rules-phone")
    assert axe_violations(page) == []


def test_score_panel(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    # On the lead's page, its slot loads the panel.
    page.goto(f"{page.base_url}/leads/{crm['lead'].pk}/")
    expect(page.locator(".score-panel")).to_contain_text("Empresa grande")
    screenshot(page, "scoring-lead-page-pt-br")
    page.goto(f"{page.base_url}/leads/{crm['lead'].pk}/score")
    panel = page.locator(".score-panel")
    expect(panel).to_contain_text("Empresa grande")
    expect(panel).to_contain_text("(3×)")
    expect(panel).to_contain_text("Origem: Indicação")
    assert axe_violations(page) == []
    screenshot(page, "scoring-lead-panel-pt-br")
    _english(page)
    page.goto(f"{page.base_url}/leads/{crm['lead'].pk}/score")
    expect(panel).to_contain_text("Chance of winning")
    expect(panel).to_contain_text("Source: Indicação — raises the chance")
    screenshot(page, "scoring-lead-panel-en")
