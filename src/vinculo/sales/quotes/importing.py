"""Importing orders from a file: one row per order, with its total.

A row names the order (its number in the other system, stored as `external_id`), the day,
the customer (a contact's email and/or an account's name, matched to existing records, never
created), and the amount; optional columns give the channel, currency, owner, a description
and a product code. The order gets one line carrying the amount (quantity 1, no tax): the
purchase history needs what was bought and for how much, and a shop's export rarely gives
taxes per line. Importing the same order number again updates that order instead of adding
one (unless the import says to skip matches), so a monthly export can be imported over the
last one.

Rows are written through `order_upsert`, each in its own savepoint (an order and its line are
several rows, which the contacts' bulk writer does not handle); events carry
`{"source": "import"}`. What an order import did is not undone by the import's undo: cancel
the orders instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vinculo.contacts.imports.importers import (
    Importer,
    PreparedRow,
    RowContext,
    register_importer,
)
from vinculo.contacts.imports.mapping import FieldSpec
from vinculo.contacts.imports.values import parse_date, parse_number
from vinculo.contacts.models import Account, Contact, OnMatch
from vinculo.contacts.validation import BatchLookups, CleanedInput
from vinculo.core.access import visible
from vinculo.core.exceptions import ApplicationError, FieldError, ValidationFailed
from vinculo.core.models import CustomFieldDefinition, User, Workspace
from vinculo.core.search import normalize_text
from vinculo.sales.models import Order, OrderChannel, OrderLine, Product
from vinculo.sales.quotes.services import OUTSIDE_CHANNELS, order_upsert

ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": (
        "Número do pedido",
        "Pedido",
        "Nº do pedido",
        "Order number",
        "Order",
        "Order id",
        "External id",
    ),
    "ordered_at": ("Data", "Data do pedido", "Data da compra", "Date", "Order date"),
    "contact_email": ("E-mail", "Email", "E-mail do cliente", "Customer email"),
    "account_name": ("Empresa", "Conta", "Cliente", "Company", "Account", "Customer"),
    "total": ("Total", "Valor", "Valor total", "Amount", "Order total"),
    "channel": ("Canal", "Channel"),
    "currency": ("Moeda", "Currency"),
    "description": ("Descrição", "Itens", "Description", "Items"),
    "product_code": ("Código do produto", "SKU", "Product code"),
    "owner": ("Responsável", "Vendedor", "Owner", "Salesperson"),
}


def _channel(text: str) -> str:
    folded = normalize_text(text)
    for value, label in OrderChannel.choices:
        if folded in (normalize_text(value), normalize_text(str(label))):
            return value
    return {"loja": "store", "telefone": "phone", "presencial": "in_person"}.get(folded, text)


class OrderImporter(Importer):
    object_type = "order"
    module = "deals"
    model = Order  # type: ignore[assignment]
    link_model = OrderLine  # type: ignore[assignment]
    link_field = "order"
    tracked = ()
    builtin = (
        ("external_id", gettext_lazy("Order number")),
        ("ordered_at", gettext_lazy("Date")),
        ("contact_email", gettext_lazy("Customer email")),
        ("account_name", gettext_lazy("Company")),
        ("total", gettext_lazy("Total")),
        ("channel", gettext_lazy("Channel")),
        ("currency", gettext_lazy("Currency")),
        ("description", gettext_lazy("Description")),
        ("product_code", gettext_lazy("Product code")),
        ("owner", gettext_lazy("Owner (email or name)")),
    )
    match_keys: ClassVar[dict[str, str]] = {"external_id": "external_id"}
    default_match_by = ("external_id",)
    identifying = frozenset({"external_id"})
    text_fields = frozenset(
        {"external_id", "contact_email", "account_name", "currency", "description", "product_code"}
    )
    json_columns = frozenset()

    @property
    def label(self) -> str:
        return str(gettext_lazy("orders"))

    def fields(self, definitions: Mapping[str, CustomFieldDefinition]) -> list[FieldSpec]:
        return [
            FieldSpec(name=name, label=str(label), aliases=ALIASES.get(name, ()))
            for name, label in self.builtin
        ]

    # -- text → input (no database: this may run in a helper process)

    def row_data(self, ctx: RowContext, cells: Sequence[str]) -> PreparedRow:
        data: dict[str, Any] = {}
        errors: list[FieldError] = []
        width = len(cells)
        for index, name in ctx.mapping.items():
            text = (cells[index] if index < width else "").strip()
            if not text:
                continue
            if name in self.text_fields:
                data[name] = text
            elif name == "ordered_at":
                try:
                    data["ordered_at"] = parse_date(text, prefer_day_first=ctx.day_first)
                except ValueError as exc:
                    errors.append(FieldError("ordered_at", "invalid-date", str(exc)))
            elif name == "total":
                try:
                    data["total"] = parse_number(text)
                except ValueError as exc:
                    errors.append(FieldError("total", "invalid-number", str(exc)))
            elif name == "channel":
                data["channel"] = _channel(text)
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
            else:
                errors.append(FieldError(name, "unknown-field", _("There is no such field.")))
        return PreparedRow(index=0, line=0, cells=list(cells), data=data, errors=errors)

    def validate(
        self,
        *,
        workspace: Workspace,
        actor: User | None,
        data: Mapping[str, Any],
        instance: Any,
        lookups: BatchLookups | None,
    ) -> CleanedInput:
        """What a row must hold whatever the database says; the customer and the product are
        looked up when the row is written."""
        problems: list[FieldError] = []
        if not data.get("external_id"):
            problems.append(FieldError("external_id", "required", _("This field is required.")))
        if data.get("total") is None:
            problems.append(FieldError("total", "required", _("This field is required.")))
        if not data.get("contact_email") and not data.get("account_name"):
            problems.append(
                FieldError(
                    "contact_email",
                    "required",
                    _("Give the customer's email or the company's name."),
                )
            )
        channel = data.get("channel")
        if channel and channel not in OUTSIDE_CHANNELS:
            problems.append(
                FieldError(
                    "channel",
                    "invalid-choice",
                    _("Must be one of: %(choices)s.") % {"choices": ", ".join(OUTSIDE_CHANNELS)},
                )
            )
        if problems:
            raise ValidationFailed(problems)
        return CleanedInput(fields=dict(data))

    def keys(self, ctx: RowContext, data: Mapping[str, Any]) -> dict[str, str]:
        external = str(data.get("external_id") or "").strip()
        return {"external_id": external} if external else {}

    def keys_of(self, values: Mapping[str, Any]) -> dict[str, str]:
        external = str(values.get("external_id") or "").strip()
        return {"external_id": external} if external else {}

    def new_values(self, cleaned: CleanedInput, *, company: str) -> dict[str, Any]:
        return dict(cleaned.fields)

    def stored_row(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return (values.get("external_id"),)

    def event_fields(self, values: Mapping[str, Any], tags: list[str]) -> str:
        return "{}"

    def derive(self, values: dict[str, Any], *, company: str) -> None:
        return None

    def display_name(self, values: Mapping[str, Any]) -> str:
        return str(values.get("external_id") or "")

    def field_of_error(self, name: str, mapped: Iterable[str]) -> str:
        head = name.split(".", 1)[0]
        if head == "lines" and name.endswith("unit_price"):
            return "total"
        if head == "lines" and name.endswith("product_id"):
            return "product_code"
        return {
            "contact_id": "contact_email",
            "account_id": "account_name",
            "owner_id": "owner",
        }.get(head, head)

    # -- writing (called by the import writer for this kind)

    def write_rows(self, writer: Any, rows: Sequence[PreparedRow]) -> list[Any]:
        from vinculo.contacts.imports.writer import Outcome

        workspace, actor = writer.workspace, writer.actor
        prepared = [writer.full_row(row) for row in rows]
        customers = _Customers(workspace, actor, prepared)
        existing: dict[str, int] = {}
        if writer.on_match == OnMatch.SKIP:
            wanted = [r.create.fields["external_id"] for r in prepared if r.create is not None]
            existing = dict(
                Order.objects.for_workspace(workspace)
                .filter(external_id__in=wanted, quote__isnull=True)
                .values_list("external_id", "id")
            )
        outcomes: list[Any] = []
        for row in prepared:
            outcome = Outcome(index=row.index, line=row.line)
            outcomes.append(outcome)
            if row.errors or row.create is None:
                outcome.errors = [*row.errors, *row.create_errors]
                continue
            fields = row.create.fields
            if fields["external_id"] in existing:
                outcome.status = "skipped"
                outcome.record_id = existing[fields["external_id"]]
                continue
            data, problems = customers.order_data(fields)
            if problems:
                outcome.errors = problems
                continue
            try:
                with transaction.atomic():
                    result = order_upsert(
                        workspace=workspace, actor=actor, data=data, source="import"
                    )
            except ValidationFailed as exc:
                outcome.errors = list(exc.errors)
            except (ApplicationError, DatabaseError) as exc:
                outcome.errors = [FieldError("", "refused", str(exc)[:300])]
            else:
                outcome.status = "created" if result.created else "updated"
                outcome.record_id = result.order.pk
        return outcomes


class _Customers:
    """The contacts (by email), accounts (by name) and products (by code) a batch names, each
    read once for the whole batch, among those the actor may see."""

    def __init__(self, workspace: Workspace, actor: User | None, rows: list[PreparedRow]) -> None:
        self.workspace = workspace
        fields = [r.create.fields for r in rows if r.create is not None]
        emails = sorted(
            {str(f["contact_email"]).strip().lower() for f in fields if f.get("contact_email")}
        )
        raw_names = sorted(
            {str(f["account_name"]).strip() for f in fields if f.get("account_name")}
        )
        names = sorted({normalize_text(name) for name in raw_names})
        codes = sorted({str(f["product_code"]).strip() for f in fields if f.get("product_code")})
        self.contacts: dict[str, Contact] = {}
        if emails:
            people = visible(
                Contact.objects.for_workspace(workspace).filter(
                    email__in=emails, deleted_at__isnull=True
                ),
                workspace=workspace,
                viewer=actor,
                module="contacts",
            ).order_by("id")
            for person in people:
                self.contacts.setdefault(person.email.lower(), person)
        self.accounts: dict[str, Account] = {}
        if names:
            companies = visible(
                Account.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
                workspace=workspace,
                viewer=actor,
                module="accounts",
            ).filter(Q(sort_name__in=names) | Q(name__in=raw_names))
            for company in companies.order_by("id"):
                self.accounts.setdefault(normalize_text(company.name), company)
        self.products: dict[str, Product] = {}
        if codes:
            for product in Product.objects.for_workspace(workspace).filter(
                code__in=codes, deleted_at__isnull=True
            ):
                self.products.setdefault(product.code, product)

    def order_data(self, fields: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        problems: list[FieldError] = []
        data: dict[str, Any] = {"external_id": fields["external_id"]}
        email = str(fields.get("contact_email") or "").strip().lower()
        if email:
            contact = self.contacts.get(email)
            if contact is None:
                problems.append(
                    FieldError(
                        "contact_email", "not-found", _("No contact has this email address.")
                    )
                )
            else:
                data["contact_id"] = contact.pk
        name = fields.get("account_name")
        if name:
            account = self.accounts.get(normalize_text(str(name)))
            if account is None:
                problems.append(
                    FieldError("account_name", "not-found", _("No account has this name."))
                )
            else:
                data["account_id"] = account.pk
        line: dict[str, Any] = {
            "description": fields.get("description") or "",
            "quantity": "1",
            "unit_price": str(fields["total"]),
        }
        code = fields.get("product_code")
        if code:
            product = self.products.get(str(code).strip())
            if product is None:
                problems.append(
                    FieldError("product_code", "not-found", _("No product has this code."))
                )
            else:
                line["product_id"] = product.pk
                line["description"] = line["description"] or product.name
        line["description"] = line["description"] or _("Imported order")
        line["tax_rate"] = "0"
        data["lines"] = [line]
        for key in ("channel", "currency", "owner_id"):
            if fields.get(key):
                data[key] = fields[key]
        data.setdefault("channel", OrderChannel.IMPORT)
        if fields.get("ordered_at") is not None:
            data["ordered_at"] = fields["ordered_at"]
        return data, problems


register_importer(OrderImporter())
