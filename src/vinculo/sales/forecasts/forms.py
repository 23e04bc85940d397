"""Forms of the forecast pages. They only carry input to the quota services, which check it
(every bad field at once); the form shows those errors next to their fields."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from vinculo.core.forms import PageForm


class QuotaForm(PageForm):
    user_id = forms.TypedChoiceField(
        label=_("Person"), coerce=int, required=False, empty_value=None, choices=()
    )
    team_id = forms.TypedChoiceField(
        label=_("Team"), coerce=int, required=False, empty_value=None, choices=()
    )
    period_start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    amount = forms.CharField(
        label=_("Target"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    service_messages: ClassVar[dict[tuple[str, str], Promise | str]] = {}

    def __init__(
        self,
        *args: Any,
        people: list[tuple[int, str]],
        teams: list[tuple[int, str]],
        currency: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user_id"].choices = [("", _("Nobody (a team quota)")), *people]  # type: ignore[attr-defined]
        self.fields["team_id"].choices = [("", _("No team (a personal quota)")), *teams]  # type: ignore[attr-defined]
        self.fields["amount"].help_text = _("In %(currency)s, for the whole period.") % {
            "currency": currency
        }

    def to_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "user_id": data.get("user_id"),
            "team_id": data.get("team_id"),
            "period_start": data.get("period_start"),
            "period_end": data.get("period_end"),
            "amount": amount_text(data.get("amount") or ""),
        }


def amount_text(text: str) -> str:
    """A typed amount as the services read it (`25000.50`), whichever separators the person
    used: the last "," or "." followed by one or two digits is the decimal point (25.000,50,
    25,000.50, 25000,5); any other is a thousands separator (25.000 is twenty-five thousand).
    Anything else passes through for the service to refuse."""
    compact = text.replace(" ", "").replace("\u00a0", "")
    last = max(compact.rfind(","), compact.rfind("."))
    if last == -1:
        return compact
    head, tail = compact[:last], compact[last + 1 :]
    head = head.replace(",", "").replace(".", "")
    if 1 <= len(tail) <= 2 and tail.isdigit():
        return f"{head}.{tail}"
    return head + tail
