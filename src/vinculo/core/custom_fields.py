"""Custom fields: validation of the values a record stores under `custom_fields`, and the list
filters (`cf.<key>=value`) that read them.

Values are kept in one JSON object per record, normalised so that equal values compare equal in
SQL on both databases: numbers as JSON numbers, money as a decimal string with two places
("1234.50"), dates as ISO strings, booleans as JSON booleans, choices as their stored value and
multiple choices as a list of values in the order given.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import Func, Q, QuerySet
from django.db.models.fields import BooleanField
from django.db.models.fields.json import KeyTransform
from django.utils.translation import gettext as _

from vinculo.core.exceptions import ErrorCollector
from vinculo.core.models import CustomFieldDefinition, CustomFieldType

if TYPE_CHECKING:
    from vinculo.core.models import Workspace

TEXT_MAX_LENGTH = 2000
MONEY_MAX = Decimal("1e13")  # two places on top make 15 significant digits: exact in any reader
NUMBER_MAX = 1e15
MULTI_CHOICE_MAX = 50
CF_PARAM_PREFIX = "cf."

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class _Invalid(ValueError):
    """A value that does not fit its field; carries the stable code for the FieldError."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def definitions_for(*, workspace: Workspace, object_type: str) -> dict[str, CustomFieldDefinition]:
    """The workspace's live definitions for one object type, by key (one query)."""
    rows = CustomFieldDefinition.objects.for_workspace(workspace).filter(
        object_type=object_type, deleted_at__isnull=True
    )
    return {d.key: d for d in rows}


def choice_values(definition: CustomFieldDefinition) -> list[str]:
    """Allowed stored values of a choice field. A choice is kept either as a plain string or as
    `{"value": ..., "label": ...}` so labels can be renamed without rewriting stored values."""
    values: list[str] = []
    for item in definition.choices or []:
        if isinstance(item, Mapping):
            if "value" in item:
                values.append(str(item["value"]))
        else:
            values.append(str(item))
    return values


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _clean_text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("invalid-type", _("Enter text."))
    text = value.strip()
    if len(text) > TEXT_MAX_LENGTH:
        raise _Invalid("too-long", _("Use at most %(max)d characters.") % {"max": TEXT_MAX_LENGTH})
    return text


def _clean_number(value: Any) -> int | float:
    # bool is an int in Python but never a number a person meant.
    if isinstance(value, bool):
        raise _Invalid("invalid-type", _("Enter a number."))
    if isinstance(value, int | float):
        number: int | float = value
    elif isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise _Invalid("invalid-type", _("Enter a number.")) from None
        if not parsed.is_finite():
            raise _Invalid("invalid-type", _("Enter a number."))
        number = int(parsed) if parsed == parsed.to_integral_value() else float(parsed)
    else:
        raise _Invalid("invalid-type", _("Enter a number."))
    if isinstance(number, float):
        if not math.isfinite(number):
            raise _Invalid("invalid-type", _("Enter a number."))
        if number.is_integer():
            number = int(number)
    if abs(number) >= NUMBER_MAX:
        raise _Invalid("out-of-range", _("The number is too large."))
    return number


def _clean_money(value: Any) -> str:
    if isinstance(value, bool):
        raise _Invalid("invalid-type", _("Enter an amount such as 1234.50."))
    try:
        if isinstance(value, int):
            amount = Decimal(value)
        elif isinstance(value, float):
            # str() gives the shortest repr, so 0.1 stays 0.1 rather than 0.1000000000000000055…
            amount = Decimal(str(value))
        elif isinstance(value, str):
            amount = Decimal(value.strip())
        else:
            raise InvalidOperation
    except InvalidOperation:
        raise _Invalid("invalid-type", _("Enter an amount such as 1234.50.")) from None
    if not amount.is_finite():
        raise _Invalid("invalid-type", _("Enter an amount such as 1234.50."))
    exponent = amount.as_tuple().exponent
    # Money is never rounded silently: a third decimal place is most likely a typo.
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise _Invalid("invalid-decimal-places", _("Use at most two decimal places."))
    if abs(amount) >= MONEY_MAX:
        raise _Invalid("out-of-range", _("The amount is too large."))
    return str(amount.quantize(Decimal("0.01")))


def _clean_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        raise _Invalid("invalid-type", _("Enter a date as YYYY-MM-DD."))
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise _Invalid("invalid-type", _("Enter a date as YYYY-MM-DD."))
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise _Invalid("invalid-date", _("Enter a valid date as YYYY-MM-DD.")) from None


def _clean_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    # Strings come from CSV imports and query strings; JSON bodies send true/false.
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _Invalid("invalid-type", _("Enter true or false."))


def _clean_choice(value: Any, allowed: list[str]) -> str:
    if not isinstance(value, str):
        raise _Invalid("invalid-type", _("Choose one of the options."))
    if value not in allowed:
        raise _Invalid(
            "invalid-choice",
            _("'%(value)s' is not one of the options: %(options)s.")
            % {"value": value[:100], "options": ", ".join(allowed)},
        )
    return value


def _clean_multi_choice(value: Any, allowed: list[str]) -> list[str]:
    if not isinstance(value, list):
        raise _Invalid("invalid-type", _("Send a list of options."))
    if len(value) > MULTI_CHOICE_MAX:
        raise _Invalid("too-many", _("Choose at most %(max)d options.") % {"max": MULTI_CHOICE_MAX})
    chosen: list[str] = []
    for item in value:
        item = _clean_choice(item, allowed)
        if item not in chosen:
            chosen.append(item)
    return chosen


def clean_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """One value normalised for storage; raises `_Invalid` (a ValueError) when it does not fit."""
    kind = definition.field_type
    if kind == CustomFieldType.TEXT:
        return _clean_text(value)
    if kind == CustomFieldType.NUMBER:
        return _clean_number(value)
    if kind == CustomFieldType.MONEY:
        return _clean_money(value)
    if kind == CustomFieldType.DATE:
        return _clean_date(value)
    if kind == CustomFieldType.BOOLEAN:
        return _clean_boolean(value)
    if kind == CustomFieldType.CHOICE:
        return _clean_choice(value, choice_values(definition))
    if kind == CustomFieldType.MULTI_CHOICE:
        return _clean_multi_choice(value, choice_values(definition))
    raise _Invalid("unsupported-type", _("This field has a type Vínculo does not know."))


def clean_custom_fields(
    *,
    workspace: Workspace,
    object_type: str,
    values: Mapping[str, Any] | None,
    current: Mapping[str, Any] | None,
    errors: ErrorCollector,
    partial: bool,
    definitions: Mapping[str, CustomFieldDefinition] | None = None,
) -> dict[str, Any]:
    """Validate `values` against the workspace's definitions and return the merged, normalised
    dict to store. Adds one error per bad key (`custom_fields.<key>`) to `errors`.

    `partial=True` (an update) merges into `current` and checks only the keys sent; a key sent
    as null or "" clears the value. `partial=False` (a create or a full replace) starts from an
    empty dict and also checks that every required field has a value. Stored values of keys
    whose definition was since deleted are kept untouched: a later write must not fail on them.
    """
    if definitions is None:
        definitions = definitions_for(workspace=workspace, object_type=object_type)
    result: dict[str, Any] = dict(current or {}) if partial else {}
    for key, raw in (values or {}).items():
        field = f"custom_fields.{key}"
        definition = definitions.get(key)
        if definition is None:
            errors.add(field, "unknown", _("There is no custom field '%(key)s'.") % {"key": key})
            continue
        if _is_empty(raw):
            if definition.required:
                errors.add(
                    field, "required", _("%(label)s is required.") % {"label": definition.label}
                )
            result.pop(key, None)
            continue
        try:
            cleaned = clean_value(definition, raw)
        except _Invalid as exc:
            errors.add(field, exc.code, exc.message)
            continue
        if _is_empty(cleaned):
            if definition.required:
                errors.add(
                    field, "required", _("%(label)s is required.") % {"label": definition.label}
                )
            result.pop(key, None)
        else:
            result[key] = cleaned
    if not partial:
        sent = values or {}
        for key, definition in definitions.items():
            if definition.required and key not in sent:
                errors.add(
                    f"custom_fields.{key}",
                    "required",
                    _("%(label)s is required.") % {"label": definition.label},
                )
    return result


# --- list filters ------------------------------------------------------------------------------


class _JsonArrayContains(Func):
    """`value` is an element of the JSON array at `key` (SQLite; PostgreSQL uses `@>`)."""

    output_field = BooleanField()
    sql_template = (
        "EXISTS (SELECT 1 FROM json_each({column}, {path}) AS cf_item "
        "WHERE cf_item.value = {value})"
    )

    def __init__(self, column: str, key: str, value: str) -> None:
        from django.db.models import F, Value

        super().__init__(F(column), Value(f'$."{key}"'), Value(value))

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        column, column_params = compiler.compile(self.source_expressions[0])
        path, path_params = compiler.compile(self.source_expressions[1])
        value, value_params = compiler.compile(self.source_expressions[2])
        # Only compiled fragments are interpolated; the key and value travel as parameters.
        sql = self.sql_template.format(column=column, path=path, value=value)
        return sql, (*column_params, *path_params, *value_params)


def parse_custom_field_params(
    params: Iterable[tuple[str, str]],
    *,
    workspace: Workspace,
    object_type: str,
    errors: ErrorCollector,
) -> dict[str, Any]:
    """`cf.<key>=value` query parameters turned into {key: (field type, normalised value)} for
    `filter_by_custom_fields`. Unknown keys and values that do not fit the field's type become
    errors named after the parameter."""
    wanted = [(name, value) for name, value in params if name.startswith(CF_PARAM_PREFIX)]
    if not wanted:
        return {}
    definitions = definitions_for(workspace=workspace, object_type=object_type)
    parsed: dict[str, tuple[str, Any]] = {}
    for name, raw in wanted:
        key = name[len(CF_PARAM_PREFIX) :]
        definition = definitions.get(key)
        if definition is None:
            errors.add(name, "unknown", _("There is no custom field '%(key)s'.") % {"key": key})
            continue
        try:
            if definition.field_type == CustomFieldType.MULTI_CHOICE:
                value = _clean_choice(raw, choice_values(definition))
            else:
                value = clean_value(definition, raw)
        except _Invalid as exc:
            errors.add(name, exc.code, exc.message)
            continue
        parsed[key] = (definition.field_type, value)
    return parsed


def filter_by_custom_fields(
    qs: QuerySet[Any], filters: Mapping[str, tuple[str, Any]], *, column: str = "custom_fields"
) -> QuerySet[Any]:
    """Narrow `qs` to rows whose custom field `key` equals the value (or, for a multiple choice,
    contains it). On PostgreSQL this is JSON containment (`@>`), which the GIN index on
    `custom_fields` serves; SQLite compares the extracted key."""
    if not filters:
        return qs
    vendor = connections[qs.db].vendor
    if vendor == "postgresql":
        wanted: dict[str, Any] = {}
        for key, (kind, value) in filters.items():
            wanted[key] = [value] if kind == CustomFieldType.MULTI_CHOICE else value
        return qs.filter(**{f"{column}__contains": wanted})
    condition = Q()
    aliases: dict[str, KeyTransform] = {}
    for i, (key, (kind, value)) in enumerate(filters.items()):
        if kind == CustomFieldType.MULTI_CHOICE:
            condition &= Q(_JsonArrayContains(column, key, value))
        else:
            # An explicit KeyTransform, because a slug key may itself contain "__".
            aliases[f"_cf_{i}"] = KeyTransform(key, column)
            condition &= Q(**{f"_cf_{i}": value})
    return qs.alias(**aliases).filter(condition)
