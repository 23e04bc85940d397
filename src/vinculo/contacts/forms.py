"""Forms and list columns of the contacts and accounts pages.

A form here only parses what a person typed into the data of one service call (`to_data`) and
puts the service's own field errors back next to the inputs (`add_service_errors`); the rules
live in `contacts.validation`, so the pages, the API and imports refuse the same things.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django import forms
from django.utils import timezone
from django.utils.formats import date_format, get_format, number_format
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from vinculo.contacts.models import Account, CompanySize, Contact, LifecycleStage
from vinculo.contacts.selectors import owner_choices
from vinculo.core.custom_fields import CF_PARAM_PREFIX
from vinculo.core.exceptions import FieldError, ValidationFailed
from vinculo.core.models import CustomFieldDefinition, CustomFieldType
from vinculo.web.formatting import phone_display

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

# ---------------------------------------------------------------------------------------------
# Display of stored values, in the person's language and time zone

STAGE_COLORS: dict[str, str] = {
    LifecycleStage.SUBSCRIBER: "gray",
    LifecycleStage.LEAD: "blue",
    LifecycleStage.OPPORTUNITY: "violet",
    LifecycleStage.CUSTOMER: "green",
    LifecycleStage.CHURNED: "red",
}
# The stages as the pages name them. The model's labels share their English words with other
# catalogues read first ("Lead" is a team's leader in core), so the pages use their own.
STAGE_CHOICES = [
    (LifecycleStage.SUBSCRIBER.value, pgettext_lazy("lifecycle stage", "Subscriber")),
    (LifecycleStage.LEAD.value, pgettext_lazy("lifecycle stage", "Lead")),
    (LifecycleStage.OPPORTUNITY.value, pgettext_lazy("lifecycle stage", "Opportunity")),
    (LifecycleStage.CUSTOMER.value, pgettext_lazy("lifecycle stage", "Customer")),
    (LifecycleStage.CHURNED.value, pgettext_lazy("lifecycle stage", "Churned")),
]
_STAGE_LABELS = dict(STAGE_CHOICES)


def stage_label(value: str) -> str:
    return str(_STAGE_LABELS.get(value, value))


CURRENCY_SYMBOLS = {"BRL": "R$", "USD": "US$", "EUR": "€", "GBP": "£"}
LANGUAGE_CHOICES = (
    ("pt-br", _("Portuguese (Brazil)")),
    ("pt", _("Portuguese")),
    ("en", _("English")),
    ("es", _("Spanish")),
    ("fr", _("French")),
    ("de", _("German")),
    ("it", _("Italian")),
)
_LANGUAGE_LABELS = dict(LANGUAGE_CHOICES)


def initials(name: str) -> str:
    """Up to two letters for an avatar."""
    letters = [part[0] for part in name.replace("@", " ").split() if part[:1].isalnum()]
    return "".join(letters[:2]).upper() or "?"


def money_display(value: Any, currency: str) -> str:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    return f"{symbol} {number_format(amount, 2, use_l10n=True, force_grouping=True)}"


def date_display(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, dt.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return ""


def _choice_labels(definition: CustomFieldDefinition) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in definition.choices or []:
        if isinstance(item, Mapping) and "value" in item:
            labels[str(item["value"])] = str(item.get("label") or item["value"])
        else:
            labels[str(item)] = str(item)
    return labels


def custom_value_display(definition: CustomFieldDefinition, value: Any, currency: str) -> str:
    """A stored custom-field value as people read it ("" when unset)."""
    if value is None or value == "" or value == []:
        return ""
    kind = definition.field_type
    if kind == CustomFieldType.MONEY:
        return money_display(value, currency)
    if kind == CustomFieldType.NUMBER:
        return number_format(value, use_l10n=True, force_grouping=True)
    if kind == CustomFieldType.DATE:
        return date_display(value)
    if kind == CustomFieldType.BOOLEAN:
        return str(_("Yes") if value is True else _("No"))
    if kind == CustomFieldType.CHOICE:
        return _choice_labels(definition).get(str(value), str(value))
    if kind == CustomFieldType.MULTI_CHOICE and isinstance(value, list):
        labels = _choice_labels(definition)
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    return str(value)


def language_display(code: str) -> str:
    return str(_LANGUAGE_LABELS.get(code, code))


# ---------------------------------------------------------------------------------------------
# List columns


@dataclass(frozen=True)
class Column:
    """A column a list can show. `sort` names the list sort its header switches to (only
    sorts an index serves); `kind` picks how the cell is drawn."""

    key: str
    label: Any
    sort: str = ""
    kind: str = "text"
    definition: CustomFieldDefinition | None = None


CONTACT_COLUMNS = (
    Column("name", _("Name"), sort="name", kind="name"),
    Column("email", pgettext_lazy("record field", "Email"), kind="email"),
    Column("phone", _("Phone"), kind="phone"),
    Column("account", _("Company"), kind="account"),
    Column("job_title", _("Job title")),
    Column("lifecycle_stage", pgettext_lazy("record column", "Stage"), kind="stage"),
    Column("owner", _("Owner")),
    Column("tags", _("Tags"), kind="tags"),
    Column("source", _("Source")),
    Column("city", _("City")),
    Column("state", _("State")),
    Column("country", _("Country")),
    Column("created_at", pgettext_lazy("record column", "Created"), sort="created_at"),
    Column("updated_at", pgettext_lazy("record column", "Updated"), sort="updated_at"),
    Column("last_activity_at", _("Last activity")),
)
CONTACT_DEFAULT_COLUMNS = (
    "name",
    "email",
    "phone",
    "account",
    "lifecycle_stage",
    "owner",
    "tags",
)
ACCOUNT_COLUMNS = (
    Column("name", _("Name"), sort="name", kind="name"),
    Column("domain", _("Domain")),
    Column("industry", _("Industry")),
    Column("size", _("Size")),
    Column("phone", _("Phone"), kind="phone"),
    Column("website", _("Website"), kind="website"),
    Column("owner", _("Owner")),
    Column("tags", _("Tags"), kind="tags"),
    Column("city", _("City")),
    Column("state", _("State")),
    Column("country", _("Country")),
    Column("created_at", pgettext_lazy("record column", "Created"), sort="created_at"),
    Column("updated_at", pgettext_lazy("record column", "Updated"), sort="updated_at"),
    Column("last_activity_at", _("Last activity")),
)
ACCOUNT_DEFAULT_COLUMNS = ("name", "domain", "industry", "city", "owner", "tags")


def custom_columns(definitions: Iterable[CustomFieldDefinition]) -> list[Column]:
    return [
        Column(f"{CF_PARAM_PREFIX}{d.key}", d.label, kind="custom", definition=d)
        for d in definitions
    ]


def cell_text(record: Contact | Account, column: Column, *, currency: str) -> str:
    """The plain text of one cell: what the export writes and the table shows for text
    columns."""
    key = column.key
    if column.definition is not None:
        return custom_value_display(
            column.definition, (record.custom_fields or {}).get(column.definition.key), currency
        )
    if key == "name":
        return record.display_name if isinstance(record, Contact) else record.name
    if key == "account":
        account = record.account if isinstance(record, Contact) else None
        return account.name if account is not None else ""
    if key == "owner":
        return record.owner.display_name if record.owner is not None else ""
    if key == "tags":
        return ", ".join(t.name for t in record.tags.all())
    if key == "lifecycle_stage" and isinstance(record, Contact):
        return stage_label(record.lifecycle_stage)
    if key == "size" and isinstance(record, Account):
        return str(record.get_size_display()) if record.size else ""
    if key == "phone":
        return phone_display(record.phone)
    value = getattr(record, key, "")
    if isinstance(value, dt.date):
        return date_display(value)
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# Service errors next to the inputs


# Messages that read better than the underlying library's (which may speak English only).
FRIENDLIER = {
    "invalid-email": _("Enter a valid email address, such as name@example.com."),
}


def _decimal_input(raw: str) -> str:
    """A number typed the way the person's language writes it ("1.234,50" in pt-BR) as the
    services read it ("1234.50"). Anything else passes unchanged for the service to refuse."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    decimal_sep = str(get_format("DECIMAL_SEPARATOR"))
    thousands_sep = str(get_format("THOUSAND_SEPARATOR"))
    if decimal_sep == "," and "," in text:
        text = text.replace(thousands_sep, "").replace(",", ".")
    elif decimal_sep == "." and thousands_sep == ",":
        text = text.replace(",", "")
    return text


def _localized_decimal(value: Any) -> str:
    try:
        return number_format(Decimal(str(value)), use_l10n=True)
    except InvalidOperation:
        return str(value)


class TextListInput(forms.Widget):
    """Several inputs of one name (a person's emails or phones); rendered by the template."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        getlist = getattr(data, "getlist", None)
        values = getlist(name) if getlist else data.get(name, [])
        return [v for v in values if isinstance(v, str)]


class TextListField(forms.Field):
    widget = TextListInput

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        return [v.strip() for v in value if v and v.strip()]


@dataclass(frozen=True)
class ListRow:
    index: int
    value: str
    error: str


class RecordForm(forms.Form):
    """What contact and account forms share: owner, tags, address, custom fields, and the
    way service errors find their inputs. `only` limits the form to some fields (a fact
    edited in place on the record page)."""

    object_type: ClassVar[str] = ""
    # Service field (the first part of a FieldError's dotted path) → this form's field.
    service_fields: ClassVar[dict[str, str]] = {}
    list_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *args: Any,
        workspace: Workspace,
        viewer: User,
        definitions: Iterable[CustomFieldDefinition] = (),
        instance: Contact | Account | None = None,
        only: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.workspace = workspace
        self.viewer = viewer
        self.instance = instance
        self.definitions = [d for d in definitions if d.object_type == self.object_type]
        self.item_errors: dict[str, dict[int, str]] = {}
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(instance)
        super().__init__(*args, **kwargs)
        for definition in self.definitions:
            self.fields[self.cf_name(definition.key)] = self._custom_field(definition)
        wanted = set(only) if only is not None else None
        if wanted is not None:
            for name in list(self.fields):
                if name not in wanted:
                    del self.fields[name]
            # A fact edited in place: its input takes the focus as it appears.
            for bound_field in self.fields.values():
                bound_field.widget.attrs["autofocus"] = True
        if "owner" in self.fields:
            owner_field = self.fields["owner"]
            assert isinstance(owner_field, forms.ChoiceField)
            owner_field.choices = [("", gettext("No owner"))] + [
                (str(u.pk), u.display_name)
                for u in owner_choices(workspace=workspace, viewer=viewer)
            ]

    # -- custom fields ---------------------------------------------------------------------

    @staticmethod
    def cf_name(key: str) -> str:
        return f"cf_{key}"

    def _custom_field(self, definition: CustomFieldDefinition) -> forms.Field:
        label = definition.label
        kind = definition.field_type
        options = [(v, label_) for v, label_ in _choice_labels(definition).items()]
        if kind == CustomFieldType.NUMBER:
            return forms.CharField(
                label=label,
                required=False,
                widget=forms.NumberInput(attrs={"step": "any"}),
            )
        if kind == CustomFieldType.MONEY:
            return forms.CharField(
                label=label,
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
            )
        if kind == CustomFieldType.DATE:
            return forms.CharField(
                label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
            )
        if kind == CustomFieldType.BOOLEAN:
            return forms.ChoiceField(
                label=label,
                required=False,
                choices=[("", "—"), ("true", gettext("Yes")), ("false", gettext("No"))],
            )
        if kind == CustomFieldType.CHOICE:
            return forms.ChoiceField(label=label, required=False, choices=[("", "—"), *options])
        if kind == CustomFieldType.MULTI_CHOICE:
            return forms.MultipleChoiceField(
                label=label,
                required=False,
                choices=options,
                widget=forms.CheckboxSelectMultiple,
            )
        return forms.CharField(label=label, required=False)

    def custom_fields(self) -> list[forms.BoundField]:
        return [
            self[self.cf_name(d.key)]
            for d in self.definitions
            if self.cf_name(d.key) in self.fields
        ]

    def _custom_data(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for definition in self.definitions:
            name = self.cf_name(definition.key)
            if name not in self.fields:
                continue
            value = self.cleaned_data.get(name)
            if definition.field_type == CustomFieldType.MONEY and isinstance(value, str):
                value = _decimal_input(value)
            if definition.field_type == CustomFieldType.MULTI_CHOICE:
                value = list(value or [])
            values[definition.key] = value if value not in (None, "") else None
        return values

    def _custom_initial(self, record: Contact | Account) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        stored = record.custom_fields or {}
        for definition in self.definitions:
            value = stored.get(definition.key)
            if value is None:
                continue
            if definition.field_type == CustomFieldType.BOOLEAN:
                value = "true" if value else "false"
            elif definition.field_type == CustomFieldType.MONEY:
                value = _localized_decimal(value)
            initial[self.cf_name(definition.key)] = value
        return initial

    # -- shared pieces ---------------------------------------------------------------------

    def initial_from(self, record: Contact | Account) -> dict[str, Any]:
        raise NotImplementedError

    def _common_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        cleaned = self.cleaned_data
        for name in ("street", "city", "state", "postal_code", "country"):
            if name in self.fields:
                data[name] = cleaned.get(name, "")
        if "country" in data:
            data["country"] = data["country"].strip().upper()
        if "owner" in self.fields:
            owner = cleaned.get("owner") or ""
            data["owner_id"] = int(owner) if owner.isdigit() else None
        if "tags" in self.fields:
            text = cleaned.get("tags") or ""
            data["tags"] = [t.strip() for t in text.split(",") if t.strip()]
        if self.definitions and any(self.cf_name(d.key) in self.fields for d in self.definitions):
            data["custom_fields"] = self._custom_data()
        return data

    def to_data(self) -> dict[str, Any]:
        """The service's `data`: only the fields this form holds."""
        raise NotImplementedError

    def list_rows(self, name: str) -> list[ListRow]:
        """The inputs of a list field (emails, phones): one per value and an empty one to add
        another, each with its own error."""
        if self.is_bound:
            raw = self.fields[name].widget.value_from_datadict(self.data, self.files, name)
            values = [v.strip() for v in raw if v.strip()]
        else:
            values = list(self.initial.get(name) or [])
        errors = self.item_errors.get(name, {})
        rows = [ListRow(i, v, errors.get(i, "")) for i, v in enumerate(values)]
        rows.append(ListRow(len(values), "", errors.get(len(values), "")))
        return rows

    def add_service_errors(self, exc: ValidationFailed) -> None:
        """Each FieldError next to its input: `emails.1` next to the second email,
        `custom_fields.size` next to the Size field; the rest above the form."""
        for error in exc.errors:
            self._add_service_error(error)

    def _add_service_error(self, error: FieldError) -> None:
        message = str(FRIENDLIER.get(error.code, error.message))
        head, _sep, rest = error.field.partition(".")
        if head == "custom_fields" and rest:
            name = self.cf_name(rest)
        else:
            name = self.service_fields.get(head, head)
        if name not in self.fields:
            self.add_error(None, message)
            return
        if name in self.list_fields:
            # `email`/`phone` are the primary slot, the first input.
            index = int(rest) if rest.isdigit() else 0
            self.item_errors.setdefault(name, {})[index] = message
        self.add_error(name, message)


def _owner_field() -> forms.ChoiceField:
    return forms.ChoiceField(label=_("Owner"), required=False)


def _tags_field() -> forms.CharField:
    return forms.CharField(
        label=_("Tags"),
        required=False,
        help_text=_("Separate tags with commas."),
        widget=forms.TextInput(attrs={"list": "tag-options", "autocomplete": "off"}),
    )


def _text(label: Any, **attrs: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=forms.TextInput(attrs=attrs))


class ContactForm(RecordForm):
    object_type = "contact"
    service_fields: ClassVar[dict[str, str]] = {
        "email": "emails",
        "emails": "emails",
        "phone": "phones",
        "phones": "phones",
        "account_id": "account",
        "owner_id": "owner",
        "tags": "tags",
    }
    list_fields = ("emails", "phones")

    first_name = _text(_("First name"), autocomplete="off")
    last_name = _text(_("Last name"), autocomplete="off")
    emails = TextListField(label=pgettext_lazy("record field", "Email"), required=False)
    phones = TextListField(label=_("Phone"), required=False)
    job_title = _text(_("Job title"))
    account = forms.CharField(label=_("Company"), required=False)
    lifecycle_stage = forms.ChoiceField(
        label=_("Lifecycle stage"), choices=STAGE_CHOICES, required=False
    )
    owner = _owner_field()
    source = _text(_("Source"))
    tags = _tags_field()
    birthdate = forms.CharField(
        label=_("Birthdate"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", "—"), *LANGUAGE_CHOICES]
    )
    street = _text(_("Street"), autocomplete="street-address")
    city = _text(_("City"))
    state = _text(_("State"))
    postal_code = _text(_("Postal code"), autocomplete="postal-code")
    country = forms.CharField(
        label=_("Country"),
        required=False,
        help_text=_("Two-letter code, such as BR."),
        widget=forms.TextInput(attrs={"maxlength": "2", "autocomplete": "country"}),
    )

    def __init__(self, *args: Any, account_label: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account_label = account_label
        if self.instance is not None and not account_label:
            account = getattr(self.instance, "account", None)
            self.account_label = account.name if account is not None else ""
        if "language" in self.fields:
            current = self.initial.get("language") or self.data.get("language") or ""
            language_field = self.fields["language"]
            assert isinstance(language_field, forms.ChoiceField)
            if current and current not in dict(cast(Any, language_field.choices)):
                language_field.choices = [*cast(Any, language_field.choices), (current, current)]

    @property
    def email_rows(self) -> list[ListRow]:
        return self.list_rows("emails")

    @property
    def phone_rows(self) -> list[ListRow]:
        return self.list_rows("phones")

    def initial_from(self, record: Contact | Account) -> dict[str, Any]:
        assert isinstance(record, Contact)
        return {
            "first_name": record.first_name,
            "last_name": record.last_name,
            "emails": list(record.emails),
            "phones": [phone_display(p) for p in record.phones],
            "job_title": record.job_title,
            "account": str(record.account_id or ""),
            "lifecycle_stage": record.lifecycle_stage,
            "owner": str(record.owner_id or ""),
            "source": record.source,
            "tags": ", ".join(t.name for t in record.tags.all()),
            "birthdate": record.birthdate.isoformat() if record.birthdate else "",
            "language": record.language,
            "street": record.street,
            "city": record.city,
            "state": record.state,
            "postal_code": record.postal_code,
            "country": record.country,
            **self._custom_initial(record),
        }

    def to_data(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        data: dict[str, Any] = {}
        for name in ("first_name", "last_name", "job_title", "source", "language"):
            if name in self.fields:
                data[name] = cleaned.get(name, "")
        if "emails" in self.fields:
            data["emails"] = cleaned.get("emails") or []
        if "phones" in self.fields:
            data["phones"] = cleaned.get("phones") or []
        if "lifecycle_stage" in self.fields:
            data["lifecycle_stage"] = cleaned.get("lifecycle_stage") or LifecycleStage.LEAD
        if "birthdate" in self.fields:
            data["birthdate"] = cleaned.get("birthdate") or None
        if "account" in self.fields:
            account = (cleaned.get("account") or "").strip()
            data["account_id"] = int(account) if account.isdigit() and len(account) < 19 else None
        return data | self._common_data()


class AccountForm(RecordForm):
    object_type = "account"
    service_fields: ClassVar[dict[str, str]] = {"owner_id": "owner", "tags": "tags"}

    name = forms.CharField(label=_("Name"), required=False)
    domain = _text(_("Domain"), placeholder="example.com")
    industry = _text(_("Industry"))
    size = forms.ChoiceField(
        label=_("Size"), required=False, choices=[("", "—"), *CompanySize.choices]
    )
    phone = forms.CharField(
        label=_("Phone"), required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    website = _text(_("Website"), placeholder="https://")
    owner = _owner_field()
    tags = _tags_field()
    street = _text(_("Street"), autocomplete="street-address")
    city = _text(_("City"))
    state = _text(_("State"))
    postal_code = _text(_("Postal code"), autocomplete="postal-code")
    country = forms.CharField(
        label=_("Country"),
        required=False,
        help_text=_("Two-letter code, such as BR."),
        widget=forms.TextInput(attrs={"maxlength": "2", "autocomplete": "country"}),
    )

    def initial_from(self, record: Contact | Account) -> dict[str, Any]:
        assert isinstance(record, Account)
        return {
            "name": record.name,
            "domain": record.domain,
            "industry": record.industry,
            "size": record.size,
            "phone": phone_display(record.phone),
            "website": record.website,
            "owner": str(record.owner_id or ""),
            "tags": ", ".join(t.name for t in record.tags.all()),
            "street": record.street,
            "city": record.city,
            "state": record.state,
            "postal_code": record.postal_code,
            "country": record.country,
            **self._custom_initial(record),
        }

    def to_data(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        data: dict[str, Any] = {}
        for name in ("name", "domain", "industry", "size", "phone", "website"):
            if name in self.fields:
                data[name] = cleaned.get(name, "")
        return data | self._common_data()


# ---------------------------------------------------------------------------------------------
# Facts edited in place on a record page


@dataclass(frozen=True)
class Fact:
    """One line of a record's facts panel: `name` is the form field edited in place."""

    name: str
    label: Any
    value: str
    lines: tuple[str, ...] = ()


def _fact_values(record: Contact | Account, currency: str) -> dict[str, str]:
    values: dict[str, str] = {
        "street": record.street,
        "city": record.city,
        "state": record.state,
        "postal_code": record.postal_code,
        "country": record.country,
        "owner": record.owner.display_name if record.owner is not None else "",
    }
    if isinstance(record, Contact):
        values |= {
            "first_name": record.first_name,
            "last_name": record.last_name,
            "job_title": record.job_title,
            "account": record.account.name if record.account is not None else "",
            "lifecycle_stage": stage_label(record.lifecycle_stage),
            "source": record.source,
            "birthdate": date_display(record.birthdate) if record.birthdate else "",
            "language": language_display(record.language) if record.language else "",
        }
    else:
        values |= {
            "name": record.name,
            "domain": record.domain,
            "industry": record.industry,
            "size": str(record.get_size_display()) if record.size else "",
            "phone": phone_display(record.phone),
            "website": record.website,
        }
    return values


CONTACT_FACTS = (
    "first_name",
    "last_name",
    "emails",
    "phones",
    "job_title",
    "account",
    "lifecycle_stage",
    "owner",
    "source",
    "birthdate",
    "language",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
)
ACCOUNT_FACTS = (
    "name",
    "domain",
    "industry",
    "size",
    "phone",
    "website",
    "owner",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
)


def record_facts(
    record: Contact | Account,
    *,
    form_class: type[RecordForm],
    definitions: Iterable[CustomFieldDefinition],
    currency: str,
    only: str | None = None,
) -> list[Fact]:
    """The facts panel of a record (or its one fact `only`), custom fields last."""
    names = CONTACT_FACTS if isinstance(record, Contact) else ACCOUNT_FACTS
    values = _fact_values(record, currency)
    facts: list[Fact] = []
    for name in names:
        if only is not None and name != only:
            continue
        label = form_class.base_fields[name].label
        if name == "emails" and isinstance(record, Contact):
            facts.append(Fact(name, _("Emails"), "", tuple(record.emails)))
        elif name == "phones" and isinstance(record, Contact):
            facts.append(
                Fact(name, _("Phones"), "", tuple(phone_display(p) for p in record.phones))
            )
        else:
            facts.append(Fact(name, label, values.get(name, "")))
    for definition in definitions:
        if definition.object_type != form_class.object_type:
            continue
        name = RecordForm.cf_name(definition.key)
        if only is not None and name != only:
            continue
        value = (record.custom_fields or {}).get(definition.key)
        facts.append(
            Fact(name, definition.label, custom_value_display(definition, value, currency))
        )
    return facts


# ---------------------------------------------------------------------------------------------
# Saved views


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of the view"), max_length=120)
    shared = forms.BooleanField(label=_("Share with the workspace"), required=False)


# ---------------------------------------------------------------------------------------------
# The filter bar of the lists


@dataclass(frozen=True)
class Chip:
    """An active filter, shown with a button that removes it."""

    param: str
    label: Any
    value: str


class FilterForm(forms.Form):
    """The filter bar. Its field names are the list's query parameters (`cf.<key>` for custom
    fields), so the URL of a filtered list is the form's GET; the list selectors parse them."""

    object_type: ClassVar[str] = ""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    tag = forms.ChoiceField(label=_("Tag"), required=False)
    city = forms.CharField(label=_("City"), required=False)
    state = forms.CharField(label=_("State"), required=False)
    country = forms.CharField(
        label=_("Country"), required=False, widget=forms.TextInput(attrs={"maxlength": "2"})
    )
    created_after = forms.CharField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = forms.CharField(
        label=_("Created until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self,
        *args: Any,
        workspace: Workspace,
        viewer: User,
        definitions: Iterable[CustomFieldDefinition] = (),
        tag_names: Iterable[str] = (),
        account_label: str = "",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("auto_id", "filter-%s")
        super().__init__(*args, **kwargs)
        self.account_label = account_label
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ChoiceField)
        owners = owner_choices(workspace=workspace, viewer=viewer)
        owner_field.choices = [
            ("", gettext("Anyone")),
            ("me", gettext("Me")),
            ("none", gettext("No owner")),
        ] + [(str(u.pk), u.display_name) for u in owners]
        tag_field = self.fields["tag"]
        assert isinstance(tag_field, forms.ChoiceField)
        tags = list(tag_names)
        current_tag = self.data.get("tag", "") if self.is_bound else ""
        if current_tag and current_tag.casefold() not in {t.casefold() for t in tags}:
            tags.append(current_tag)
        tag_field.choices = [("", gettext("Any tag")), *((t, t) for t in tags)]
        # Also offered by the bulk actions (assign to, add a tag), from the same reads.
        self.owners = owners
        self.tag_names = tags
        self.definitions = [d for d in definitions if d.object_type == self.object_type]
        for definition in self.definitions:
            self.fields[f"{CF_PARAM_PREFIX}{definition.key}"] = self._custom_filter(definition)

    @staticmethod
    def _custom_filter(definition: CustomFieldDefinition) -> forms.Field:
        kind = definition.field_type
        if kind in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE):
            choices = [("", gettext("Any")), *_choice_labels(definition).items()]
            return forms.ChoiceField(label=definition.label, required=False, choices=choices)
        if kind == CustomFieldType.BOOLEAN:
            return forms.ChoiceField(
                label=definition.label,
                required=False,
                choices=[("", gettext("Any")), ("true", gettext("Yes")), ("false", gettext("No"))],
            )
        if kind == CustomFieldType.DATE:
            return forms.CharField(
                label=definition.label,
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}),
            )
        if kind == CustomFieldType.NUMBER:
            return forms.CharField(
                label=definition.label,
                required=False,
                widget=forms.NumberInput(attrs={"step": "any"}),
            )
        return forms.CharField(label=definition.label, required=False)

    def custom_fields(self) -> list[forms.BoundField]:
        return [self[f"{CF_PARAM_PREFIX}{d.key}"] for d in self.definitions]

    def main_fields(self) -> list[forms.BoundField]:
        """Every filter of the panel but the search box, custom fields last."""
        return [self[name] for name in self.fields if name != "q" and "." not in name]

    def chips(self) -> list[Chip]:
        """The filters in force, as people read them."""
        if not self.is_bound:
            return []
        chips = []
        for name, field in self.fields.items():
            raw = self.data.get(name, "")
            if not raw:
                continue
            shown = str(raw)
            if name == "account":
                shown = self.account_label or f"#{raw}"
            elif isinstance(field, forms.ChoiceField):
                shown = str(dict(cast(Any, field.choices)).get(raw, raw))
            elif isinstance(field.widget, forms.DateInput):
                shown = date_display(raw)
            chips.append(Chip(name, field.label, shown))
        return chips

    def add_filter_errors(self, exc: ValidationFailed) -> None:
        for error in exc.errors:
            self.add_error(error.field if error.field in self.fields else None, error.message)


class ContactFilterForm(FilterForm):
    object_type = "contact"
    field_order = ("q", "owner", "lifecycle_stage", "tag", "account", "source")

    lifecycle_stage = forms.ChoiceField(
        label=_("Lifecycle stage"), required=False, choices=[("", "—"), *STAGE_CHOICES]
    )
    account = forms.CharField(label=_("Company"), required=False)
    source = forms.CharField(label=_("Source"), required=False)


class AccountFilterForm(FilterForm):
    object_type = "account"
    field_order = ("q", "owner", "industry", "size", "tag")

    industry = forms.CharField(label=_("Industry"), required=False)
    size = forms.ChoiceField(
        label=_("Size"), required=False, choices=[("", "—"), *CompanySize.choices]
    )
