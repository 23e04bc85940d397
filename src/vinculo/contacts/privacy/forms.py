"""Forms of the privacy panel. They parse what a person typed into one service call and put
the service's own field errors back next to the inputs; the rules live in the services, so the
page, the API and the command line refuse the same things."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from vinculo.contacts.models import ConsentSource
from vinculo.contacts.privacy.services import CONSENT_PURPOSES, erasure_reason_clean
from vinculo.core.exceptions import ValidationFailed
from vinculo.core.search import normalize_text

GRANT = "grant"
WITHDRAW = "withdraw"
# The word typed to confirm an erasure, besides the person's name. Both the English word and
# its translation are accepted, so a screen in Portuguese can ask for its own word.
# Marked for extraction; typed in the reader's language (ELIMINAR in pt-BR) or in English.
ERASE_WORD = gettext_noop("ERASE")


class _ServiceErrorsForm(forms.Form):
    def add_service_errors(self, exc: ValidationFailed) -> None:
        for error in exc.errors:
            name = error.field if error.field in self.fields else None
            self.add_error(name, error.message)
        self.describe_errors()

    def describe_errors(self) -> None:
        """Tie each error to its input for screen readers (the templates give the error
        paragraph the id `<input id>_error`); the first field in error takes the focus when
        htmx swaps the form in."""
        first = next((name for name in self.fields if name in self.errors), None)
        if first is not None:
            self.fields[first].widget.attrs["autofocus"] = True
        for name in self.errors:
            if name in self.fields:
                field = self.fields[name]
                auto_id = self[name].auto_id
                described = [f"{auto_id}_error"]
                if field.help_text:
                    described.append(f"{auto_id}_helptext")
                widget = field.widget
                widget.attrs["aria-describedby"] = " ".join(described)
                widget.attrs["aria-invalid"] = "true"


class ConsentForm(_ServiceErrorsForm):
    """A grant or a withdrawal for one purpose, as staff record it (on the phone, on paper)."""

    # Plain text fields with choice widgets: the service checks the choices, with its own
    # messages, as it does for the API.
    purpose = forms.CharField(label=_("Purpose"), required=False, widget=forms.Select)
    other_purpose = forms.CharField(
        label=_("Or another purpose"),
        required=False,
        max_length=60,
        help_text=_("A short name in lower case, like newsletter_events."),
    )
    decision = forms.CharField(
        label=_("Decision"),
        widget=forms.RadioSelect(
            choices=[(GRANT, _("Consent given")), (WITHDRAW, _("Consent withdrawn"))]
        ),
        required=False,
        initial=GRANT,
    )
    wording = forms.CharField(
        label=_("Exact wording shown or said"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("What the person agreed to, word for word; it is kept as proof."),
    )
    source = forms.CharField(
        label=_("Source"),
        widget=forms.Select(choices=ConsentSource.choices),
        required=False,
        initial=ConsentSource.STAFF,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        purpose = cast(forms.Select, self.fields["purpose"].widget)
        purpose.choices = [
            ("", _("Choose a purpose")),
            *((key, label) for key, label in CONSENT_PURPOSES.items()),
        ]

    def to_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        decision = data.get("decision")
        return {
            "purpose": (data.get("other_purpose") or "").strip() or data.get("purpose") or "",
            "granted": {GRANT: True, WITHDRAW: False}.get(decision or ""),
            "wording": data.get("wording") or "",
            "source": data.get("source") or "",
        }

    def add_service_errors(self, exc: ValidationFailed) -> None:
        # The service names `granted`; the page asks for a decision.
        for error in exc.errors:
            name = {"granted": "decision"}.get(error.field, error.field)
            if name == "purpose" and (self.cleaned_data.get("other_purpose") or "").strip():
                name = "other_purpose"
            self.add_error(name if name in self.fields else None, error.message)
        self.describe_errors()


class EraseForm(_ServiceErrorsForm):
    """The reason for an erasure and its confirmation: the person's name, or the word ERASE."""

    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_(
            "Why and on whose request, e.g. “Asked by email on 3 March”. Do not write the "
            "person's data here: the reason is kept."
        ),
    )
    confirm = forms.CharField(label=_("Confirmation"), required=False, max_length=300)

    def __init__(self, *args: Any, person_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.person_name = person_name
        self.fields["confirm"].help_text = _(
            "Type the person's name (%(name)s) or the word %(word)s."
        ) % {"name": person_name, "word": gettext(ERASE_WORD)}

    def clean_reason(self) -> str:
        try:
            return erasure_reason_clean(self.cleaned_data.get("reason"))
        except ValidationFailed as exc:
            raise forms.ValidationError([e.message for e in exc.errors]) from exc

    def clean_confirm(self) -> str:
        typed = normalize_text(self.cleaned_data.get("confirm") or "")
        accepted = {
            normalize_text(ERASE_WORD),
            normalize_text(gettext(ERASE_WORD)),
            normalize_text(self.person_name),
        }
        if not typed or typed not in accepted:
            raise forms.ValidationError(
                _("Type the person's name or the word %(word)s to confirm.")
                % {"word": gettext(ERASE_WORD)}
            )
        return typed

    def full_clean(self) -> None:
        super().full_clean()
        self.describe_errors()
