"""The lead fields a web form can ask for, and how each is shown to a visitor.

A form stores its fields as `[{"name": …, "label": …, "required": bool}, …]` in the order
shown. `name` is a lead field below or `cf:<key>` for a custom field defined on leads; an
empty label shows the field's own name in the visitor's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.contacts.models import CompanySize
from vinculo.core.models import CustomFieldDefinition, CustomFieldObject, CustomFieldType

if TYPE_CHECKING:
    from vinculo.core.models import Workspace

CUSTOM_PREFIX = "cf:"
LEAD_OBJECT = "lead"
LABEL_MAX = 120
FIELDS_MAX = 30
VALUE_MAX = 5000


# Countries offered in the country list: Latin America first (where Vínculo's customers sell),
# then the markets they most often sell to. The value stored is the ISO 3166 code.
COUNTRIES: tuple[tuple[str, Promise], ...] = (
    ("BR", _("Brazil")),
    ("AR", _("Argentina")),
    ("BO", _("Bolivia")),
    ("CL", _("Chile")),
    ("CO", _("Colombia")),
    ("CR", _("Costa Rica")),
    ("CU", _("Cuba")),
    ("DO", _("Dominican Republic")),
    ("EC", _("Ecuador")),
    ("SV", _("El Salvador")),
    ("GT", _("Guatemala")),
    ("HN", _("Honduras")),
    ("MX", _("Mexico")),
    ("NI", _("Nicaragua")),
    ("PA", _("Panama")),
    ("PY", _("Paraguay")),
    ("PE", _("Peru")),
    ("PR", _("Puerto Rico")),
    ("UY", _("Uruguay")),
    ("VE", _("Venezuela")),
    ("AO", _("Angola")),
    ("MZ", _("Mozambique")),
    ("PT", _("Portugal")),
    ("ES", _("Spain")),
    ("FR", _("France")),
    ("DE", _("Germany")),
    ("IT", _("Italy")),
    ("GB", _("United Kingdom")),
    ("CA", _("Canada")),
    ("US", _("United States")),
    ("CN", _("China")),
    ("JP", _("Japan")),
    ("IN", _("India")),
)


def _company_sizes() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in CompanySize.choices]


def _countries() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in COUNTRIES]


@dataclass(frozen=True)
class FormField:
    """How one field is asked: its default label, the input, what browsers may autofill."""

    name: str
    label: Promise | str
    input: str = "text"  # text, email, tel, url, textarea, select, number, date, checkbox
    autocomplete: str = "on"
    max_length: int | None = None
    choices: Callable[[], list[tuple[str, str]]] | None = None
    custom: CustomFieldDefinition | None = field(default=None, compare=False)


LEAD_FORM_FIELDS: tuple[FormField, ...] = (
    FormField("first_name", _("First name"), autocomplete="given-name", max_length=100),
    FormField("last_name", _("Last name"), autocomplete="family-name", max_length=100),
    FormField("email", _("Email"), input="email", autocomplete="email", max_length=254),
    FormField("phone", _("Phone"), input="tel", autocomplete="tel", max_length=40),
    FormField("company_name", _("Company"), autocomplete="organization", max_length=200),
    FormField("job_title", _("Job title"), autocomplete="organization-title", max_length=120),
    FormField(
        "company_size",
        _("Company size"),
        input="select",
        autocomplete="off",
        choices=_company_sizes,
    ),
    FormField("industry", _("Industry"), autocomplete="off", max_length=100),
    FormField("country", _("Country"), input="select", autocomplete="country", choices=_countries),
    FormField(
        "state", pgettext_lazy("address", "State"), autocomplete="address-level1", max_length=100
    ),
    FormField("city", _("City"), autocomplete="address-level2", max_length=100),
    FormField("message", _("Message"), input="textarea", autocomplete="off", max_length=VALUE_MAX),
    FormField("website", _("Website"), input="url", autocomplete="url", max_length=300),
)
LEAD_FORM_FIELD_NAMES = tuple(f.name for f in LEAD_FORM_FIELDS)
_BY_NAME = {f.name: f for f in LEAD_FORM_FIELDS}

# A new form asks for these, in this order.
DEFAULT_FIELDS: tuple[dict[str, Any], ...] = (
    {"name": "first_name", "label": "", "required": True},
    {"name": "last_name", "label": "", "required": False},
    {"name": "email", "label": "", "required": True},
    {"name": "company_name", "label": "", "required": False},
    {"name": "message", "label": "", "required": False},
)

_CUSTOM_INPUTS = {
    CustomFieldType.TEXT: "text",
    CustomFieldType.NUMBER: "number",
    CustomFieldType.MONEY: "number",
    CustomFieldType.DATE: "date",
    CustomFieldType.BOOLEAN: "checkbox",
    CustomFieldType.CHOICE: "select",
}


def custom_fields_supported() -> bool:
    """Custom fields can be defined on leads (the object type exists in the settings)."""
    return LEAD_OBJECT in CustomFieldObject.values


def lead_custom_fields(workspace: Workspace) -> dict[str, CustomFieldDefinition]:
    """The workspace's live custom fields on leads a form can ask for, by key (one query, or
    none while leads have no custom fields). Multiple choices are left out: a public form
    asks one thing per field."""
    if not custom_fields_supported():
        return {}
    rows = (
        CustomFieldDefinition.objects.for_workspace(workspace)
        .filter(object_type=LEAD_OBJECT, deleted_at__isnull=True)
        .order_by("position", "id")
    )
    return {d.key: d for d in rows if d.field_type in _CUSTOM_INPUTS}


def _custom_choices(definition: CustomFieldDefinition) -> Callable[[], list[tuple[str, str]]]:
    def choices() -> list[tuple[str, str]]:
        out = []
        for item in definition.choices or []:
            if isinstance(item, dict):
                out.append((str(item.get("value", "")), str(item.get("label", item.get("value")))))
            else:
                out.append((str(item), str(item)))
        return out

    return choices


def form_field(name: str, custom: dict[str, CustomFieldDefinition]) -> FormField | None:
    """The field a stored name stands for; None when it is unknown (a custom field since
    deleted), so the form simply stops asking for it."""
    if name.startswith(CUSTOM_PREFIX):
        definition = custom.get(name[len(CUSTOM_PREFIX) :])
        if definition is None:
            return None
        kind = _CUSTOM_INPUTS[CustomFieldType(definition.field_type)]
        return FormField(
            name,
            definition.label,
            input=kind,
            autocomplete="off",
            max_length=2000 if kind == "text" else None,
            choices=_custom_choices(definition) if kind == "select" else None,
            custom=definition,
        )
    return _BY_NAME.get(name)


def available_fields(custom: dict[str, CustomFieldDefinition]) -> list[FormField]:
    """Every field the builder offers: the lead's own, then its custom fields."""
    extra = [form_field(f"{CUSTOM_PREFIX}{key}", custom) for key in custom]
    return [*LEAD_FORM_FIELDS, *(f for f in extra if f is not None)]


def uses_custom_fields(fields: list[dict[str, Any]]) -> bool:
    return any(str(f.get("name", "")).startswith(CUSTOM_PREFIX) for f in fields)
