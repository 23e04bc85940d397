"""Keyset pagination: stable, index-friendly pages for every list (DESIGN §3, Queries).

The cursor is an opaque URL-safe string holding the sort values of the last row served. Each
order must end with a unique column (the primary key) so pages never overlap or skip.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q, QuerySet

from vinculo.core.exceptions import FieldError, ValidationFailed

T = TypeVar("T", bound=models.Model)

MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return {"$dt": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "$dt" in value:
        text = value["$dt"]
        return dt.datetime.fromisoformat(text) if "T" in text else dt.date.fromisoformat(text)
    if isinstance(value, dict) and "$dec" in value:
        return Decimal(value["$dec"])
    return value


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != size:
            raise ValueError("wrong size")
        decoded = [_decode_value(v) for v in values]
        if not all(_storable(v) for v in decoded):
            raise ValueError("not a value of a sort column")
        return decoded
    except (ValueError, binascii.Error, json.JSONDecodeError, TypeError) as exc:
        raise _invalid_cursor() from exc


def _storable(value: Any) -> bool:
    """Whether a database can compare a column with `value` without erroring: cursors edited by
    hand must answer 422, not fail in the driver (overflow, NUL bytes, arrays)."""
    if isinstance(value, bool) or value is None or isinstance(value, float | Decimal):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, str):
        return "\x00" not in value
    return isinstance(value, dt.date)


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        [FieldError("cursor", "invalid", "The cursor is not valid for this list.")]
    )


def _after_filter(order: list[str], values: list[Any]) -> Q:
    """(a, b, c) > (x, y, z) spelled out, honouring each column's direction. NULLs are not
    supported in sort columns: the fields we sort on are non-null (or coalesced upstream)."""
    condition = Q()
    for i, term in enumerate(order):
        name = term.lstrip("-")
        lookup = "lt" if term.startswith("-") else "gt"
        step = Q(**{f"{name}__{lookup}": values[i]})
        for j in range(i):
            step &= Q(**{order[j].lstrip("-"): values[j]})
        condition |= step
    return condition


def keyset_page(
    qs: QuerySet[T], *, order: list[str], after: str | None = None, limit: int = 50
) -> Page[T]:
    if not order or order[-1].lstrip("-") not in {"id", "pk"}:
        raise ValueError("keyset order must end with the primary key")
    limit = max(1, min(limit, MAX_LIMIT))
    if after:
        try:
            qs = qs.filter(_after_filter(order, decode_cursor(after, size=len(order))))
        except (ValueError, TypeError, DjangoValidationError) as exc:
            # A cursor edited by hand: values of the wrong type for their columns.
            raise _invalid_cursor() from exc
    rows = list(qs.order_by(*order)[: limit + 1])
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor([_attr(last, t.lstrip("-")) for t in order])
    return Page(items=items, next_cursor=next_cursor)


def _attr(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        obj = getattr(obj, part if part != "pk" else "pk")
    return obj
