"""Forms of the import pages: the upload, and the mapping of the file's columns to fields.

They only parse what the person sent; the services decide whether it makes sense (a field
mapped twice, no identifying field, a file that is not a table) and their errors come back
here, next to the input they are about.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from vinculo.contacts.models import OnMatch
from vinculo.core.exceptions import FieldError

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

    from vinculo.contacts.imports.mapping import FieldSpec

# What each kind of record can be matched on, in the order offered.
MATCH_LABELS: dict[str, _StrPromise] = {
    "email": _("Email"),
    "phone": _("Phone"),
    "external_id": _("External ID"),
    "domain": _("Domain"),
}
CUSTOM_PREFIX = "cf:"


@dataclass(frozen=True)
class Column:
    """One column of the file as the mapping step shows it."""

    index: int
    header: str
    samples: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"col_{self.index}"


class ImportUploadForm(forms.Form):
    object_type = forms.ChoiceField(label=_("What does the file hold?"), widget=forms.RadioSelect)
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": (
                    ".csv,.txt,.xlsx,text/csv,text/plain,"
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                )
            }
        ),
    )

    def __init__(
        self,
        *args: Any,
        object_types: Sequence[tuple[str, Any]],
        help_text: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["object_type"]).choices = list(object_types)
        self.fields["file"].help_text = help_text

    def add_service_errors(self, errors: Iterable[FieldError]) -> None:
        for error in errors:
            self.add_error(error.field if error.field in self.fields else "file", error.message)


def field_choices(fields: Iterable[FieldSpec]) -> list[tuple[Any, Any]]:
    """ "Do not import", the record's own fields, then the workspace's custom fields."""
    own = [(f.name, f.label) for f in fields if not f.name.startswith(CUSTOM_PREFIX)]
    custom = [(f.name, f.label) for f in fields if f.name.startswith(CUSTOM_PREFIX)]
    choices: list[tuple[Any, Any]] = [("", _("Do not import"))]
    if custom:
        choices += [(_("Fields"), own), (_("Custom fields"), custom)]
    else:
        choices += own
    return choices


class ImportMappingForm(forms.Form):
    """One select per column of the file (`col_<index>`), and how to treat rows that match a
    record already in the base."""

    has_header = forms.BooleanField(
        label=_("The first row holds the column titles"), required=False
    )
    match_by = forms.MultipleChoiceField(
        label=_("Find existing records by"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    on_match = forms.ChoiceField(
        label=_("When a row matches an existing record"),
        choices=OnMatch.choices,
        widget=forms.RadioSelect,
    )
    save_mapping_as = forms.CharField(
        label=_("Save this mapping as"),
        required=False,
        max_length=100,
        help_text=_("Optional. Files with the same columns will get it on their own."),
    )

    def __init__(
        self,
        *args: Any,
        columns: list[Column],
        fields: list[FieldSpec],
        match_fields: Sequence[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.columns = columns
        choices = field_choices(fields)
        for column in columns:
            self.fields[column.name] = forms.ChoiceField(
                label=column.header,
                required=False,
                choices=choices,
                widget=forms.Select(attrs={"data-map-select": ""}),
            )
        cast(forms.ChoiceField, self.fields["match_by"]).choices = [
            (name, MATCH_LABELS.get(name, name)) for name in match_fields
        ]
        self.fields["on_match"].help_text = _(
            "“Fill empty fields” keeps what is already stored and only adds what is missing."
        )
        # Errors about the mapping as a whole ("no identifying field") are shown above it.
        self.mapping_errors: list[str] = []

    @property
    def option_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("has_header", "match_by", "on_match", "save_mapping_as")]

    @property
    def column_fields(self) -> list[tuple[Column, forms.BoundField]]:
        return [(column, self[column.name]) for column in self.columns]

    def mapping(self) -> dict[str, str]:
        """Column index (as text) → field name, for the columns that are imported."""
        return {
            str(column.index): self.cleaned_data[column.name]
            for column in self.columns
            if self.cleaned_data.get(column.name)
        }

    def add_service_errors(self, errors: Iterable[FieldError]) -> None:
        """Put each error of the service next to what it is about: a column's select
        (`mapping.<index>`), one of the options, or the mapping as a whole."""
        for error in errors:
            name, _dot, rest = error.field.partition(".")
            twice = self._columns_sharing_a_field() if error.code == "mapped-twice" else []
            if name == "mapping" and rest.isdigit() and f"col_{rest}" in self.fields:
                self.add_error(f"col_{rest}", error.message)
            elif twice:
                # "Two columns go to the field X": mark both selects, not just the mapping.
                for column in twice:
                    if error.message not in self.errors.get(column.name, []):
                        self.add_error(column.name, error.message)
            elif name in self.fields and name != "mapping":
                self.add_error(name, error.message)
            else:
                self.mapping_errors.append(str(error.message))

    def _columns_sharing_a_field(self) -> list[Column]:
        chosen = [(column, self.cleaned_data.get(column.name, "")) for column in self.columns]
        counts: dict[str, int] = {}
        for _column, value in chosen:
            if value:
                counts[value] = counts.get(value, 0) + 1
        return [column for column, value in chosen if value and counts[value] > 1]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.mapping_errors)
