"""What can be imported, and how a row of text becomes the input of a record's validation.

An `Importer` describes one kind of record: the fields a column can be mapped to, the keys a
row can be matched on, how a row's cells become the mapping its validation function takes
(`contact_validate` / `account_validate`, so an imported record obeys exactly the rules of one
typed in the UI), and the columns the writer stores. One is registered per object type; later
apps add theirs with `register_importer`.

Nothing here reads the database: `RowContext` carries what turning text into values needs
(custom-field definitions, the members who may own records, the mapping), so rows can be
prepared in a separate process while the importing one writes (see `prepare_rows`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from json.encoder import (  # type: ignore[attr-defined]
    c_make_encoder,
    encode_basestring_ascii,
)
from typing import Any, ClassVar

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from email_validator import EmailNotValidError

from vinculo.contacts.imports.mapping import BUILTIN_ALIASES, FieldSpec
from vinculo.contacts.imports.values import parse_bool, parse_date, parse_number
from vinculo.contacts.models import (
    Account,
    AccountTag,
    CompanySize,
    Contact,
    ContactTag,
    LifecycleStage,
)
from vinculo.contacts.search import (
    account_search_document,
    account_sort_name,
    contact_search_document,
    contact_sort_name,
)
from vinculo.contacts.services import ACCOUNT_TRACKED, CONTACT_TRACKED
from vinculo.contacts.validation import (
    COUNTRY_CODES,
    BatchLookups,
    CleanedInput,
    account_validate,
    contact_validate,
    default_region,
    normalize_email,
    normalize_phone,
)
from vinculo.contacts.validation import _domain as clean_domain
from vinculo.core.custom_fields import choice_values
from vinculo.core.exceptions import ErrorCollector, FieldError, NotFound, ValidationFailed
from vinculo.core.models import CustomFieldDefinition, CustomFieldType, User, Workspace
from vinculo.core.search import normalize_text

CF_PREFIX = "cf:"
_EMPTY: tuple[Any, ...] = (None, "", [], {})


def _not_serialisable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# `json.dumps` builds a new encoder on every call, which costs more than encoding an imported
# row's values; this one is built once, with the same settings (but for the check for
# circular structures, which values read from a file cannot form).
_ENCODER = (
    c_make_encoder(
        None, _not_serialisable, encode_basestring_ascii, None, ": ", ", ", False, False, True
    )
    if c_make_encoder is not None
    else None
)


def json_text(value: Any) -> str:
    """Exactly `json.dumps(value)`, at a third of the cost for small values."""
    if _ENCODER is None:
        return json.dumps(value)
    return "".join(_ENCODER(value, 0))


# Filled by the writer for a whole batch at once (see `Importer.stamp_columns`).
STAMP_COLUMNS = ("account_id", "created_by_id", "created_at", "updated_at")
# Cells holding several values: "a@x.com; b@y.com", tags "vip, 2024".
_LIST_SPLIT = re.compile(r"\s*[;,|]\s*")
_EMAIL_SPLIT = re.compile(r"[;,\s]+")
_PHONE_SPLIT = re.compile(r"\s*[;,/|]\s*")
# A cell with none of these holds one address or number (most do): no split needed.
_EMAIL_SEPARATORS = re.compile(r"[;,\s]")
_PHONE_SEPARATORS = re.compile(r"[;,/|]")
# Country names people write instead of the ISO code, normalised (lower case, no accents).
_COUNTRY_NAMES = {
    "brasil": "BR",
    "brazil": "BR",
    "estados unidos": "US",
    "estados unidos da america": "US",
    "eua": "US",
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "portugal": "PT",
    "argentina": "AR",
    "chile": "CL",
    "uruguai": "UY",
    "uruguay": "UY",
    "paraguai": "PY",
    "paraguay": "PY",
    "mexico": "MX",
    "espanha": "ES",
    "spain": "ES",
    "reino unido": "GB",
    "united kingdom": "GB",
    "uk": "GB",
    "alemanha": "DE",
    "germany": "DE",
    "franca": "FR",
    "france": "FR",
    "italia": "IT",
    "italy": "IT",
    "canada": "CA",
}


def _label_aliases(choices: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Normalised value and label (in English and Portuguese) → stored value of a choice."""
    found: dict[str, str] = {}
    for value, label in choices:
        found[normalize_text(value)] = value
        for language in ("en", "pt-br"):
            with translation.override(language):
                found.setdefault(normalize_text(str(label)), value)
    return found


# --- what a row becomes ----------------------------------------------------------------------


@dataclass
class RowContext:
    """What turning one kind of row into validation input needs, read once per import (or per
    API call) and picklable, so a helper process can prepare rows without a database."""

    workspace: Workspace
    actor: User | None
    object_type: str
    # column index → field name ("email", "cf:segment", …); unmapped columns are absent
    mapping: dict[int, str]
    definitions: dict[str, CustomFieldDefinition]
    member_ids: frozenset[int]
    # normalised email and full name of every active member → user id
    members: dict[str, int]
    day_first: bool = True
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    language: str = ""

    @property
    def lookups(self) -> BatchLookups:
        return BatchLookups(definitions=self.definitions, member_ids=self.member_ids)


@dataclass(slots=True)
class PreparedRow:
    """One row ready for the writer.

    `errors` are problems that fail the row whatever happens (a reading problem, a value that
    could not be read); `create` is the validated input for a new record, or None with
    `create_errors` saying why; a row that matches an existing record is validated again as
    an update by the writer. `keys` are the normalised match keys (email, phone, …)."""

    index: int
    line: int
    cells: list[str]
    data: dict[str, Any]
    errors: list[FieldError] = field(default_factory=list)
    create: CleanedInput | None = None
    create_errors: list[FieldError] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)
    # contacts: the company named in the row (matched to an account by name, or created)
    account_name: str = ""
    # A valid create, ready to store: the tag names, the values of `Importer.stored_columns`
    # as the database takes them, and the JSON of the `*.created` event's fields.
    tags: list[str] | None = None
    stored: tuple[Any, ...] | None = None
    event_fields: str = ""
    # Sent back from a helper process without `data` and `create` (they cost more to send
    # than to compute again for the few rows that need them: see `RecordWriter.full_row`).
    compact: bool = False

    def to_compact(self, *, with_cells: bool = True) -> Any:
        """What a helper process sends: the whole row, or for a valid create only what
        writing it needs (a tuple costs a fraction of a dataclass to pickle)."""
        if self.stored is None or self.errors:
            return self
        return (
            self.index,
            self.line,
            self.cells if with_cells else [],
            self.keys,
            self.stored,
            self.event_fields,
            self.tags,
            self.account_name,
        )

    @classmethod
    def from_compact(cls, sent: Any) -> PreparedRow:
        if isinstance(sent, PreparedRow):
            return sent
        index, line, cells, keys, stored, event_fields, tags, account_name = sent
        return cls(
            index=index,
            line=line,
            cells=cells,
            data={},
            keys=keys,
            account_name=account_name,
            tags=tags,
            stored=stored,
            event_fields=event_fields,
            compact=True,
        )


class Importer:
    """One kind of record that files and the bulk API can bring in. Subclasses fill in the
    fields, the keys and the validation."""

    object_type: ClassVar[str]
    module: ClassVar[str]
    model: ClassVar[type[Contact] | type[Account]]
    link_model: ClassVar[type[ContactTag] | type[AccountTag]]
    link_field: ClassVar[str]
    tracked: ClassVar[tuple[str, ...]]
    # field name → label, in the order the mapping page lists them
    builtin: ClassVar[tuple[tuple[str, Any], ...]]
    # match key → model column holding its normalised value (indexed)
    match_keys: ClassVar[dict[str, str]]
    default_match_by: ClassVar[tuple[str, ...]]
    # at least one of these must be mapped for a row to be able to describe a record
    identifying: ClassVar[frozenset[str]]
    # plain text fields: the cell goes to validation as it is
    text_fields: ClassVar[frozenset[str]]
    # JSON columns of the table (stored as text)
    json_columns: ClassVar[frozenset[str]] = frozenset({"custom_fields"})

    @property
    def label(self) -> str:
        return str(self.model._meta.verbose_name_plural)

    # -- columns as stored

    @cached_property
    def stamp_columns(self) -> tuple[str, ...]:
        """Columns the writer fills per batch (the account found by name, the author, the
        moment), ahead of `stored_columns` in every insert."""
        names = {f.attname for f in self.model._meta.concrete_fields}
        return tuple(c for c in STAMP_COLUMNS if c in names)

    @cached_property
    def stored_columns(self) -> tuple[str, ...]:
        return tuple(
            f.attname
            for f in self.model._meta.concrete_fields
            if not f.primary_key
            and f.attname != "workspace_id"
            and f.attname not in self.stamp_columns
        )

    @cached_property
    def defaults(self) -> dict[str, Any]:
        return {
            f.attname: f.get_default()
            for f in self.model._meta.concrete_fields
            if not f.primary_key and f.attname != "workspace_id"
        }

    def new_values(self, cleaned: CleanedInput, *, company: str) -> dict[str, Any]:
        """Every column of a new record from its validated input (defaults for the rest),
        derived columns included."""
        values = dict(self.defaults)
        for name in self.json_columns:
            values[name] = type(values[name])()  # never share a mutable default
        values.update(cleaned.fields)
        self.derive(values, company=company)
        return values

    @cached_property
    def _stored_adapters(self) -> list[tuple[int, Callable[[Any], Any]]]:
        return _adapters(self.model, self.stored_columns)

    def stored_row(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """`stored_columns` of `values` as the database takes them."""
        row = [values[c] for c in self.stored_columns]
        for i, adapt in self._stored_adapters:
            value = row[i]
            if value is not None:
                # Most JSON columns of an imported row are empty: no encoder call for them.
                row[i] = "[]" if value == [] else "{}" if value == {} else adapt(value)
        return tuple(row)

    def event_fields(self, values: Mapping[str, Any], tags: list[str]) -> str:
        """JSON of the `fields` of a `*.created` event: what the services record
        (`_non_empty(_snapshot(...))`, which tests hold equal), built without a record
        object, since it runs once per imported row."""
        fields: dict[str, Any] = {}
        for name in self.tracked:
            value = values.get(name)
            if not value:
                if value is None or value == "" or value == []:
                    continue
            elif type(value) is not str:
                if isinstance(value, dt.date):
                    value = value.isoformat()
                elif isinstance(value, list):
                    value = list(value)
            fields[name] = value
        for key, value in (values.get("custom_fields") or {}).items():
            if value not in _EMPTY:
                fields[f"custom_fields.{key}"] = value
        if tags:
            fields["tags"] = sorted(tags, key=str.casefold)
        return json_text(fields)

    def keys_of(self, values: Mapping[str, Any]) -> dict[str, str]:
        """The match keys of a validated record: its stored (normalised) values."""
        return {k: values[c] for k, c in self.match_keys.items() if values.get(c)}

    # -- fields

    def fields(self, definitions: Mapping[str, CustomFieldDefinition]) -> list[FieldSpec]:
        specs = [
            FieldSpec(name=name, label=str(label), aliases=tuple(BUILTIN_ALIASES.get(name, ())))
            for name, label in self.builtin
        ]
        for key, definition in definitions.items():
            specs.append(
                FieldSpec(name=f"{CF_PREFIX}{key}", label=definition.label, aliases=(key,))
            )
        return specs

    def choices(self) -> dict[str, dict[str, str]]:
        return {}

    # -- validation

    def validate(
        self,
        *,
        workspace: Workspace,
        actor: User | None,
        data: Mapping[str, Any],
        instance: Any,
        lookups: BatchLookups | None,
    ) -> CleanedInput:
        raise NotImplementedError

    # -- text → input

    def row_data(self, ctx: RowContext, cells: Sequence[str]) -> PreparedRow:
        """The validation input of a row (empty cells are left out, so they never clear a
        value), with the errors of values that could not be read."""
        raise NotImplementedError

    def keys(self, ctx: RowContext, data: Mapping[str, Any]) -> dict[str, str]:
        """Normalised match keys of an input, computed whether or not it validates."""
        raise NotImplementedError

    def derive(self, values: dict[str, Any], *, company: str) -> None:
        """Fill the stored columns computed from others (primary email, sort name, search
        document), as the services do."""
        raise NotImplementedError

    def display_name(self, values: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def field_of_error(self, name: str, mapped: Iterable[str]) -> str:
        """The import field an error of the validation (`emails.1`, `custom_fields.size`)
        belongs to, so the report can name the column."""
        head = name.split(".", 1)[0]
        if head == "custom_fields" and "." in name:
            return CF_PREFIX + name.split(".", 1)[1]
        return {"owner_id": "owner", "account_id": "account", "emails": "email"}.get(
            head, {"phones": "phone"}.get(head, head)
        )

    # -- shared conversions

    def _custom_value(self, ctx: RowContext, key: str, text: str, errors: list[FieldError]) -> Any:
        definition = ctx.definitions.get(key)
        name = f"{CF_PREFIX}{key}"
        if definition is None:
            errors.append(FieldError(name, "unknown", _("There is no such custom field.")))
            return None
        kind = definition.field_type
        try:
            if kind == CustomFieldType.NUMBER:
                return _decimal_text(parse_number(text))
            if kind == CustomFieldType.MONEY:
                return str(parse_number(text))
            if kind == CustomFieldType.DATE:
                return parse_date(text, prefer_day_first=ctx.day_first).isoformat()
            if kind == CustomFieldType.BOOLEAN:
                return parse_bool(text)
        except ValueError as exc:
            errors.append(FieldError(name, "invalid", str(exc)))
            return None
        if kind == CustomFieldType.CHOICE:
            return ctx.choices.get(name, {}).get(normalize_text(text), text)
        if kind == CustomFieldType.MULTI_CHOICE:
            known = ctx.choices.get(name, {})
            return [known.get(normalize_text(item), item) for item in _split(text)]
        return text

    def _common(
        self,
        ctx: RowContext,
        name: str,
        text: str,
        data: dict[str, Any],
        errors: list[FieldError],
    ) -> bool:
        """Fields every kind shares (owner, country, tags, custom fields). False when `name`
        is not one of them."""
        if name.startswith(CF_PREFIX):
            value = self._custom_value(ctx, name[len(CF_PREFIX) :], text, errors)
            if value is not None:
                data.setdefault("custom_fields", {})[name[len(CF_PREFIX) :]] = value
        elif name == "owner":
            owner = ctx.members.get(normalize_text(text))
            if owner is None:
                errors.append(
                    FieldError(
                        "owner",
                        "not-a-member",
                        _("No active member has this email address or name."),
                    )
                )
            else:
                data["owner_id"] = owner
        elif name == "country":
            code = text.strip().upper()
            data["country"] = (
                code if code in COUNTRY_CODES else _COUNTRY_NAMES.get(normalize_text(text), text)
            )
        elif name == "tags":
            data["tags"] = _split(text)
        else:
            return False
        return True

    def _region(self, ctx: RowContext, data: Mapping[str, Any]) -> str | None:
        country = data.get("country")
        code = country if isinstance(country, str) and country in COUNTRY_CODES else ""
        return default_region(country=code, workspace=ctx.workspace)


def _split(text: str) -> list[str]:
    return [part for part in _LIST_SPLIT.split(text.strip()) if part]


def _decimal_text(number: Decimal) -> str:
    return format(number.normalize(), "f") if number == number.to_integral() else str(number)


def _first_text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return value.strip() if isinstance(value, str) else ""


def _email_key(data: Mapping[str, Any]) -> str:
    raw = _first_text(data.get("email")) or _first_text(data.get("emails"))
    if not raw:
        return ""
    try:
        return normalize_email(raw)
    except EmailNotValidError:
        return ""


def _phone_key(data: Mapping[str, Any], region: str | None) -> str:
    raw = _first_text(data.get("phone")) or _first_text(data.get("phones"))
    if not raw or len(raw) > 40:
        return ""
    try:
        return normalize_phone(raw, region)
    except ValueError:
        return ""


def _external_key(data: Mapping[str, Any]) -> str:
    value = data.get("external_id")
    return " ".join(value.split())[:100] if isinstance(value, str) else ""


class ContactImporter(Importer):
    object_type = "contact"
    module = "contacts"
    model = Contact
    link_model = ContactTag
    link_field = "contact"
    tracked = CONTACT_TRACKED
    builtin = (
        ("full_name", gettext_lazy("Full name (first and last)")),
        ("first_name", gettext_lazy("First name")),
        ("last_name", gettext_lazy("Last name")),
        ("email", gettext_lazy("Email")),
        ("phone", gettext_lazy("Phone")),
        ("account", gettext_lazy("Company (account)")),
        ("job_title", gettext_lazy("Job title")),
        ("birthdate", gettext_lazy("Birthdate")),
        ("lifecycle_stage", gettext_lazy("Lifecycle stage")),
        ("source", gettext_lazy("Source")),
        ("owner", gettext_lazy("Owner (email or name)")),
        ("tags", gettext_lazy("Tags")),
        ("street", gettext_lazy("Street")),
        ("city", gettext_lazy("City")),
        ("state", gettext_lazy("State")),
        ("postal_code", gettext_lazy("Postal code")),
        ("country", gettext_lazy("Country")),
        ("language", gettext_lazy("Language")),
        ("external_id", gettext_lazy("External id")),
    )
    match_keys: ClassVar[dict[str, str]] = {
        "email": "email",
        "phone": "phone",
        "external_id": "external_id",
    }
    default_match_by = ("email",)
    identifying = frozenset({"full_name", "first_name", "last_name", "email"})
    text_fields = frozenset(
        {
            "first_name",
            "last_name",
            "job_title",
            "source",
            "street",
            "city",
            "state",
            "postal_code",
            "external_id",
            "language",
        }
    )
    json_columns = frozenset({"custom_fields", "emails", "phones"})

    def choices(self) -> dict[str, dict[str, str]]:
        return {"lifecycle_stage": _label_aliases(LifecycleStage.choices)}

    def validate(
        self,
        *,
        workspace: Workspace,
        actor: User | None,
        data: Mapping[str, Any],
        instance: Any,
        lookups: BatchLookups | None,
    ) -> CleanedInput:
        return contact_validate(
            workspace=workspace, actor=actor, data=data, instance=instance, lookups=lookups
        )

    def row_data(self, ctx: RowContext, cells: Sequence[str]) -> PreparedRow:
        data: dict[str, Any] = {}
        errors: list[FieldError] = []
        account = ""
        full_name = ""
        width = len(cells)
        for index, name in ctx.mapping.items():
            text = cells[index] if index < width else ""
            if not text:
                continue
            if name in self.text_fields:
                data[name] = text
            elif name == "email":
                addresses = (
                    [a for a in _EMAIL_SPLIT.split(text) if a]
                    if _EMAIL_SEPARATORS.search(text)
                    else [text]
                )
                if len(addresses) > 1:
                    data["emails"] = addresses
                elif addresses:
                    data["email"] = addresses[0]
            elif name == "phone":
                numbers = (
                    [p for p in _PHONE_SPLIT.split(text) if p]
                    if _PHONE_SEPARATORS.search(text)
                    else [text]
                )
                if len(numbers) > 1:
                    data["phones"] = numbers
                elif numbers:
                    data["phone"] = numbers[0]
            elif name == "full_name":
                full_name = text
            elif name == "account":
                account = " ".join(text.split())
            elif name == "birthdate":
                try:
                    data["birthdate"] = parse_date(text, prefer_day_first=ctx.day_first)
                except ValueError as exc:
                    errors.append(FieldError("birthdate", "invalid-date", str(exc)))
            elif name == "lifecycle_stage":
                known = ctx.choices.get("lifecycle_stage", {})
                data["lifecycle_stage"] = known.get(normalize_text(text), text)
            elif not self._common(ctx, name, text, data, errors):
                errors.append(FieldError(name, "unknown-field", _("There is no such field.")))
        if full_name:
            # "Maria da Silva Santos": the first word is the first name, the rest the last;
            # a separate first or last name column wins over the split.
            first, _sep, rest = full_name.partition(" ")
            data.setdefault("first_name", first)
            if rest.strip():
                data.setdefault("last_name", rest.strip())
        prepared = PreparedRow(index=0, line=0, cells=list(cells), data=data, errors=errors)
        prepared.account_name = account
        return prepared

    def keys(self, ctx: RowContext, data: Mapping[str, Any]) -> dict[str, str]:
        keys = {"email": _email_key(data), "external_id": _external_key(data)}
        if "phone" in data or "phones" in data:
            keys["phone"] = _phone_key(data, self._region(ctx, data))
        return {k: v for k, v in keys.items() if v}

    def derive(self, values: dict[str, Any], *, company: str) -> None:
        emails = values.get("emails") or []
        phones = values.get("phones") or []
        values["email"] = emails[0] if emails else ""
        values["phone"] = phones[0] if phones else ""
        first, last = values.get("first_name", ""), values.get("last_name", "")
        values["sort_name"] = contact_sort_name(
            first_name=first, last_name=last, email=values["email"]
        )
        values["search_document"] = contact_search_document(
            first_name=first, last_name=last, emails=emails, phones=phones, company=company
        )

    def display_name(self, values: Mapping[str, Any]) -> str:
        name = " ".join(p for p in (values.get("first_name"), values.get("last_name")) if p)
        return name or str(values.get("email") or "")


class AccountImporter(Importer):
    object_type = "account"
    module = "accounts"
    model = Account
    link_model = AccountTag
    link_field = "account"
    tracked = ACCOUNT_TRACKED
    builtin = (
        ("name", gettext_lazy("Name")),
        ("domain", gettext_lazy("Domain")),
        ("website", gettext_lazy("Website")),
        ("phone", gettext_lazy("Phone")),
        ("industry", gettext_lazy("Industry")),
        ("size", gettext_lazy("Size")),
        ("owner", gettext_lazy("Owner (email or name)")),
        ("tags", gettext_lazy("Tags")),
        ("street", gettext_lazy("Street")),
        ("city", gettext_lazy("City")),
        ("state", gettext_lazy("State")),
        ("postal_code", gettext_lazy("Postal code")),
        ("country", gettext_lazy("Country")),
        ("external_id", gettext_lazy("External id")),
    )
    match_keys: ClassVar[dict[str, str]] = {
        "domain": "domain",
        "phone": "phone",
        "external_id": "external_id",
    }
    default_match_by = ("domain",)
    identifying = frozenset({"name"})
    text_fields = frozenset(
        {
            "name",
            "domain",
            "website",
            "phone",
            "industry",
            "street",
            "city",
            "state",
            "postal_code",
            "external_id",
        }
    )

    def choices(self) -> dict[str, dict[str, str]]:
        return {"size": _label_aliases(CompanySize.choices)}

    def validate(
        self,
        *,
        workspace: Workspace,
        actor: User | None,
        data: Mapping[str, Any],
        instance: Any,
        lookups: BatchLookups | None,
    ) -> CleanedInput:
        return account_validate(
            workspace=workspace, actor=actor, data=data, instance=instance, lookups=lookups
        )

    def row_data(self, ctx: RowContext, cells: Sequence[str]) -> PreparedRow:
        data: dict[str, Any] = {}
        errors: list[FieldError] = []
        width = len(cells)
        for index, name in ctx.mapping.items():
            text = cells[index] if index < width else ""
            if not text:
                continue
            if name in self.text_fields:
                data[name] = text
            elif name == "size":
                data["size"] = _company_size(text, ctx.choices.get("size", {}))
            elif not self._common(ctx, name, text, data, errors):
                errors.append(FieldError(name, "unknown-field", _("There is no such field.")))
        return PreparedRow(index=0, line=0, cells=list(cells), data=data, errors=errors)

    def keys(self, ctx: RowContext, data: Mapping[str, Any]) -> dict[str, str]:
        keys = {"external_id": _external_key(data)}
        domain = data.get("domain")
        if isinstance(domain, str) and domain.strip():
            keys["domain"] = clean_domain(ErrorCollector(), domain)
        if data.get("phone"):
            keys["phone"] = _phone_key(data, self._region(ctx, data))
        return {k: v for k, v in keys.items() if v}

    def derive(self, values: dict[str, Any], *, company: str) -> None:
        del company
        values["sort_name"] = account_sort_name(name=values.get("name", ""))
        values["search_document"] = account_search_document(
            name=values.get("name", ""),
            domain=values.get("domain", ""),
            phone=values.get("phone", ""),
        )

    def display_name(self, values: Mapping[str, Any]) -> str:
        return str(values.get("name") or "")


def _company_size(text: str, known: Mapping[str, str]) -> str:
    """A size band by its value or label, or from a head count ("35" → 11–50)."""
    found = known.get(normalize_text(text))
    if found is not None:
        return found
    digits = text.replace(".", "").replace(",", "").strip()
    if digits.isdigit():
        count = int(digits)
        for limit, value in ((10, "1-10"), (50, "11-50"), (200, "51-200"), (1000, "201-1000")):
            if count <= limit:
                return value
        return "1001+"
    return text


# --- the registry ------------------------------------------------------------------------------

_importers: dict[str, Importer] = {}


def register_importer(importer: Importer) -> None:
    _importers[importer.object_type] = importer


def importer_for(object_type: str) -> Importer:
    """The importer of `object_type`; NotFound for a kind nothing imports."""
    importer = _importers.get(object_type)
    if importer is None:
        raise NotFound(_("Nothing can be imported as '%(type)s'.") % {"type": object_type[:40]})
    return importer


def registered_importers() -> list[Importer]:
    return list(_importers.values())


register_importer(ContactImporter())
register_importer(AccountImporter())


# --- preparing rows ----------------------------------------------------------------------------


def prepare_row(
    importer: Importer,
    ctx: RowContext,
    *,
    index: int,
    line: int,
    cells: Sequence[str],
    problem: str | None,
    lookups: BatchLookups | None = None,
) -> PreparedRow:
    """Turn one row of text into validated input for a new record (and its match keys).
    Values that cannot be read and the validation's own complaints are all reported."""
    if problem:
        return PreparedRow(
            index=index,
            line=line,
            cells=list(cells),
            data={},
            errors=[FieldError("", "unreadable-row", problem)],
        )
    prepared = importer.row_data(ctx, cells)
    prepared.index, prepared.line = index, line
    validate_create(importer, ctx.workspace, ctx.actor, prepared, lookups or ctx.lookups)
    if prepared.stored is None:
        prepared.keys = importer.keys(ctx, prepared.data)
    return prepared


def validate_create(
    importer: Importer,
    workspace: Workspace,
    actor: User | None,
    prepared: PreparedRow,
    lookups: BatchLookups | None,
) -> None:
    """Validate `prepared.data` as a new record; when it is valid (and nothing else failed),
    also what storing it takes: the values as stored, the event's fields, the match keys."""
    try:
        prepared.create = importer.validate(
            workspace=workspace, actor=actor, data=prepared.data, instance=None, lookups=lookups
        )
    except ValidationFailed as exc:
        prepared.create_errors = list(exc.errors)
        return
    if prepared.errors:
        return
    linked = prepared.create.account
    company = prepared.account_name or (linked.name if linked is not None else "")
    values = importer.new_values(prepared.create, company=company)
    prepared.tags = prepared.create.tags
    prepared.stored = importer.stored_row(values)
    prepared.event_fields = importer.event_fields(values, prepared.tags or [])
    prepared.keys = importer.keys_of(values)


def prepare_rows(
    importer: Importer, ctx: RowContext, rows: Iterable[tuple[int, int, list[str], str | None]]
) -> list[PreparedRow]:
    """`prepare_row` over (index, line, cells, problem) tuples."""
    lookups = ctx.lookups
    return [
        prepare_row(
            importer, ctx, index=index, line=line, cells=cells, problem=problem, lookups=lookups
        )
        for index, line, cells, problem in rows
    ]


def row_context(
    *,
    workspace: Workspace,
    actor: User | None,
    object_type: str,
    mapping: Mapping[str, str] | None = None,
) -> RowContext:
    """Everything preparing rows of `object_type` needs, read now (three queries)."""
    from vinculo.core.custom_fields import definitions_for
    from vinculo.core.models import Membership

    importer = importer_for(object_type)
    definitions = definitions_for(workspace=workspace, object_type=object_type)
    members: dict[str, int] = {}
    member_ids: set[int] = set()
    rows = (
        Membership.objects.for_workspace(workspace)
        .filter(is_active=True, user__is_active=True)
        .values_list("user_id", "user__email", "user__full_name")
    )
    for user_id, email, full_name in rows:
        member_ids.add(user_id)
        members[normalize_text(email)] = user_id
        if full_name:
            members.setdefault(normalize_text(full_name), user_id)
    choices = importer.choices()
    for key, definition in definitions.items():
        if definition.field_type in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE):
            choices[f"{CF_PREFIX}{key}"] = _definition_choices(definition)
    locale = (workspace.locale or "").lower()
    return RowContext(
        workspace=workspace,
        actor=actor,
        object_type=object_type,
        mapping={int(k): v for k, v in (mapping or {}).items()},
        definitions=definitions,
        member_ids=frozenset(member_ids),
        members=members,
        # Only a US workspace reads 03/04/2024 as March 4th.
        day_first=not locale.endswith("-us"),
        choices=choices,
        language=translation.get_language() or "",
    )


def _definition_choices(definition: CustomFieldDefinition) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in definition.choices or []:
        if isinstance(item, Mapping):
            value = str(item.get("value", ""))
            found[normalize_text(value)] = value
            if item.get("label"):
                found.setdefault(normalize_text(str(item["label"])), value)
        else:
            found[normalize_text(str(item))] = str(item)
    for value in choice_values(definition):
        found.setdefault(normalize_text(value), value)
    return found


# --- values as stored ----------------------------------------------------------------------


_ADAPTERS: dict[tuple[Any, tuple[str, ...]], list[tuple[int, Callable[[Any], Any]]]] = {}


def _adapters(model: Any, columns: tuple[str, ...]) -> list[tuple[int, Callable[[Any], Any]]]:
    """(position, adapter) of the columns that the database takes in another form than the
    Python value: JSON as text, dates as the backend stores them."""
    key = (model, columns)
    found = _ADAPTERS.get(key)
    if found is None:
        from django.db import connection

        ops = connection.ops
        kinds = {f.attname: f.get_internal_type() for f in model._meta.concrete_fields}
        found = []
        for i, name in enumerate(columns):
            kind = kinds.get(name)
            if kind == "JSONField":
                found.append((i, json_text))
            elif kind == "DateField":
                found.append((i, ops.adapt_datefield_value))
            elif kind == "DateTimeField":
                found.append((i, ops.adapt_datetimefield_value))
        _ADAPTERS[key] = found
    return found


def json_safe(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
