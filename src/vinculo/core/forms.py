"""Forms of the settings area and the invitation page: they parse input; the services validate.

Each form renders its fields through `core/settings/_field.html` (label, input, help, error
next to the field, with the ids Django's `aria-describedby` points at). Errors a service
raises are put next to their field with `add_service_errors`; the core services of tags and
custom fields word their messages in English for the API, so the pages word the common ones
themselves, in the user's language.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.core.exceptions import ValidationFailed
from vinculo.core.models import CustomFieldObject, CustomFieldType, Workspace
from vinculo.core.roles import Role
from vinculo.core.services import APIKEY_NAME_MAX, CURRENCIES, TAG_COLORS, TAG_NAME_MAX
from vinculo.web.shell import common_time_zones


class FieldRenderer(DjangoTemplates):
    field_template_name = "core/settings/_field.html"


class PageForm(forms.Form):
    """A form whose fields render with the product's field markup."""

    default_renderer = FieldRenderer()
    # (field, service error code) → how the page says it.
    service_messages: ClassVar[dict[tuple[str, str], Promise | str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def add_service_errors(self, exc: ValidationFailed) -> None:
        for error in exc.errors:
            name = error.field.split(".", 1)[0]
            message = self.service_messages.get((name, error.code), error.message)
            self.add_error(name if name in self.fields else None, str(message))


CURRENCY_NAMES: dict[str, Promise] = {
    "BRL": _("Brazilian real"),
    "ARS": _("Argentine peso"),
    "BOB": _("Bolivian boliviano"),
    "CLP": _("Chilean peso"),
    "COP": _("Colombian peso"),
    "MXN": _("Mexican peso"),
    "PEN": _("Peruvian sol"),
    "PYG": _("Paraguayan guarani"),
    "UYU": _("Uruguayan peso"),
    "USD": _("US dollar"),
    "EUR": _("Euro"),
    "GBP": _("Pound sterling"),
    "CAD": _("Canadian dollar"),
    "CHF": _("Swiss franc"),
    "JPY": _("Japanese yen"),
    "CNY": _("Chinese yuan"),
    "AUD": _("Australian dollar"),
}

TAG_COLOR_NAMES: dict[str, Promise] = {
    "gray": _("Gray"),
    "red": _("Red"),
    "orange": _("Orange"),
    "amber": _("Amber"),
    "yellow": _("Yellow"),
    "lime": _("Lime"),
    "green": _("Green"),
    "teal": _("Teal"),
    "cyan": _("Cyan"),
    "blue": _("Blue"),
    "indigo": _("Indigo"),
    "violet": _("Violet"),
    "purple": _("Purple"),
    "pink": _("Pink"),
}


def _currency_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} · {CURRENCY_NAMES.get(code, code)}") for code in CURRENCIES]


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone.replace("_", " ")) for zone in common_time_zones()]


class WorkspaceForm(PageForm):
    name = forms.CharField(label=_("Workspace name"), max_length=120)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=_time_zone_choices,
        help_text=_("Dates are shown in it to members who have not chosen their own."),
    )
    currency = forms.ChoiceField(
        label=_("Currency"),
        choices=_currency_choices,
        help_text=_("Amounts without a currency of their own are in this one."),
    )
    locale = forms.ChoiceField(
        label=_("Language"),
        choices=lambda: list(settings.LANGUAGES),
        help_text=_("The language of invitations and other emails the workspace sends."),
    )

    @classmethod
    def for_workspace(cls, workspace: Workspace, data: Any = None) -> WorkspaceForm:
        return cls(
            data,
            initial={
                "name": workspace.name,
                "time_zone": workspace.time_zone,
                "currency": workspace.currency,
                "locale": workspace.locale,
            },
        )


class InvitationForm(PageForm):
    email = forms.EmailField(
        label=pgettext_lazy("address", "Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.SALES)


class RoleForm(PageForm):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class TeamForm(PageForm):
    name = forms.CharField(label=_("Team name"), max_length=120)
    lead = forms.TypedChoiceField(
        label=pgettext_lazy("team", "Lead"),
        coerce=int,
        required=False,
        empty_value=None,
        choices=(),
    )
    members = forms.TypedMultipleChoiceField(
        label=_("Members"),
        coerce=int,
        required=False,
        choices=(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Members with a team-scoped role see the records of their teammates."),
    )

    service_messages: ClassVar[dict[tuple[str, str], Promise | str]] = {}

    def __init__(self, *args: Any, people: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead"].choices = [("", _("No lead")), *people]  # type: ignore[attr-defined]
        self.fields["members"].choices = people  # type: ignore[attr-defined]


CHOICES_HELP = _("One choice per line. Only for choice and multiple-choice fields.")
CUSTOMFIELD_MESSAGES: dict[tuple[str, str], Promise | str] = {
    ("key", "taken"): _(
        "Another field of this object uses this key (perhaps a deleted one you can restore)."
    ),
    ("key", "invalid"): _(
        "Use lower-case letters, digits and underscores, starting with a letter."
    ),
    ("key", "required"): _("This field is required."),
    ("key", "too-long"): _("Use at most 60 characters."),
    ("label", "required"): _("This field is required."),
    ("label", "invalid"): _("The label cannot hold control characters."),
    ("choices", "required"): _("A choice field needs at least one choice."),
    ("choices", "not-allowed"): _("Only choice and multiple-choice fields have choices."),
    ("choices", "duplicate"): _("A choice appears twice."),
    ("choices", "too-long"): _("Each choice may have at most 100 characters."),
    ("choices", "too-many"): _("Use at most 200 choices."),
    ("choices", "invalid"): _("A choice cannot hold control characters."),
}


class ChoicesField(forms.CharField):
    """Choices typed one per line, returned as a list (blank lines dropped)."""

    widget = forms.Textarea(attrs={"rows": 4})

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(value)
        return value


class CustomFieldForm(PageForm):
    object_type = forms.ChoiceField(label=_("Object"), choices=CustomFieldObject.choices)
    label = forms.CharField(label=_("Label"), max_length=120)
    key = forms.CharField(
        label=_("Key"),
        max_length=60,
        help_text=_("How the API and imports name the field. It cannot change later."),
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    field_type = forms.ChoiceField(label=_("Type"), choices=CustomFieldType.choices)
    choices = ChoicesField(label=_("Choices"), required=False, help_text=CHOICES_HELP)
    required = forms.BooleanField(label=_("Required"), required=False)

    service_messages = CUSTOMFIELD_MESSAGES


class CustomFieldEditForm(PageForm):
    label = forms.CharField(label=_("Label"), max_length=120)
    choices = ChoicesField(label=_("Choices"), required=False, help_text=CHOICES_HELP)
    required = forms.BooleanField(label=_("Required"), required=False)

    service_messages = CUSTOMFIELD_MESSAGES


class TagForm(PageForm):
    name = forms.CharField(label=_("Name"), max_length=TAG_NAME_MAX)
    color = forms.ChoiceField(
        label=_("Color"),
        choices=[(c, TAG_COLOR_NAMES.get(c, c)) for c in TAG_COLORS],
        initial="gray",
    )

    service_messages: ClassVar[dict[tuple[str, str], Promise | str]] = {
        ("name", "taken"): _("Another tag has this name (perhaps a deleted one you can restore)."),
        ("name", "required"): _("This field is required."),
        ("name", "invalid"): _("The name cannot hold control characters."),
    }


class ApiKeyForm(PageForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=APIKEY_NAME_MAX,
        required=False,
        help_text=_("Where the key is used, to recognise it later (e.g. Zapier, ERP)."),
    )

    service_messages: ClassVar[dict[tuple[str, str], Promise | str]] = {
        ("name", "invalid"): _("The name cannot hold control characters."),
    }


class InvitationAcceptForm(PageForm):
    full_name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not a common password."),
    )
    password_again = forms.CharField(
        label=_("Password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password"), cleaned.get("password_again")
        if first and second and first != second:
            self.add_error("password_again", _("The two passwords differ."))
        return cleaned
