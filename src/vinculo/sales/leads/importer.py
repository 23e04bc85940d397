"""Leads as an importable kind of record: `vinculo import lead FILE`, the import pages and the
bulk API bring them in through the contacts' import machinery (reading, mapping, the batched
writer with its undo), validated by `lead_validate` exactly like a lead typed in.

Rows match existing leads by email (the default) or external id (or phone). Imported leads
start unowned unless the file names an owner, so the assignment rules route them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vinculo.contacts.imports.importers import (
    CF_PREFIX,
    Importer,
    PreparedRow,
    RowContext,
    _company_size,
    _email_key,
    _external_key,
    _label_aliases,
    _phone_key,
)
from vinculo.contacts.imports.mapping import BUILTIN_ALIASES, FieldSpec
from vinculo.contacts.models import CompanySize
from vinculo.contacts.validation import BatchLookups, CleanedInput
from vinculo.core.exceptions import FieldError
from vinculo.core.models import CustomFieldDefinition, User, Workspace
from vinculo.sales.leads.search import derive_lead_columns
from vinculo.sales.leads.validation import LEAD_OBJECT, LEAD_TRACKED, lead_validate
from vinculo.sales.models import Lead

# Header spellings (Portuguese and English) of the lead's own fields; the shared ones (name,
# email, phone, address) come from the contacts' table.
LEAD_ALIASES: dict[str, tuple[str, ...]] = {
    "company_name": (
        *BUILTIN_ALIASES.get("account", ()),
        "Empresa",
        "Company",
        "Company name",
        "Organization",
    ),
    "company_domain": ("Domínio", "Domínio da empresa", "Domain", "Company domain"),
    "company_size": ("Porte", "Tamanho da empresa", "Funcionários", "Company size", "Employees"),
    "industry": (*BUILTIN_ALIASES.get("industry", ()), "Segmento", "Setor", "Industry"),
    "website": (*BUILTIN_ALIASES.get("website", ()), "Site", "Website", "URL"),
    "campaign": ("Campanha", "Campaign"),
    "message": ("Mensagem", "Comentário", "Message", "Comments"),
    "utm_source": ("utm_source", "Origem UTM"),
    "utm_medium": ("utm_medium", "Mídia UTM"),
    "utm_campaign": ("utm_campaign", "Campanha UTM"),
    "utm_term": ("utm_term",),
    "utm_content": ("utm_content",),
}


class _NoTagLinks:
    """Leads carry no tags. The import writer and its undo read and write a kind's tag links
    through `Importer.link_model`; for leads that store holds nothing and takes nothing."""

    class _Links:
        def filter(self, *args: Any, **kwargs: Any) -> _NoTagLinks._Links:
            return self

        def values_list(self, *args: Any, **kwargs: Any) -> list[Any]:
            return []

        def delete(self) -> tuple[int, dict[str, int]]:
            return 0, {}

        def bulk_create(self, objs: Sequence[Any], *args: Any, **kwargs: Any) -> list[Any]:
            if objs:
                raise ValueError("leads have no tags")
            return []

    class objects:
        @staticmethod
        def for_workspace(workspace: Any) -> _NoTagLinks._Links:
            return _NoTagLinks._Links()


class LeadImporter(Importer):
    object_type = LEAD_OBJECT
    module = "leads"
    model = Lead  # type: ignore[assignment]
    link_model = _NoTagLinks  # type: ignore[assignment]
    link_field = "lead"
    tracked = LEAD_TRACKED
    builtin = (
        ("full_name", gettext_lazy("Full name (first and last)")),
        ("first_name", gettext_lazy("First name")),
        ("last_name", gettext_lazy("Last name")),
        ("email", gettext_lazy("Email")),
        ("phone", gettext_lazy("Phone")),
        ("job_title", gettext_lazy("Job title")),
        ("company_name", gettext_lazy("Company")),
        ("company_domain", gettext_lazy("Company domain")),
        ("website", gettext_lazy("Website")),
        ("company_size", gettext_lazy("Company size")),
        ("industry", gettext_lazy("Industry")),
        ("city", gettext_lazy("City")),
        ("state", gettext_lazy("State")),
        ("country", gettext_lazy("Country")),
        ("source", gettext_lazy("Source")),
        ("campaign", gettext_lazy("Campaign")),
        ("utm_source", "utm_source"),
        ("utm_medium", "utm_medium"),
        ("utm_campaign", "utm_campaign"),
        ("utm_term", "utm_term"),
        ("utm_content", "utm_content"),
        ("message", gettext_lazy("Message")),
        ("owner", gettext_lazy("Owner (email or name)")),
        ("external_id", gettext_lazy("External id")),
    )
    match_keys: ClassVar[dict[str, str]] = {
        "email": "email",
        "external_id": "external_id",
        "phone": "phone",
    }
    default_match_by = ("external_id", "email")
    identifying = frozenset(
        {"full_name", "first_name", "last_name", "email", "phone", "company_name"}
    )
    text_fields = frozenset(
        {
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "company_name",
            "company_domain",
            "website",
            "industry",
            "city",
            "state",
            "source",
            "campaign",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "message",
            "external_id",
        }
    )
    json_columns = frozenset({"custom_fields", "score_reasons", "predicted_factors"})

    @property
    def label(self) -> str:
        return str(gettext_lazy("leads"))

    def fields(self, definitions: Mapping[str, CustomFieldDefinition]) -> list[FieldSpec]:
        specs = super().fields(definitions)
        return [FieldSpec(s.name, s.label, s.aliases + LEAD_ALIASES.get(s.name, ())) for s in specs]

    def choices(self) -> dict[str, dict[str, str]]:
        return {"company_size": _label_aliases(CompanySize.choices)}

    def validate(
        self,
        *,
        workspace: Workspace,
        actor: User | None,
        data: Mapping[str, Any],
        instance: Any,
        lookups: BatchLookups | None,
    ) -> CleanedInput:
        return lead_validate(
            workspace=workspace, actor=actor, data=data, instance=instance, lookups=lookups
        )

    def row_data(self, ctx: RowContext, cells: Sequence[str]) -> PreparedRow:
        data: dict[str, Any] = {}
        errors: list[FieldError] = []
        full_name = ""
        width = len(cells)
        for index, name in ctx.mapping.items():
            text = cells[index] if index < width else ""
            if not text:
                continue
            if name in self.text_fields:
                data[name] = text
            elif name == "full_name":
                full_name = text
            elif name == "company_size":
                data["company_size"] = _company_size(text, ctx.choices.get("company_size", {}))
            elif not self._common(ctx, name, text, data, errors):
                errors.append(FieldError(name, "unknown-field", _("There is no such field.")))
        if full_name:
            first, _sep, rest = full_name.partition(" ")
            data.setdefault("first_name", first)
            if rest.strip():
                data.setdefault("last_name", rest.strip())
        return PreparedRow(index=0, line=0, cells=list(cells), data=data, errors=errors)

    def keys(self, ctx: RowContext, data: Mapping[str, Any]) -> dict[str, str]:
        keys = {"email": _email_key(data), "external_id": _external_key(data)}
        if data.get("phone"):
            keys["phone"] = _phone_key(data, self._region(ctx, data))
        return {k: v for k, v in keys.items() if v}

    def derive(self, values: dict[str, Any], *, company: str) -> None:
        del company
        derive_lead_columns(values)
        if values.get("owner_id") and not values.get("assigned_at"):
            values["assigned_at"] = timezone.now()

    def display_name(self, values: Mapping[str, Any]) -> str:
        name = " ".join(p for p in (values.get("first_name"), values.get("last_name")) if p)
        return name or str(values.get("email") or values.get("company_name") or "")

    def field_of_error(self, name: str, mapped: Any) -> str:
        head = name.split(".", 1)[0]
        if head == "custom_fields" and "." in name:
            return CF_PREFIX + name.split(".", 1)[1]
        return {"owner_id": "owner", "team_id": "team", "web_form_id": "web_form"}.get(head, head)


def register() -> None:
    from vinculo.contacts.imports.importers import register_importer

    register_importer(LeadImporter())
