"""Forms of the app shell. They parse input; the services decide and store."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from vinculo.web.shell import common_time_zones


def _language_choices() -> list[tuple[str, str]]:
    # Each language in its own name, so a reader can find theirs whatever the page speaks.
    return [(code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES]


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=_language_choices, required=False)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=lambda: (
            [("", _("The workspace's time zone"))] + [(z, z) for z in common_time_zones()]
        ),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].error_messages["invalid_choice"] = _(
            "“%(value)s” is not a language Vínculo speaks. Choose one from the list."
        )
        self.fields["time_zone"].error_messages["invalid_choice"] = _(
            "“%(value)s” is not a time zone we know. Choose one from the list, such as "
            "America/Sao_Paulo."
        )

    def clean_language(self) -> str:
        value: str = self.cleaned_data["language"]
        if "language" in self.data and not value:
            raise forms.ValidationError(_("Choose a language."), code="required")
        return value

    def changed_values(self) -> dict[str, str]:
        """Only the preferences that were sent: the user menu may post one select at a time."""
        return {name: self.cleaned_data[name] for name in self.fields if name in self.data}
