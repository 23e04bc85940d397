"""Two years of sales for the demo workspace: leads from every channel, deals moving through a
pipeline (with their stage history), quotes, orders and repeat purchases, quotas, scoring
rules, a web form and the lead-routing rules.

The history is drawn so the figures mean something: referrals and larger companies convert
more often, every stage takes its typical time, older deals are closed and recent ones open.
Rows are written with bulk inserts in the demo's transaction; the sizes are capped so a
million-contact demo takes a few seconds more, not minutes.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from random import Random
from zoneinfo import ZoneInfo

from django.db.models import Max, Min

from vinculo.automation.models import Rule
from vinculo.contacts.models import Account, Contact
from vinculo.contacts.search import contact_sort_name
from vinculo.core.models import Team, User, Workspace
from vinculo.core.search import build_search_document, normalize_text
from vinculo.core.tenancy import workspace_scope
from vinculo.marketing.models import WebForm
from vinculo.sales.models import (
    Deal,
    DealLine,
    DealStageHistory,
    DealStatus,
    ForecastCategory,
    Lead,
    LeadStatus,
    LostReason,
    Order,
    OrderChannel,
    OrderLine,
    Pipeline,
    PriceList,
    PriceListItem,
    Product,
    Quota,
    Quote,
    QuoteLine,
    QuoteStatus,
    SalesSettings,
    ScoringRule,
    ScoringRuleKind,
    Stage,
    StageKind,
)

CENT = Decimal("0.01")
HISTORY_DAYS = 730
BATCH = 2000

# (name, code, unit price, tax %, unit): what the demo company sells.
PRODUCTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("Plano Essencial (anual)", "ESS-12", "4800.00", "0", "licença"),
    ("Plano Profissional (anual)", "PRO-12", "12000.00", "0", "licença"),
    ("Plano Empresarial (anual)", "ENT-12", "36000.00", "0", "licença"),
    ("Usuário adicional (anual)", "USR-12", "600.00", "0", "usuário"),
    ("Implantação padrão", "IMP-STD", "3500.00", "5", "projeto"),
    ("Implantação avançada", "IMP-ADV", "9500.00", "5", "projeto"),
    ("Treinamento da equipe (turma)", "TRN-1", "1800.00", "5", "turma"),
    ("Consultoria (hora)", "CON-H", "280.00", "5", "hora"),
    ("Suporte Premium (anual)", "SUP-12", "6000.00", "0", "contrato"),
    ("Integração com ERP", "INT-ERP", "7500.00", "5", "projeto"),
)
# The products a first sale starts from (a plan), and what goes with it.
_PLANS = (0, 1, 2)
_PLAN_WEIGHTS = (0.5, 0.38, 0.12)
_EXTRAS = (3, 4, 5, 6, 7, 8, 9)
# Repeat purchases: more users, consulting hours, training, support renewals.
_REPEAT = (3, 7, 6, 8)

# (name, probability, kind, typical days spent there)
STAGES: tuple[tuple[str, int, str, float], ...] = (
    ("Novo", 10, StageKind.OPEN, 6),
    ("Qualificado", 25, StageKind.OPEN, 10),
    ("Proposta", 50, StageKind.OPEN, 14),
    ("Negociação", 75, StageKind.OPEN, 12),
    ("Ganho", 100, StageKind.WON, 0),
    ("Perdido", 0, StageKind.LOST, 0),
)
RENEWAL_STAGES: tuple[tuple[str, int, str, float], ...] = (
    ("Renovação prevista", 60, StageKind.OPEN, 20),
    ("Em negociação", 80, StageKind.OPEN, 10),
    ("Renovado", 100, StageKind.WON, 0),
    ("Não renovado", 0, StageKind.LOST, 0),
)
# Of the deals that reach an open stage, the share that goes on to the next one.
_ADVANCE = (0.72, 0.66, 0.6, 0.7)
LOST_REASONS = (
    "Preço acima do orçamento",
    "Escolheu um concorrente",
    "Sem resposta do cliente",
    "Projeto adiado",
    "Não tinha a necessidade",
)

# (source, weight, conversion lift, UTM source, UTM medium)
SOURCES: tuple[tuple[str, float, float, str, str], ...] = (
    ("Site", 0.28, 1.0, "", ""),
    ("Indicação", 0.12, 2.4, "", ""),
    ("Google Ads", 0.2, 0.7, "google", "cpc"),
    ("LinkedIn", 0.12, 1.1, "linkedin", "social"),
    ("Evento", 0.08, 1.5, "", ""),
    ("Webinar", 0.1, 1.2, "webinar", "email"),
    ("E-mail marketing", 0.1, 0.6, "newsletter", "email"),
)
CAMPAIGNS = ("crm-para-pmes", "black-friday", "webinar-vendas", "feira-varejo", "retencao")
INDUSTRIES = ("Varejo", "Tecnologia", "Serviços", "Indústria", "Saúde", "Educação", "Logística")
_SIZE_LIFT = {"1-10": 0.5, "11-50": 0.9, "51-200": 1.3, "201-1000": 1.6, "1001+": 1.4, "": 0.8}
_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1001+")
_SIZE_WEIGHTS = (0.3, 0.32, 0.2, 0.12, 0.06)
_SOUTH_STATES = frozenset({"SP", "RJ", "MG", "ES", "PR", "SC", "RS"})
_TITLES = (
    ("Diretor comercial", 1.5),
    ("Gerente de vendas", 1.3),
    ("Sócio", 1.6),
    ("Analista de marketing", 0.8),
    ("Coordenador de atendimento", 1.0),
    ("Assistente administrativo", 0.6),
    ("CEO", 1.7),
)
_FREE_MAIL = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.br")


@dataclass
class _Person:
    contact_id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    account_id: int | None
    company: str
    domain: str
    size: str
    industry: str
    city: str
    state: str
    country: str


@dataclass
class _Staff:
    south: list[int]
    north: list[int]
    team_south: int | None
    team_north: int | None
    manager: int
    marketing: int

    def team_of(self, state: str) -> tuple[int | None, list[int]]:
        if state in _SOUTH_STATES or not self.north:
            return self.team_south, self.south
        return self.team_north, self.north


@dataclass
class _Rows:
    leads: list[Lead] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)
    history: list[DealStageHistory] = field(default_factory=list)
    deal_lines: list[DealLine] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    quote_lines: list[QuoteLine] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    order_lines: list[OrderLine] = field(default_factory=list)


def sales_demo_sizes(contacts: int) -> dict[str, int]:
    """How much sales history a demo of `contacts` people gets (capped: see module doc)."""
    return {
        "leads": max(120, min(6000, int(contacts * 0.6))),
        "direct_deals": max(40, min(1500, int(contacts * 0.15))),
        "repeat_orders": max(60, min(12000, int(contacts * 0.5))),
    }


def sales_demo_load(
    *,
    workspace: Workspace,
    staff: dict[str, User],
    anchor: date,
    tz: ZoneInfo,
    seed: int,
    contacts: int,
) -> dict[str, int]:
    """Fill `workspace` with the sales history; returns counts per kind. Runs inside the
    demo's transaction; writes no events (the demo's history is not replayed)."""
    with workspace_scope(workspace):
        return _load(
            workspace=workspace, staff=staff, anchor=anchor, tz=tz, seed=seed, contacts=contacts
        )


def _load(
    *,
    workspace: Workspace,
    staff: dict[str, User],
    anchor: date,
    tz: ZoneInfo,
    seed: int,
    contacts: int,
) -> dict[str, int]:
    rng = Random(seed * 7919 + 5)
    sizes = sales_demo_sizes(contacts)
    now = datetime.combine(anchor, datetime.min.time(), tz) + timedelta(hours=12)
    team_ids = {t.name: t.pk for t in Team.objects.for_workspace(workspace)}
    reps = _staff_ids(staff, team_ids)
    settings = _settings(workspace)
    products = _products(workspace, now)
    main, renewals = _pipelines(workspace, now)
    reasons = _lost_reasons(workspace)
    people = _people_sample(workspace, rng, sizes["leads"] + sizes["direct_deals"])
    gen = _Generator(
        workspace=workspace,
        rng=rng,
        now=now,
        reps=reps,
        products=products,
        main=main,
        renewals=renewals,
        reasons=reasons,
        settings=settings,
    )
    rows = _Rows()
    gen.leads_and_deals(rows, people, sizes)
    gen.repeat_orders(rows, people, sizes["repeat_orders"])
    counts = _write(rows)
    settings.next_quote_number = gen.quote_no + 1
    settings.next_order_number = gen.order_no + 1
    settings.save(update_fields=["next_quote_number", "next_order_number"])
    counts["quotas"] = _quotas(workspace, reps, staff, now, rng)
    counts["products"] = len(products)
    counts["scoring_rules"] = _scoring_rules(workspace, now)
    counts["web_forms"] = _web_form(workspace, staff, now)
    counts["automation_rules"] = _routing_rules(workspace, reps, staff, now)
    counts["scoring_models"] = _scores(workspace)
    return counts


def _scores(workspace: Workspace) -> int:
    """Every lead scored by the rules, and the predictive models trained on the history (which
    then give the open leads their chance of winning), as the nightly job would have."""
    from vinculo.sales.scoring.services import lead_scoring_retrain, scores_recompute

    scores_recompute(workspace=workspace)
    return len(lead_scoring_retrain(workspace=workspace))


def _staff_ids(staff: dict[str, User], team_ids: dict[str, int]) -> _Staff:
    from vinculo.contacts.demo import _TEAM_NORTH, _TEAM_SOUTH, STAFF

    return _Staff(
        south=[staff[e].pk for e, _n, _r, t in STAFF if t == _TEAM_SOUTH],
        north=[staff[e].pk for e, _n, _r, t in STAFF if t == _TEAM_NORTH],
        team_south=team_ids.get(_TEAM_SOUTH),
        team_north=team_ids.get(_TEAM_NORTH),
        manager=staff["mariana.costa@example.com"].pk,
        marketing=staff["fernanda.oliveira@example.com"].pk,
    )


def _settings(workspace: Workspace) -> SalesSettings:
    settings, _ = SalesSettings.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, defaults={"working_days": [0, 1, 2, 3, 4]}
    )
    return settings


def _products(workspace: Workspace, now: datetime) -> list[Product]:
    products = Product.objects.bulk_create(
        Product(
            workspace=workspace,
            name=name,
            code=code,
            unit_price=Decimal(price),
            currency=workspace.currency,
            tax_rate=Decimal(tax),
            unit=unit,
            created_at=now - timedelta(days=HISTORY_DAYS + 30),
            updated_at=now - timedelta(days=HISTORY_DAYS + 30),
        )
        for name, code, price, tax, unit in PRODUCTS
    )
    price_list = PriceList.objects.create(
        workspace=workspace, name="Tabela 2026", currency=workspace.currency, is_default=True
    )
    PriceListItem.objects.bulk_create(
        PriceListItem(
            workspace=workspace, price_list=price_list, product=p, unit_price=p.unit_price
        )
        for p in products
    )
    return products


def _pipeline(
    workspace: Workspace,
    name: str,
    position: int,
    stages: Sequence[tuple[str, int, str, float]],
    now: datetime,
) -> tuple[Pipeline, list[Stage]]:
    pipeline = Pipeline.objects.create(
        workspace=workspace,
        name=name,
        position=position,
        is_default=position == 0,
        created_at=now - timedelta(days=HISTORY_DAYS + 30),
    )
    created = Stage.objects.bulk_create(
        Stage(
            workspace=workspace,
            pipeline=pipeline,
            name=stage_name,
            position=i,
            probability=probability,
            kind=kind,
        )
        for i, (stage_name, probability, kind, _days) in enumerate(stages)
    )
    return pipeline, created


def _pipelines(
    workspace: Workspace, now: datetime
) -> tuple[tuple[Pipeline, list[Stage]], tuple[Pipeline, list[Stage]]]:
    return (
        _pipeline(workspace, "Vendas", 0, STAGES, now),
        _pipeline(workspace, "Renovações", 1, RENEWAL_STAGES, now),
    )


def _lost_reasons(workspace: Workspace) -> list[str]:
    LostReason.objects.bulk_create(
        LostReason(workspace=workspace, name=name, position=i)
        for i, name in enumerate(LOST_REASONS)
    )
    return list(LOST_REASONS)


def _people_sample(workspace: Workspace, rng: Random, wanted: int) -> list[_Person]:
    """Demo contacts to sell to, drawn by id ranges (no ORDER BY RANDOM() over a million rows)
    with their companies."""
    bounds = Contact.objects.for_workspace(workspace).aggregate(low=Min("id"), high=Max("id"))
    low, high = bounds["low"], bounds["high"]
    if low is None:
        return []
    span = high - low + 1
    ids = sorted({low + rng.randrange(span) for _ in range(min(span, wanted * 2))})
    rows = list(
        Contact.objects.for_workspace(workspace)
        .filter(id__in=ids[: wanted * 2], deleted_at__isnull=True)
        .exclude(email="")
        .order_by("id")  # the shuffle below must start from the same order on every database
        .values_list(
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "account_id",
            "city",
            "state",
            "country",
        )
    )
    rng.shuffle(rows)
    rows = rows[:wanted]
    account_ids = {r[5] for r in rows if r[5]}
    accounts = {
        a[0]: a[1:]
        for a in Account.objects.for_workspace(workspace)
        .filter(id__in=account_ids)
        .values_list("id", "name", "domain", "size", "industry")
    }
    people = []
    for cid, first, last, email, phone, account_id, city, state, country in rows:
        name, domain, size, industry = accounts.get(account_id, ("", "", "", ""))
        people.append(
            _Person(
                contact_id=cid,
                first_name=first,
                last_name=last,
                email=email,
                phone=phone,
                account_id=account_id,
                company=name,
                domain=domain,
                size=size or (rng.choices(_SIZES, _SIZE_WEIGHTS)[0] if name else ""),
                industry=industry or (rng.choice(INDUSTRIES) if name else ""),
                city=city,
                state=state,
                country=country or "BR",
            )
        )
    return people


def _money(value: Decimal | float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class _Line:
    product: Product
    quantity: Decimal
    discount: Decimal

    @property
    def net(self) -> Decimal:
        gross = self.product.unit_price * self.quantity
        return _money(gross * (1 - self.discount / 100))

    @property
    def tax(self) -> Decimal:
        return _money(self.net * self.product.tax_rate / 100)


class _Generator:
    def __init__(
        self,
        *,
        workspace: Workspace,
        rng: Random,
        now: datetime,
        reps: _Staff,
        products: list[Product],
        main: tuple[Pipeline, list[Stage]],
        renewals: tuple[Pipeline, list[Stage]],
        reasons: list[str],
        settings: SalesSettings,
    ) -> None:
        self.ws = workspace
        self.rng = rng
        self.now = now
        self.reps = reps
        self.products = products
        self.main = main
        self.renewals = renewals
        self.reasons = reasons
        self.settings = settings
        self.quote_no = 0
        self.order_no = 0
        self.source_cum = _cum([s[1] for s in SOURCES])

    # --- leads and the deals they become -----------------------------------------------

    def leads_and_deals(self, rows: _Rows, people: list[_Person], sizes: dict[str, int]) -> None:
        # The sample may be smaller than asked (contacts without email are left out): share
        # it between leads and direct deals in the asked proportion.
        asked = sizes["leads"] + sizes["direct_deals"]
        n_leads = min(len(people), round(len(people) * sizes["leads"] / asked))
        lead_people, direct_people = people[:n_leads], people[n_leads:]
        for person in lead_people:
            self._lead(rows, person)
        for person in direct_people[: sizes["direct_deals"]]:
            created = self._when(self.rng.random())
            owner_team, team_reps = self.reps.team_of(person.state)
            owner = self.rng.choice(team_reps) if team_reps else self.reps.manager
            self._deal(rows, person, None, created, owner, owner_team, lift=1.0)

    def _when(self, u: float) -> datetime:
        """A moment in the last two years, more of them recent (the business grows, and the
        last two months hold the pipeline that is still open)."""
        recent = u < 0.15
        days_ago = 60 * u / 0.15 if recent else HISTORY_DAYS * (1 - math.sqrt((u - 0.15) / 0.85))
        return self.now - timedelta(days=days_ago, minutes=self.rng.randrange(600))

    def _lead(self, rows: _Rows, person: _Person) -> None:
        rng = self.rng
        source, _w, lift, utm_source, utm_medium = SOURCES[_pick(rng, self.source_cum)]
        title, title_lift = rng.choice(_TITLES)
        free_mail = rng.random() < 0.3 or not person.domain
        email = (
            f"{person.email.split('@')[0]}@{rng.choice(_FREE_MAIL)}" if free_mail else person.email
        )
        lift *= title_lift * _SIZE_LIFT.get(person.size, 1.0) * (0.6 if free_mail else 1.2)
        created = self._when(rng.random())
        team, team_reps = self.reps.team_of(person.state)
        owner = rng.choice(team_reps) if team_reps else self.reps.manager
        age_days = (self.now - created).days
        chance = min(0.8, 0.16 * lift)
        status, converted = self._lead_outcome(age_days, chance)
        first_contact = created + timedelta(hours=rng.uniform(0.3, 30)) if age_days > 1 else None
        utm_campaign = rng.choice(CAMPAIGNS) if utm_source else ""
        lead = Lead(
            workspace=self.ws,
            first_name=person.first_name,
            last_name=person.last_name,
            email=email,
            phone=person.phone if rng.random() < 0.7 else "",
            job_title=title,
            company_name=person.company,
            company_domain=person.domain,
            company_size=person.size,
            industry=person.industry,
            city=person.city,
            state=person.state,
            country=person.country,
            source=source,
            utm_source=utm_source,
            utm_medium=utm_medium,
            utm_campaign=utm_campaign,
            campaign=utm_campaign,
            status=status,
            disqualified_reason=(
                rng.choice(("Sem orçamento", "Fora do perfil", "Contato inválido"))
                if status == LeadStatus.DISQUALIFIED
                else ""
            ),
            owner_id=owner,
            team_id=team,
            assigned_at=created + timedelta(minutes=2),
            first_contacted_at=first_contact,
            sort_name=contact_sort_name(
                first_name=person.first_name, last_name=person.last_name, email=email
            ),
            search_document=build_search_document(
                person.first_name, person.last_name, email, person.company, person.phone
            ),
            last_activity_at=first_contact,
            created_at=created,
            updated_at=created,
            created_by_id=self.reps.marketing,
        )
        rows.leads.append(lead)
        if converted:
            converted_at = created + timedelta(days=rng.uniform(1, 20))
            lead.converted_at = converted_at
            lead.converted_contact_id = person.contact_id
            lead.converted_account_id = person.account_id
            deal = self._deal(rows, person, lead, converted_at, owner, team, lift=lift)
            lead.converted_deal = deal

    def _lead_outcome(self, age_days: int, chance: float) -> tuple[str, bool]:
        rng = self.rng
        if age_days < 7:
            return rng.choice((LeadStatus.NEW, LeadStatus.NEW, LeadStatus.WORKING)), False
        if age_days < 30 and rng.random() < 0.5:
            return rng.choice((LeadStatus.WORKING, LeadStatus.QUALIFIED)), False
        if rng.random() < chance:
            return LeadStatus.CONVERTED, True
        return LeadStatus.DISQUALIFIED, False

    # --- deals ---------------------------------------------------------------------------

    def _deal(
        self,
        rows: _Rows,
        person: _Person,
        lead: Lead | None,
        created: datetime,
        owner: int,
        team: int | None,
        *,
        lift: float,
    ) -> Deal:
        rng = self.rng
        renewal = lead is None and rng.random() < 0.25 and person.account_id is not None
        pipeline, stages = self.renewals if renewal else self.main
        stage_specs = RENEWAL_STAGES if renewal else STAGES
        open_stages = [s for s in stages if s.kind == StageKind.OPEN]
        won_stage = next(s for s in stages if s.kind == StageKind.WON)
        lost_stage = next(s for s in stages if s.kind == StageKind.LOST)
        lines = self._lines(renewal)
        amount = sum((line.net for line in lines), Decimal("0"))
        path, moments = [open_stages[0]], [created]
        moment = created
        final: Stage | None = None
        advance_lift = min(1.25, 0.85 + 0.15 * lift)
        for i, stage in enumerate(open_stages):
            typical = stage_specs[stage.position][3]
            moment = moment + timedelta(days=rng.lognormvariate(math.log(max(typical, 1)), 0.5))
            if moment > self.now:
                break
            chance = min(0.95, _ADVANCE[min(i, len(_ADVANCE) - 1)] * advance_lift)
            if rng.random() >= chance:
                final = lost_stage
            elif i == len(open_stages) - 1:
                final = won_stage
            else:
                path.append(open_stages[i + 1])
                moments.append(moment)
                continue
            path.append(final)
            moments.append(moment)
            break
        current = path[-1]
        status: str = {"won": DealStatus.WON, "lost": DealStatus.LOST}.get(
            current.kind, DealStatus.OPEN
        )
        closed_at = moments[-1] if status != DealStatus.OPEN else None
        company = person.company or f"{person.first_name} {person.last_name}"
        name = f"{company} — {lines[0].product.name}"
        expected = (closed_at or (self.now + timedelta(days=rng.randrange(5, 100)))).date()
        category = self._category(status, current.probability)
        deal = Deal(
            workspace=self.ws,
            name=name[:200],
            pipeline=pipeline,
            stage=current,
            status=status,
            amount=_money(amount),
            currency=self.ws.currency,
            expected_close_date=expected,
            forecast_category=category,
            owner_id=owner,
            team_id=team,
            contact_id=person.contact_id,
            account_id=person.account_id,
            lead=lead,
            lost_reason=rng.choice(self.reasons) if status == DealStatus.LOST else "",
            position=float(len(rows.deals)),
            stage_entered_at=moments[-1],
            closed_at=closed_at,
            last_activity_at=min(self.now, moments[-1] + timedelta(days=rng.uniform(0, 8))),
            sort_name=normalize_text(name)[:300],
            created_at=created,
            updated_at=moments[-1],
            created_by_id=owner,
        )
        rows.deals.append(deal)
        for i, stage in enumerate(path):
            left = moments[i + 1] if i + 1 < len(path) else None
            rows.history.append(
                DealStageHistory(
                    workspace=self.ws,
                    deal=deal,
                    stage=stage,
                    entered_at=moments[i],
                    left_at=left,
                    entered_by_id=owner,
                    left_by_id=owner if left else None,
                )
            )
        for position, line in enumerate(lines):
            rows.deal_lines.append(
                DealLine(
                    workspace=self.ws,
                    deal=deal,
                    product=line.product,
                    description=line.product.name,
                    quantity=line.quantity,
                    unit_price=line.product.unit_price,
                    discount_percent=line.discount,
                    position=position,
                )
            )
        proposal_at = next(
            (m for s, m in zip(path, moments, strict=True) if s.probability >= 50), None
        )
        if proposal_at is not None:
            self._quote(rows, deal, person, lines, proposal_at, status, closed_at)
        return deal

    def _category(self, status: str, probability: int) -> str:
        if status != DealStatus.OPEN:
            return ForecastCategory.CLOSED if status == DealStatus.WON else ForecastCategory.OMITTED
        if probability >= 75:
            return ForecastCategory.COMMIT
        if probability >= 50:
            return ForecastCategory.BEST_CASE
        return ForecastCategory.PIPELINE

    def _lines(self, renewal: bool) -> list[_Line]:
        rng = self.rng
        if renewal:
            picks = [self.products[rng.choice(_PLANS)], self.products[8]]
        else:
            plan = self.products[rng.choices(_PLANS, _PLAN_WEIGHTS)[0]]
            extras = rng.sample(_EXTRAS, rng.randrange(0, 3))
            picks = [plan, *(self.products[i] for i in extras)]
        lines = []
        for product in picks:
            quantity = Decimal(rng.choice((1, 1, 1, 2, 5, 10))) if product.unit != "projeto" else 1
            if product.code == "CON-H":
                quantity = Decimal(rng.choice((10, 20, 40)))
            discount = Decimal(rng.choice((0, 0, 0, 5, 10, 15)))
            lines.append(_Line(product=product, quantity=Decimal(quantity), discount=discount))
        return lines

    # --- quotes and orders ---------------------------------------------------------------

    def _quote(
        self,
        rows: _Rows,
        deal: Deal,
        person: _Person,
        lines: list[_Line],
        sent_at: datetime,
        status: str,
        closed_at: datetime | None,
    ) -> None:
        rng = self.rng
        self.quote_no += 1
        valid_until = (sent_at + timedelta(days=self.settings.quote_validity_days)).date()
        if status == DealStatus.WON:
            quote_status, answered = QuoteStatus.ACCEPTED, closed_at
        elif status == DealStatus.LOST:
            quote_status = QuoteStatus.DECLINED if rng.random() < 0.6 else QuoteStatus.EXPIRED
            answered = closed_at if quote_status == QuoteStatus.DECLINED else None
        else:
            quote_status, answered = QuoteStatus.SENT, None
        subtotal = sum((line.product.unit_price * line.quantity for line in lines), Decimal(0))
        net = sum((line.net for line in lines), Decimal(0))
        tax = sum((line.tax for line in lines), Decimal(0))
        quote = Quote(
            workspace=self.ws,
            deal=deal,
            number=f"{self.settings.quote_prefix}{self.quote_no:05d}",
            title=deal.name[:200],
            status=quote_status,
            contact_id=person.contact_id,
            account_id=person.account_id,
            currency=self.ws.currency,
            valid_until=valid_until,
            subtotal=_money(subtotal),
            discount_total=_money(subtotal - net),
            tax_total=tax,
            total=net + tax,
            public_key=secrets.token_hex(16),
            sent_at=sent_at,
            sent_by_id=deal.owner_id,
            answered_at=answered,
            answered_by_name=(
                f"{person.first_name} {person.last_name}"
                if quote_status == QuoteStatus.ACCEPTED
                else ""
            ),
            decline_reason="Preço acima do orçamento" if quote_status == "declined" else "",
            created_at=sent_at - timedelta(hours=2),
            updated_at=answered or sent_at,
            created_by_id=deal.owner_id,
        )
        rows.quotes.append(quote)
        for position, line in enumerate(lines):
            rows.quote_lines.append(
                QuoteLine(
                    workspace=self.ws,
                    quote=quote,
                    product=line.product,
                    description=line.product.name,
                    quantity=line.quantity,
                    unit_price=line.product.unit_price,
                    discount_percent=line.discount,
                    tax_rate=line.product.tax_rate,
                    line_total=line.net,
                    position=position,
                )
            )
        if quote_status == QuoteStatus.ACCEPTED and answered is not None:
            self._order(
                rows,
                person,
                lines,
                answered,
                OrderChannel.QUOTE,
                deal=deal,
                quote=quote,
                owner=deal.owner_id,
            )

    def _order(
        self,
        rows: _Rows,
        person: _Person,
        lines: list[_Line],
        when: datetime,
        channel: str,
        *,
        deal: Deal | None = None,
        quote: Quote | None = None,
        owner: int | None = None,
    ) -> None:
        self.order_no += 1
        subtotal = sum((line.product.unit_price * line.quantity for line in lines), Decimal(0))
        net = sum((line.net for line in lines), Decimal(0))
        tax = sum((line.tax for line in lines), Decimal(0))
        order = Order(
            workspace=self.ws,
            number=f"{self.settings.order_prefix}{self.order_no:06d}",
            channel=channel,
            ordered_at=when,
            contact_id=person.contact_id,
            account_id=person.account_id,
            deal=deal,
            quote=quote,
            owner_id=owner,
            currency=self.ws.currency,
            subtotal=_money(subtotal),
            discount_total=_money(subtotal - net),
            tax_total=tax,
            total=net + tax,
            created_at=when,
            created_by_id=owner,
        )
        rows.orders.append(order)
        for position, line in enumerate(lines):
            rows.order_lines.append(
                OrderLine(
                    workspace=self.ws,
                    order=order,
                    product=line.product,
                    description=line.product.name,
                    quantity=line.quantity,
                    unit_price=line.product.unit_price,
                    discount_percent=line.discount,
                    tax_rate=line.product.tax_rate,
                    line_total=line.net,
                    position=position,
                )
            )

    def repeat_orders(self, rows: _Rows, people: list[_Person], wanted: int) -> None:
        """Customers who bought come back: more users, hours, training and renewals, at a
        rhythm of their own (some buy every few weeks, many once or twice a year), and some
        stop buying — the history churn and next-purchase predictions learn from."""
        rng = self.rng
        buyers = {o.contact_id: o for o in rows.orders}
        by_id = {p.contact_id: p for p in people}
        customers = [by_id[cid] for cid in buyers if cid in by_id]
        if not customers:
            return
        made = 0
        # A customer whose first purchase is too recent yields nothing; the attempts are
        # bounded so a young history still ends.
        for _attempt in range(wanted * 3):
            if made >= wanted:
                break
            person = rng.choice(customers)
            first = buyers[person.contact_id].ordered_at
            gap_days = rng.choice((21, 45, 90, 180, 365))
            moment = first + timedelta(days=gap_days * rng.uniform(0.6, 1.4))
            stops_after = rng.randrange(1, 8)
            for _ in range(stops_after):
                if moment > self.now or made >= wanted:
                    break
                product = self.products[rng.choice(_REPEAT)]
                quantity = Decimal(rng.choice((1, 2, 3, 5, 10, 20)))
                line = _Line(product=product, quantity=quantity, discount=Decimal(0))
                channel = rng.choice(
                    (OrderChannel.STORE, OrderChannel.PHONE, OrderChannel.STORE, OrderChannel.API)
                )
                self._order(rows, person, [line], moment, channel)
                made += 1
                moment += timedelta(days=gap_days * rng.uniform(0.6, 1.4))


def _cum(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return [c / total for c in out]


def _pick(rng: Random, cum: Sequence[float]) -> int:
    u = rng.random()
    for i, c in enumerate(cum):
        if u <= c:
            return i
    return len(cum) - 1


def _write(rows: _Rows) -> dict[str, int]:
    """Insert in dependency order; a lead's converted deal is linked once both have ids."""
    converted = [(lead, lead.converted_deal) for lead in rows.leads if lead.converted_deal]
    for lead, _deal in converted:
        lead.converted_deal = None
    Lead.objects.bulk_create(rows.leads, batch_size=BATCH)
    for deal in rows.deals:
        deal.lead_id = deal.lead.pk if deal.lead is not None else None
    Deal.objects.bulk_create(rows.deals, batch_size=BATCH)
    for lead, deal in converted:
        lead.converted_deal = deal
    Lead.objects.bulk_update([lead for lead, _ in converted], ["converted_deal"], batch_size=BATCH)
    for item in rows.history:
        item.deal_id = item.deal.pk
    DealStageHistory.objects.bulk_create(rows.history, batch_size=BATCH)
    for deal_line in rows.deal_lines:
        deal_line.deal_id = deal_line.deal.pk
    DealLine.objects.bulk_create(rows.deal_lines, batch_size=BATCH)
    for quote in rows.quotes:
        quote.deal_id = quote.deal.pk
    Quote.objects.bulk_create(rows.quotes, batch_size=BATCH)
    for quote_line in rows.quote_lines:
        quote_line.quote_id = quote_line.quote.pk
    QuoteLine.objects.bulk_create(rows.quote_lines, batch_size=BATCH)
    for order in rows.orders:
        order.deal_id = order.deal.pk if order.deal is not None else None
        order.quote_id = order.quote.pk if order.quote is not None else None
    Order.objects.bulk_create(rows.orders, batch_size=BATCH)
    for order_line in rows.order_lines:
        order_line.order_id = order_line.order.pk
    OrderLine.objects.bulk_create(rows.order_lines, batch_size=BATCH)
    return {
        "leads": len(rows.leads),
        "deals": len(rows.deals),
        "quotes": len(rows.quotes),
        "orders": len(rows.orders),
    }


def _quotas(
    workspace: Workspace, reps: _Staff, staff: dict[str, User], now: datetime, rng: Random
) -> int:
    """A monthly quota for every rep from two years ago to three months ahead, and one per
    team (the sum of its people's)."""
    start = date(now.year - 2, now.month, 1)
    months = []
    month = start
    while month <= (now + timedelta(days=92)).date():
        months.append(month)
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    quotas = []
    for team_id, members in ((reps.team_south, reps.south), (reps.team_north, reps.north)):
        for first in months:
            last = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
            last -= timedelta(days=1)
            team_total = Decimal(0)
            for user_id in members:
                amount = Decimal(rng.choice((40000, 50000, 60000)))
                team_total += amount
                quotas.append(
                    Quota(
                        workspace=workspace,
                        user_id=user_id,
                        period_start=first,
                        period_end=last,
                        amount=amount,
                        currency=workspace.currency,
                    )
                )
            if team_id is not None:
                quotas.append(
                    Quota(
                        workspace=workspace,
                        team_id=team_id,
                        period_start=first,
                        period_end=last,
                        amount=team_total,
                        currency=workspace.currency,
                    )
                )
    Quota.objects.bulk_create(quotas, batch_size=BATCH)
    return len(quotas)


def _scoring_rules(workspace: Workspace, now: datetime) -> int:
    def leaf(field_name: str, op: str, value: object) -> dict:
        return {"all": [{"field": field_name, "op": op, "value": value}]}

    rules = [
        ScoringRule(
            workspace=workspace,
            name="Empresa de médio ou grande porte",
            kind=ScoringRuleKind.FIT,
            conditions=leaf("company_size", "in", ["51-200", "201-1000", "1001+"]),
            points=20,
        ),
        ScoringRule(
            workspace=workspace,
            name="Cargo de decisão",
            kind=ScoringRuleKind.FIT,
            conditions={
                "any": [
                    {"field": "job_title", "op": "contains", "value": word}
                    for word in ("Diretor", "Sócio", "CEO", "Gerente")
                ]
            },
            points=15,
        ),
        ScoringRule(
            workspace=workspace,
            name="Veio por indicação",
            kind=ScoringRuleKind.FIT,
            conditions=leaf("source", "eq", "Indicação"),
            points=25,
        ),
        ScoringRule(
            workspace=workspace,
            name="No Brasil",
            kind=ScoringRuleKind.FIT,
            conditions=leaf("country", "eq", "BR"),
            points=5,
        ),
        ScoringRule(
            workspace=workspace,
            name="Preencheu um formulário",
            kind=ScoringRuleKind.ENGAGEMENT,
            event_type="webform.submitted",
            points=10,
        ),
        ScoringRule(
            workspace=workspace,
            name="Conversa registrada",
            kind=ScoringRuleKind.ENGAGEMENT,
            event_type="interaction.created",
            points=5,
        ),
    ]
    for rule in rules:
        rule.created_at = now - timedelta(days=HISTORY_DAYS)
    ScoringRule.objects.bulk_create(rules)
    return len(rules)


def _web_form(workspace: Workspace, staff: dict[str, User], now: datetime) -> int:
    from vinculo.contacts.demo import ADMIN_EMAIL

    WebForm.objects.create(
        workspace=workspace,
        name="Fale com vendas",
        public_key=secrets.token_urlsafe(12),
        title="Fale com um especialista",
        introduction="Conte um pouco sobre a sua empresa e entraremos em contato.",
        fields=[
            {"name": "first_name", "label": "Nome", "required": True},
            {"name": "last_name", "label": "Sobrenome", "required": False},
            {"name": "email", "label": "E-mail de trabalho", "required": True},
            {"name": "phone", "label": "Telefone", "required": False},
            {"name": "company_name", "label": "Empresa", "required": True},
            {"name": "company_size", "label": "Tamanho da empresa", "required": False},
            {"name": "state", "label": "Estado", "required": False},
            {"name": "message", "label": "Como podemos ajudar?", "required": False},
        ],
        submit_label="Quero conversar",
        consent_enabled=True,
        consent_purpose="email_marketing",
        consent_wording=(
            "Aceito receber e-mails com conteúdos e ofertas. Posso cancelar quando quiser."
        ),
        thank_you_message="Obrigado! Um especialista vai falar com você em até um dia útil.",
        lead_source="Site",
        created_by=staff[ADMIN_EMAIL],
        created_at=now - timedelta(days=HISTORY_DAYS),
        updated_at=now - timedelta(days=HISTORY_DAYS),
    )
    return 1


def _routing_rules(
    workspace: Workspace, reps: _Staff, staff: dict[str, User], now: datetime
) -> int:
    """New leads go to the team of their region, taking turns inside it."""
    from vinculo.contacts.demo import ADMIN_EMAIL

    south = sorted(_SOUTH_STATES)
    made = 0
    for position, (name, op, team_id) in enumerate(
        (
            ("Leads do Sul e Sudeste", "in", reps.team_south),
            ("Leads das outras regiões", "not_in", reps.team_north),
        )
    ):
        if team_id is None:
            continue
        Rule.objects.create(
            workspace=workspace,
            name=name,
            trigger="lead.created",
            group="lead_assignment",
            position=position,
            stop_after_match=True,
            conditions={
                "all": [
                    {"field": "owner", "op": "is_empty"},
                    {"field": "state", "op": op, "value": south},
                ]
            },
            actions=[{"type": "assign", "team_id": team_id, "strategy": "round_robin"}],
            created_by=staff[ADMIN_EMAIL],
            created_at=now - timedelta(days=HISTORY_DAYS),
            updated_at=now - timedelta(days=HISTORY_DAYS),
        )
        made += 1
    return made
