"""Load several related model instances from one hand-written query.

Used on the hottest path only (the API key lookup that precedes every API request), where
building the SQL through the ORM costs more than running it: the statement is written once per
process and the rows are turned into model instances with the same converters Django applies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Model

Converter = Callable[[Any, Any, Any], Any]


def select_list(model: type[Model], alias: str) -> str:
    """`alias.col1, alias.col2, …` for every concrete field of `model`, in field order."""
    return ", ".join(f"{alias}.{f.column}" for f in model._meta.concrete_fields)


def _converters(model: type[Model], using: str) -> list[list[Converter]]:
    connection = connections[using]
    table = model._meta.db_table
    result: list[list[Converter]] = []
    for field in model._meta.concrete_fields:
        column = field.get_col(table)
        result.append(
            [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]
        )
    return result


_CACHE: dict[tuple[type[Model], str], list[list[Converter]]] = {}


def instance_from_row(model: type[Model], values: Sequence[Any], using: str) -> Model:
    """A `model` instance from the raw database values of its concrete fields."""
    key = (model, using)
    converters = _CACHE.get(key)
    if converters is None:
        converters = _CACHE[key] = _converters(model, using)
    connection = connections[using]
    fields = model._meta.concrete_fields
    converted = []
    for field, value, field_converters in zip(fields, values, converters, strict=True):
        expression = field.get_col(model._meta.db_table)
        for convert in field_converters:
            value = convert(value, expression, connection)
        converted.append(value)
    return model.from_db(using, [f.attname for f in fields], converted)
