"""Forms of the web form builder: they parse what the page sends; the services validate.

The settings of a form are an ordinary Django form. The fields it asks are rows of the
builder, one per lead field (include it or not, its label, required or not), posted in the
order they are shown: `field_order` repeats once per row, then `include_<name>`,
`label_<name>` and `required_<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from django import forms
from django.http import QueryDict
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from vinculo.contacts.privacy.services import CONSENT_PURPOSES
from vinculo.core.exceptions import ValidationFailed
from vinculo.core.forms import PageForm
from vinculo.marketing.fields import FormField, available_fields
from vinculo.marketing.models import WebForm

MESSAGE = "message"
REDIRECT = "redirect"


class WebFormSettingsForm(PageForm):
    # Lengths and required settings are the service's to check (one message per problem);
    # the inputs only carry maxlength for the browser.
    name = forms.CharField(
        label=_("Form name"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": "120"}),
        help_text=_("For your team; visitors do not see it."),
    )
    title = forms.CharField(
        label=_("Title shown on the form"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": "200"}),
    )
    introduction = forms.CharField(
        label=_("Introduction"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A sentence or two above the fields."),
    )
    submit_label = forms.CharField(
        label=_("Button label"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": "60"}),
        help_text=_("Empty: “Send”."),
    )
    consent_enabled = forms.BooleanField(label=_("Ask for consent with a checkbox"), required=False)
    consent_purpose = forms.CharField(
        label=_("What the consent is for"),
        required=False,
        widget=forms.TextInput(
            attrs={"list": "consent-purposes", "autocomplete": "off", "maxlength": "60"}
        ),
        help_text=_("Recorded in the person's consent log, e.g. email_marketing."),
    )
    consent_wording = forms.CharField(
        label=_("Exact wording next to the checkbox"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Stored word for word with each consent, as proof of what was agreed to."),
    )
    consent_required = forms.BooleanField(
        label=_("The visitor must tick it to send the form"), required=False
    )
    after_submit = forms.ChoiceField(
        label=_("What the visitor sees next"),
        choices=[
            (MESSAGE, _("Show a thank-you message")),
            (REDIRECT, _("Go to a page of your site")),
        ],
        widget=forms.RadioSelect,
        initial=MESSAGE,
        required=False,
    )
    thank_you_message = forms.CharField(
        label=_("Thank-you message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Empty: “Thank you! We received your message and will be in touch soon.”"),
    )
    redirect_url = forms.CharField(
        label=_("Page to go to"),
        required=False,
        widget=forms.URLInput(
            attrs={"placeholder": "https://www.example.com/thanks", "maxlength": "500"}
        ),
    )
    lead_source = forms.CharField(
        label=_("Lead source"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": "60"}),
        help_text=_("Stored on every lead this form makes, e.g. website or event_2026."),
    )
    allowed_origins = forms.CharField(
        label=_("Sites allowed to embed it"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://www.example.com"}),
        help_text=_("One address per line. Leave empty to allow any site."),
    )

    service_messages: ClassVar[dict[tuple[str, str], Promise | str]] = {}

    @classmethod
    def for_form(cls, form: WebForm | None, data: QueryDict | None = None) -> WebFormSettingsForm:
        if data is not None:
            return cls(data)
        if form is None:
            return cls(
                initial={
                    "consent_enabled": True,
                    "consent_purpose": "email_marketing",
                    "after_submit": MESSAGE,
                    "lead_source": _("Website"),
                }
            )
        initial = {
            name: getattr(form, name)
            for name in (
                "name",
                "title",
                "introduction",
                "submit_label",
                "consent_enabled",
                "consent_purpose",
                "consent_wording",
                "consent_required",
                "thank_you_message",
                "redirect_url",
                "lead_source",
                "allowed_origins",
            )
        }
        initial["after_submit"] = REDIRECT if form.redirect_url else MESSAGE
        return cls(initial=initial)

    def to_data(self) -> dict[str, Any]:
        """The settings as the service takes them (raw values: the service checks them)."""
        raw = self.data
        data: dict[str, Any] = {
            name: str(raw.get(name, ""))
            for name in (
                "name",
                "title",
                "introduction",
                "submit_label",
                "consent_purpose",
                "consent_wording",
                "thank_you_message",
                "lead_source",
                "allowed_origins",
            )
        }
        for name in ("consent_enabled", "consent_required"):
            data[name] = raw.get(name) in {"on", "true", "1"}
        wants_redirect = raw.get("after_submit") == REDIRECT
        data["redirect_url"] = str(raw.get("redirect_url", "")).strip() if wants_redirect else ""
        return data

    def check_redirect(self) -> bool:
        """The one thing only the page can get wrong: choosing a redirect without a page."""
        if (
            self.data.get("after_submit") == REDIRECT
            and not str(self.data.get("redirect_url", "")).strip()
        ):
            self.add_error("redirect_url", _("Enter the address of the page to go to."))
            return False
        return True


@dataclass
class FieldRow:
    """One row of the builder's field list."""

    spec: FormField
    label: str = ""
    included: bool = False
    required: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def locked(self) -> bool:
        # Every form asks for the email address, always required (see the services).
        return self.spec.name == "email"

    @property
    def dom_id(self) -> str:
        return self.spec.name.replace(":", "-")


def field_rows(
    stored: list[dict[str, Any]], custom: dict[str, Any], post: QueryDict | None = None
) -> list[FieldRow]:
    """The builder's rows: those the form asks first (in its order), then the others.
    With `post`, the rows as the page sent them (order, inclusion, labels)."""
    catalogue = {spec.name: spec for spec in available_fields(custom)}
    rows: list[FieldRow] = []
    if post is not None:
        for name in post.getlist("field_order"):
            spec = catalogue.pop(name, None)
            if spec is None:
                continue
            rows.append(
                FieldRow(
                    spec,
                    label=" ".join(str(post.get(f"label_{name}", "")).split()),
                    included=name == "email" or post.get(f"include_{name}") == "on",
                    required=name == "email" or post.get(f"required_{name}") == "on",
                )
            )
    else:
        for item in stored:
            spec = catalogue.pop(str(item.get("name", "")), None)
            if spec is None:
                continue
            rows.append(
                FieldRow(
                    spec,
                    label=str(item.get("label") or ""),
                    included=True,
                    required=bool(item.get("required")),
                )
            )
    rows += [
        FieldRow(spec, included=spec.name == "email", required=spec.name == "email")
        for spec in catalogue.values()
    ]
    return rows


def rows_to_fields(rows: list[FieldRow]) -> list[dict[str, Any]]:
    return [
        {"name": row.name, "label": row.label, "required": row.required}
        for row in rows
        if row.included
    ]


def attach_field_errors(
    exc: ValidationFailed, rows: list[FieldRow], settings_form: WebFormSettingsForm
) -> list[str]:
    """Put the service's errors next to their inputs: `fields.<i>.…` on the i-th included
    row, settings on the settings form. Returns the errors of the field list as a whole."""
    included = [row for row in rows if row.included]
    general: list[str] = []
    for error in exc.errors:
        parts = error.field.split(".")
        if parts[0] == "fields":
            if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(included):
                included[int(parts[1])].errors.append(str(error.message))
            else:
                general.append(str(error.message))
        elif parts[0] in settings_form.fields:
            settings_form.add_error(parts[0], str(error.message))
        else:
            settings_form.add_error(None, str(error.message))
    return general


def consent_purpose_options() -> list[tuple[str, str]]:
    return [(key, str(label)) for key, label in CONSENT_PURPOSES.items()]
