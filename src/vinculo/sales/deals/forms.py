"""Forms of the deals, pipelines and catalogue pages. A form here only parses what a person
typed into the data of one service call (`to_data`) and puts the service's field errors back
next to the inputs (`add_service_errors`); the rules live in the services, so the pages and the
API refuse the same things."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.core.forms import PageForm
from vinculo.core.models import Team, User
from vinculo.core.services import CURRENCIES
from vinculo.sales.models import ForecastCategory, LostReason, Pipeline, Product, StageKind

# The service's field names → the form's (a form says "owner", the service "owner_id").
SERVICE_FIELDS = {
    "owner_id": "owner",
    "team_id": "team",
    "contact_id": "contact",
    "account_id": "account",
    "lead_id": "lead",
    "stage_id": "stage",
    "pipeline_id": "stage",
    "product_id": "product",
}
NONE = "none"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class ServiceForm(PageForm):
    """Maps the services' field names onto this form's before showing their errors."""

    def add_service_errors(self, exc: Any) -> None:
        for error in exc.errors:
            root = error.field.split(".", 1)[0]
            name = SERVICE_FIELDS.get(root, root)
            self.add_error(name if name in self.fields else None, str(error.message))


def set_choices(form: forms.BaseForm, name: str, choices: Any) -> None:
    cast(forms.ChoiceField, form.fields[name]).choices = choices


def _id(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 19 else None


def stage_choices(pipelines: Iterable[Pipeline]) -> list[tuple[Any, Any]]:
    """Stages grouped by pipeline, for a select (optgroups when there are several)."""
    pipelines = list(pipelines)
    if len(pipelines) == 1:
        return [(str(s.pk), s.name) for s in pipelines[0].live_stages]  # type: ignore[attr-defined]
    return [
        (p.name, [(str(s.pk), s.name) for s in p.live_stages])  # type: ignore[attr-defined]
        for p in pipelines
    ]


def member_choices(users: Sequence[User], *, blank: Any) -> list[tuple[str, Any]]:
    return [("", blank), *((str(u.pk), u.display_name) for u in users)]


def _currency_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in CURRENCIES]


# ---------------------------------------------------------------------------------------------
# Deals


class DealForm(ServiceForm):
    """A deal's fields. `only` keeps the named fields (one fact edited in place)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    stage = forms.ChoiceField(label=_("Stage"))
    amount = forms.DecimalField(
        label=_("Amount"), required=False, localize=True, min_value=Decimal(0), decimal_places=2
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=_currency_choices)
    expected_close_date = forms.DateField(
        label=_("Expected close date"), required=False, widget=DateInput()
    )
    forecast_category = forms.ChoiceField(
        label=_("Forecast category"), choices=ForecastCategory.choices
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)
    contact = forms.CharField(label=_("Contact"), required=False, widget=forms.HiddenInput)
    account = forms.CharField(label=_("Account"), required=False, widget=forms.HiddenInput)
    lead = forms.CharField(required=False, widget=forms.HiddenInput)
    lost_reason = forms.CharField(label=_("Lost reason"), required=False, max_length=200)
    external_id = forms.CharField(label=_("External id"), required=False, max_length=100)

    def __init__(
        self,
        *args: Any,
        pipelines: Iterable[Pipeline],
        members: Sequence[User],
        teams: Sequence[Team],
        contact_label: str = "",
        account_label: str = "",
        only: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "stage", stage_choices(pipelines))
        set_choices(self, "owner", member_choices(members, blank=_("No owner")))
        set_choices(self, "team", [("", _("No team")), *((str(t.pk), t.name) for t in teams)])
        self.contact_label = contact_label
        self.account_label = account_label
        self.fields["lost_reason"].widget.attrs["list"] = "lost-reasons"
        if only is not None:
            for name in list(self.fields):
                if name not in only:
                    del self.fields[name]
            for field in self.fields.values():
                field.widget.attrs["autofocus"] = True

    @classmethod
    def initial_of(cls, deal: Any) -> dict[str, Any]:
        return {
            "name": deal.name,
            "stage": str(deal.stage_id),
            "amount": deal.amount,
            "currency": deal.currency,
            "expected_close_date": deal.expected_close_date,
            "forecast_category": deal.forecast_category,
            "owner": str(deal.owner_id or ""),
            "team": str(deal.team_id or ""),
            "contact": str(deal.contact_id or ""),
            "account": str(deal.account_id or ""),
            "lead": str(deal.lead_id or ""),
            "lost_reason": deal.lost_reason,
            "external_id": deal.external_id,
        }

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        cleaned = self.cleaned_data
        for name in ("name", "currency", "forecast_category", "lost_reason", "external_id"):
            if name in cleaned:
                data[name] = cleaned[name]
        if "amount" in cleaned:
            data["amount"] = cleaned["amount"] if cleaned["amount"] is not None else Decimal(0)
        if "expected_close_date" in cleaned:
            data["expected_close_date"] = cleaned["expected_close_date"]
        if "stage" in cleaned:
            data["stage_id"] = _id(cleaned["stage"])
        for name in ("owner", "team", "contact", "account", "lead"):
            if name in cleaned:
                data[f"{name}_id"] = _id(cleaned[name])
        if "lead_id" in data and data["lead_id"] is None:
            del data["lead_id"]
        return data


class MoveForm(ServiceForm):
    """The keyboard and no-JavaScript way to move a card: a stage, and a reason for a lost
    one."""

    stage = forms.ChoiceField(label=_("Stage"))
    lost_reason = forms.CharField(label=_("Lost reason"), required=False, max_length=200)
    before = forms.CharField(required=False, widget=forms.HiddenInput)
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, pipelines: Iterable[Pipeline], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "stage", stage_choices(pipelines))
        self.fields["lost_reason"].widget.attrs["list"] = "lost-reasons"

    def move_args(self) -> dict[str, Any]:
        return {
            "stage_id": _id(self.cleaned_data["stage"]),
            "lost_reason": self.cleaned_data.get("lost_reason", ""),
            "before_id": _id(self.cleaned_data.get("before")),
            "after_id": _id(self.cleaned_data.get("after")),
        }


class LostForm(ServiceForm):
    lost_reason = forms.CharField(label=_("Why was it lost?"), max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lost_reason"].widget.attrs["list"] = "lost-reasons"


class LineForm(ServiceForm):
    product = forms.ChoiceField(label=_("Product"), required=False)
    description = forms.CharField(label=_("Description"), required=False, max_length=300)
    quantity = forms.DecimalField(
        label=_("Quantity"), localize=True, decimal_places=3, initial=Decimal(1)
    )
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        required=False,
        localize=True,
        decimal_places=2,
        help_text=_("Blank: the product's price."),
    )
    discount_percent = forms.DecimalField(
        label=_("Discount (%)"), required=False, localize=True, decimal_places=2
    )

    def __init__(self, *args: Any, products: Sequence[Product], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(
            self,
            "product",
            [
                ("", _("No product")),
                *((str(p.pk), p.name) for p in products),
            ],
        )

    def to_data(self, *, creating: bool) -> dict[str, Any]:
        cleaned = self.cleaned_data
        data: dict[str, Any] = {
            "description": cleaned["description"],
            "quantity": cleaned["quantity"],
            "discount_percent": cleaned.get("discount_percent") or Decimal(0),
        }
        product_id = _id(cleaned.get("product"))
        if product_id is not None or not creating:
            data["product_id"] = product_id
        if cleaned.get("unit_price") is not None:
            data["unit_price"] = cleaned["unit_price"]
        return data


# ---------------------------------------------------------------------------------------------
# Lists and the board


LIST_SORTS = (
    ("-created_at", _("Newest first")),
    ("created_at", _("Oldest first")),
    ("name", _("Name")),
    ("expected_close_date", _("Closing soonest")),
    ("-expected_close_date", _("Closing latest")),
    ("-amount", _("Largest amount")),
    ("amount", _("Smallest amount")),
    ("-updated_at", _("Recently updated")),
)
STATUS_CHOICES = (
    ("", pgettext_lazy("deal status filter", "Any status")),
    ("open", pgettext_lazy("deal status", "Open")),
    ("won", pgettext_lazy("deal status", "Won")),
    ("lost", pgettext_lazy("deal status", "Lost")),
)


class BoardFilterForm(forms.Form):
    """The board's filters; values go to `deal_filters` as they are (it validates them)."""

    pipeline = forms.ChoiceField(label=_("Pipeline"), required=False)
    q = forms.CharField(label=_("Search deals"), required=False, max_length=200)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)

    def __init__(
        self,
        *args: Any,
        pipelines: Sequence[Pipeline],
        members: Sequence[User],
        teams: Sequence[Team],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("auto_id", "board-%s")
        super().__init__(*args, **kwargs)
        set_choices(self, "pipeline", [(str(p.pk), p.name) for p in pipelines])
        set_choices(
            self,
            "owner",
            [
                ("", _("Everyone")),
                ("me", _("Me")),
                (NONE, _("No owner")),
                *((str(u.pk), u.display_name) for u in members),
            ],
        )
        set_choices(self, "team", [("", _("Any team")), *((str(t.pk), t.name) for t in teams)])


class DealFilterForm(BoardFilterForm):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    close_after = forms.DateField(label=_("Closing from"), required=False, widget=DateInput())
    close_before = forms.DateField(label=_("Closing until"), required=False, widget=DateInput())
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=LIST_SORTS)

    def __init__(self, *args: Any, pipelines: Sequence[Pipeline], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "filter-%s")
        super().__init__(*args, pipelines=pipelines, **kwargs)
        set_choices(
            self, "pipeline", [("", _("Any pipeline")), *((str(p.pk), p.name) for p in pipelines)]
        )
        set_choices(self, "stage", [("", _("Any stage")), *stage_choices(pipelines)])


# ---------------------------------------------------------------------------------------------
# Pipelines, stages and lost reasons


class PipelineForm(ServiceForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    is_default = forms.BooleanField(
        label=_("Default pipeline"),
        required=False,
        help_text=_("New deals and the board start in it."),
    )


KIND_CHOICES = (
    (StageKind.OPEN.value, pgettext_lazy("stage kind", "Open")),
    (StageKind.WON.value, pgettext_lazy("stage kind", "Won")),
    (StageKind.LOST.value, pgettext_lazy("stage kind", "Lost")),
)


class StageForm(ServiceForm):
    name = forms.CharField(label=_("Stage name"), max_length=120)
    probability = forms.IntegerField(label=_("Probability (%)"), min_value=0, max_value=100)
    kind = forms.ChoiceField(
        label=_("Meaning"),
        choices=KIND_CHOICES,
        help_text=_("Won and lost stages close the deals that enter them."),
    )


class StageDeleteForm(ServiceForm):
    move_to = forms.ChoiceField(label=_("Move its deals to"), required=False)


class LostReasonForm(ServiceForm):
    name = forms.CharField(label=_("Reason"), max_length=200)

    @classmethod
    def for_reason(cls, reason: LostReason, data: Any = None) -> LostReasonForm:
        return cls(data, initial={"name": reason.name}, prefix=f"r{reason.pk}")


# ---------------------------------------------------------------------------------------------
# Products and price lists


class ProductForm(ServiceForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    code = forms.CharField(label=_("Code"), required=False, max_length=60)
    unit_price = forms.DecimalField(
        label=_("Unit price"), localize=True, decimal_places=2, min_value=Decimal(0)
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=_currency_choices)
    tax_rate = forms.DecimalField(
        label=_("Tax rate (%)"), required=False, localize=True, decimal_places=2
    )
    unit = forms.CharField(
        label=_("Unit"), required=False, max_length=20, help_text=_("For example: hour, seat, kg.")
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)
    is_active = forms.BooleanField(
        label=_("Active"), required=False, help_text=_("Inactive products are not offered.")
    )

    field_order = [
        "name",
        "code",
        "unit_price",
        "currency",
        "tax_rate",
        "unit",
        "description",
        "is_active",
    ]

    @classmethod
    def initial_of(cls, product: Product) -> dict[str, Any]:
        return {
            "name": product.name,
            "code": product.code,
            "unit_price": product.unit_price,
            "currency": product.currency,
            "tax_rate": product.tax_rate,
            "unit": product.unit,
            "description": product.description,
            "is_active": product.is_active,
        }

    def to_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["tax_rate"] = data.get("tax_rate") or Decimal(0)
        return data


class PriceListForm(ServiceForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    currency = forms.ChoiceField(label=_("Currency"), choices=_currency_choices)
    is_default = forms.BooleanField(
        label=_("Default price list"),
        required=False,
        help_text=_("Its prices are used when a product is added to a deal."),
    )
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=DateInput())
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DateInput())

    def to_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class PriceItemForm(ServiceForm):
    product = forms.ChoiceField(label=_("Product"))
    unit_price = forms.DecimalField(
        label=_("Price in this list"), localize=True, decimal_places=2, min_value=Decimal(0)
    )

    def __init__(self, *args: Any, products: Sequence[Product], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "item-%s")
        super().__init__(*args, **kwargs)
        set_choices(self, "product", [("", "—"), *((str(p.pk), p.name) for p in products)])
