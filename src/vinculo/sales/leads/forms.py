"""Forms of the leads pages. A form only parses what a person typed into the data of one
service call (`to_data`) and puts the service's own field errors back next to the inputs
(`add_service_errors`); the rules live in `sales.leads.validation` and the services, so the
pages, the API, web forms and imports refuse the same things."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django import forms
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from vinculo.contacts.forms import FRIENDLIER, RecordForm, custom_value_display
from vinculo.contacts.models import CompanySize
from vinculo.core.exceptions import FieldError, ValidationFailed
from vinculo.core.models import CustomFieldDefinition
from vinculo.sales.leads.selectors import owner_choices, team_choices
from vinculo.sales.leads.validation import LEAD_OBJECT
from vinculo.sales.models import Lead, LeadStatus
from vinculo.web.formatting import phone_display

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

# The statuses as the pages name them (the model's words are shared with other catalogues).
STATUS_CHOICES = [
    (LeadStatus.NEW.value, pgettext_lazy("lead status", "New")),
    (LeadStatus.WORKING.value, pgettext_lazy("lead status", "Working")),
    (LeadStatus.QUALIFIED.value, pgettext_lazy("lead status", "Qualified")),
    (LeadStatus.DISQUALIFIED.value, pgettext_lazy("lead status", "Disqualified")),
    (LeadStatus.CONVERTED.value, pgettext_lazy("lead status", "Converted")),
]
STATUS_COLORS = {
    LeadStatus.NEW: "blue",
    LeadStatus.WORKING: "violet",
    LeadStatus.QUALIFIED: "green",
    LeadStatus.DISQUALIFIED: "gray",
    LeadStatus.CONVERTED: "teal",
}
_STATUS_LABELS = dict(STATUS_CHOICES)


def status_label(value: str) -> str:
    return str(_STATUS_LABELS.get(value, value))


def _text(label: Any, **attrs: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=forms.TextInput(attrs=attrs))


class LeadForm(RecordForm):
    """A lead's fields. With `only`, one field of the record page edited in place."""

    object_type = LEAD_OBJECT
    service_fields: ClassVar[dict[str, str]] = {"owner_id": "owner", "team_id": "team"}

    first_name = _text(_("First name"), autocomplete="off")
    last_name = _text(_("Last name"), autocomplete="off")
    email = forms.CharField(
        label=pgettext_lazy("record field", "Email"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Phone"), required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    job_title = _text(_("Job title"))
    company_name = _text(_("Company"))
    company_domain = _text(_("Company domain"), placeholder="example.com")
    website = _text(_("Website"), placeholder="https://")
    company_size = forms.ChoiceField(
        label=_("Company size"), required=False, choices=[("", "—"), *CompanySize.choices]
    )
    industry = _text(_("Industry"))
    city = _text(_("City"))
    state = _text(_("State"))
    country = forms.CharField(
        label=_("Country"),
        required=False,
        help_text=_("Two-letter code, such as BR."),
        widget=forms.TextInput(attrs={"maxlength": "2", "autocomplete": "country"}),
    )
    source = _text(_("Source"))
    campaign = _text(_("Campaign"))
    utm_source = _text("utm_source")
    utm_medium = _text("utm_medium")
    utm_campaign = _text("utm_campaign")
    utm_term = _text("utm_term")
    utm_content = _text("utm_content")
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)
    message = forms.CharField(
        label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:
            owner_field = cast(forms.ChoiceField, self.fields["owner"])
            owner_field.choices = [("", gettext("No owner"))] + [
                (str(u.pk), u.display_name)
                for u in owner_choices(workspace=self.workspace, viewer=self.viewer)
            ]
        if "team" in self.fields:
            team_field = cast(forms.ChoiceField, self.fields["team"])
            team_field.choices = [("", gettext("No team"))] + [
                (str(t.pk), t.name) for t in team_choices(workspace=self.workspace)
            ]

    def initial_from(self, record: Any) -> dict[str, Any]:
        lead = cast(Lead, record)
        initial: dict[str, Any] = {name: getattr(lead, name) for name in _PLAIN}
        initial["phone"] = phone_display(lead.phone)
        initial["owner"] = str(lead.owner_id or "")
        initial["team"] = str(lead.team_id or "")
        return {**initial, **self._custom_initial(lead)}  # type: ignore[arg-type]

    def to_data(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        data: dict[str, Any] = {
            name: cleaned.get(name, "") for name in _PLAIN if name in self.fields
        }
        if "phone" in self.fields:
            data["phone"] = cleaned.get("phone", "")
        if "country" in data:
            data["country"] = data["country"].strip().upper()
        for field_name, key in (("owner", "owner_id"), ("team", "team_id")):
            if field_name in self.fields:
                value = cleaned.get(field_name) or ""
                data[key] = int(value) if value.isdigit() else None
        if any(self.cf_name(d.key) in self.fields for d in self.definitions):
            data["custom_fields"] = self._custom_data()
        return data

    def _add_service_error(self, error: FieldError) -> None:
        message = str(FRIENDLIER.get(error.code, error.message))
        head, _sep, rest = error.field.partition(".")
        name = self.cf_name(rest) if head == "custom_fields" and rest else head
        name = self.service_fields.get(name, name)
        self.add_error(name if name in self.fields else None, message)


_PLAIN = (
    "first_name",
    "last_name",
    "email",
    "job_title",
    "company_name",
    "company_domain",
    "website",
    "company_size",
    "industry",
    "city",
    "state",
    "country",
    "source",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "message",
)
# The facts panel of the record page, in order; each is edited in place.
LEAD_FACTS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "company_name",
    "company_domain",
    "website",
    "company_size",
    "industry",
    "city",
    "state",
    "country",
    "source",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "message",
)


@dataclass(frozen=True)
class Fact:
    name: str
    label: Any
    value: str


def lead_facts(
    lead: Lead,
    *,
    definitions: Iterable[CustomFieldDefinition],
    currency: str,
    only: str | None = None,
) -> list[Fact]:
    """The facts panel of a lead (or its one fact `only`), custom fields last."""
    facts: list[Fact] = []
    for name in LEAD_FACTS:
        if only is not None and name != only:
            continue
        label = LeadForm.base_fields[name].label
        if name == "phone":
            value = phone_display(lead.phone)
        elif name == "company_size":
            value = str(lead.get_company_size_display()) if lead.company_size else ""
        else:
            value = str(getattr(lead, name) or "")
        facts.append(Fact(name, label, value))
    for definition in definitions:
        if definition.object_type != LEAD_OBJECT:
            continue
        name = RecordForm.cf_name(definition.key)
        if only is not None and name != only:
            continue
        value = custom_value_display(
            definition, (lead.custom_fields or {}).get(definition.key), currency
        )
        facts.append(Fact(name, definition.label, value))
    return facts


# ---------------------------------------------------------------------------------------------
# Actions of the record page


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[c for c in STATUS_CHOICES if c[0] != LeadStatus.CONVERTED],
    )
    reason = forms.CharField(
        label=_("Why is it disqualified?"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def add_service_errors(self, exc: ValidationFailed) -> None:
        for error in exc.errors:
            self.add_error(error.field if error.field in self.fields else None, error.message)


class AssignForm(forms.Form):
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)

    def __init__(self, *args: Any, workspace: Workspace, viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner_field = cast(forms.ChoiceField, self.fields["owner"])
        owner_field.choices = [("", gettext("No owner"))] + [
            (str(u.pk), u.display_name) for u in owner_choices(workspace=workspace, viewer=viewer)
        ]
        team_field = cast(forms.ChoiceField, self.fields["team"])
        team_field.choices = [("", gettext("Keep the team"))] + [
            (str(t.pk), t.name) for t in team_choices(workspace=workspace)
        ]

    def owner_id(self) -> int | None:
        value = self.cleaned_data.get("owner") or ""
        return int(value) if value.isdigit() else None

    def team_id(self) -> int | None:
        value = self.cleaned_data.get("team") or ""
        return int(value) if value.isdigit() else None

    def add_service_errors(self, exc: ValidationFailed) -> None:
        names = {"owner_id": "owner", "team_id": "team"}
        for error in exc.errors:
            name = names.get(error.field, error.field)
            self.add_error(name if name in self.fields else None, error.message)


class ConvertForm(forms.Form):
    """The choices of a conversion: the contact and account (the ones found by default, or
    another account picked by id), and the deal to open."""

    contact = forms.CharField(required=False, widget=forms.HiddenInput)
    account = forms.CharField(label=_("Account"), required=False)
    create_deal = forms.BooleanField(label=_("Create a deal"), required=False, initial=True)
    deal_name = forms.CharField(label=_("Deal name"), required=False, max_length=200)
    pipeline = forms.ChoiceField(label=_("Pipeline"), required=False)
    amount = forms.DecimalField(
        label=_("Amount"),
        required=False,
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=2,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    def __init__(self, *args: Any, pipelines: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["pipeline"]).choices = pipelines

    @staticmethod
    def _picked(value: str) -> int | None:
        return int(value) if value.isdigit() and len(value) < 19 else None

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "contact_id": self._picked(data.get("contact") or ""),
            "account_id": self._picked(data.get("account") or ""),
            "create_deal": bool(data.get("create_deal")),
            "deal_name": data.get("deal_name") or "",
            "pipeline_id": self._picked(data.get("pipeline") or ""),
            "amount": data.get("amount"),
        }

    def add_service_errors(self, exc: ValidationFailed) -> None:
        names = {
            "contact_id": "contact",
            "account_id": "account",
            "pipeline_id": "pipeline",
            "amount": "amount",
            "deal_name": "deal_name",
            "name": "deal_name",
        }
        for error in exc.errors:
            name = names.get(error.field, error.field)
            self.add_error(name if name in self.fields else None, error.message)


# ---------------------------------------------------------------------------------------------
# The filter bar of the list


@dataclass(frozen=True)
class Chip:
    param: str
    label: Any
    value: str


COLUMN_LABELS: dict[str, Any] = {
    "name": _("Name"),
    "company": _("Company"),
    "status": _("Status"),
    "score": _("Score"),
    "predicted": _("Chance to win"),
    "owner": _("Owner"),
    "source": _("Source"),
    "created": pgettext_lazy("record column", "Created"),
}
SORT_CHOICES = [
    ("-created_at", _("Newest first")),
    ("created_at", _("Oldest first")),
    ("-score", _("Highest score")),
    ("score", _("Lowest score")),
    ("-predicted_score", _("Highest predicted chance")),
    ("name", _("Name (A–Z)")),
    ("-name", _("Name (Z–A)")),
]


class LeadFilterForm(forms.Form):
    """The filter bar; its field names are the list's query parameters, so a filtered list's
    URL is the form's GET (the selectors parse and check them)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)
    source = forms.CharField(
        label=_("Source"), required=False, widget=forms.TextInput(attrs={"list": "lead-sources"})
    )
    utm_campaign = forms.CharField(label="utm_campaign", required=False)
    score_min = forms.IntegerField(
        label=_("Score at least"),
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, workspace: Workspace, viewer: User, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "filter-%s")
        super().__init__(*args, **kwargs)
        status_field = cast(forms.ChoiceField, self.fields["status"])
        status_field.choices = [
            ("", gettext("Any status")),
            ("open", gettext("Open (new, working, qualified)")),
            *STATUS_CHOICES,
        ]
        self.owners = owner_choices(workspace=workspace, viewer=viewer)
        owner_field = cast(forms.ChoiceField, self.fields["owner"])
        owner_field.choices = [
            ("", gettext("Anyone")),
            ("me", gettext("Me")),
            ("none", gettext("No owner")),
        ] + [(str(u.pk), u.display_name) for u in self.owners]
        self.teams = team_choices(workspace=workspace)
        team_field = cast(forms.ChoiceField, self.fields["team"])
        team_field.choices = [("", gettext("Any team")), ("none", gettext("No team"))] + [
            (str(t.pk), t.name) for t in self.teams
        ]

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name != "q"]

    def chips(self) -> list[Chip]:
        """The filters in force, as people read them."""
        if not self.is_bound:
            return []
        chips = []
        for name, field in self.fields.items():
            raw = self.data.get(name, "")
            if not raw or name == "q":
                continue
            shown = str(raw)
            if isinstance(field, forms.ChoiceField):
                shown = str(dict(cast(Any, field.choices)).get(raw, raw))
            chips.append(Chip(name, field.label, shown))
        return chips

    def add_filter_errors(self, exc: ValidationFailed) -> None:
        for error in exc.errors:
            self.add_error(error.field if error.field in self.fields else None, error.message)
