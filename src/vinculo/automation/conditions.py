"""Rule conditions: an AND/OR tree of field comparisons on a rule's subject and its related
records, checked (`validate_conditions`) when a rule is saved and evaluated (`matches`) when an
event arrives.

Tree: {"all": [node, …]} or {"any": [node, …]}; a node is a group or a leaf
{"field": "country", "op": "eq", "value": "BR"}. A field of a related record is reached through
the subject type's `related` prefixes ("account.industry"); a custom field as
"custom_fields.<key>". An empty tree (or an empty group) is always true.

Text compares without regard to case or surrounding spaces ("br" equals "BR"). A list value
(tags, emails) matches when any of its items does (and `ne`/`not_in`/`not_contains` when none
does). Dates and date-times take ISO values or one relative to now: "now", "today",
"now-2h", "today+7d" (units m, h, d, w). `changed` looks at the event's payload: the field is
in its "changes" (or the event set it on create); with a value, it must have changed to it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.automation.subjects import FieldSpec, SubjectType
from vinculo.automation.subjects import subject_type as get_subject_type
from vinculo.core.exceptions import FieldError

GROUP_KEYS = ("all", "any")
LEAF_KEYS = frozenset({"field", "op", "value"})
MAX_DEPTH = 4
MAX_LEAVES = 50
MAX_LIST = 200
MAX_TEXT = 500
CUSTOM_PREFIX = "custom_fields."

OPS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "starts_with",
    "gt",
    "gte",
    "lt",
    "lte",
    "is_empty",
    "is_not_empty",
    "changed",
)
NO_VALUE_OPS = frozenset({"is_empty", "is_not_empty"})
LIST_OPS = frozenset({"in", "not_in"})
_EQUALITY = ("eq", "ne", "in", "not_in", "is_empty", "is_not_empty", "changed")
_ORDER = ("gt", "gte", "lt", "lte")
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "text": (*_EQUALITY, "contains", "not_contains", "starts_with"),
    "number": (*_EQUALITY, *_ORDER),
    "date": ("eq", "ne", *_ORDER, "is_empty", "is_not_empty", "changed"),
    "datetime": (*_ORDER, "is_empty", "is_not_empty", "changed"),
    "choice": _EQUALITY,
    "bool": ("eq", "ne", "changed"),
    "user": _EQUALITY,
    "team": _EQUALITY,
}

_RELATIVE = re.compile(r"^\s*(now|today)\s*(?:([+-])\s*(\d{1,6})\s*([mhdw]))?\s*$", re.I)
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class ConditionError(ValueError):
    """A stored tree no longer fits the registry (a field was removed): the run fails, loudly."""


@dataclass(frozen=True)
class ResolvedField:
    """A field path resolved against a subject type: where to read it from and how."""

    path: str
    spec: FieldSpec
    # Getters leading from the subject to the record holding the field (related records).
    hops: tuple[Callable[[Any], Any], ...] = ()

    @property
    def is_related(self) -> bool:
        return bool(self.hops)


# ---------------------------------------------------------------------------------------------
# Fields


def _custom_field_spec(st: SubjectType, path: str) -> FieldSpec | None:
    if not path.startswith(CUSTOM_PREFIX) or len(path) == len(CUSTOM_PREFIX):
        return None
    try:
        st.model._meta.get_field("custom_fields")
    except Exception:
        return None
    return FieldSpec(path, path[len(CUSTOM_PREFIX) :], "text", settable=False)


def resolve_field(path: str, *, subject_type: str, _depth: int = 0) -> ResolvedField | None:
    """The field at `path` ("country", "account.industry", "custom_fields.size"), or None."""
    st = get_subject_type(subject_type)
    spec = st.get_field(path) or _custom_field_spec(st, path)
    if spec is not None:
        return ResolvedField(path, spec)
    prefix, _dot, rest = path.partition(".")
    if not rest or prefix not in st.related or _depth >= 2:
        return None
    related_name, getter = st.related[prefix]
    inner = resolve_field(rest, subject_type=related_name, _depth=_depth + 1)
    if inner is None:
        return None
    return ResolvedField(path, inner.spec, (getter, *inner.hops))


def condition_fields(subject_type: str) -> list[tuple[str, Any, FieldSpec]]:
    """Every field a condition may name: (path, label, spec), the subject's own first, then
    its related records' ("Account › Industry")."""
    st = get_subject_type(subject_type)
    out: list[tuple[str, Any, FieldSpec]] = [(s.name, s.label, s) for s in st.fields]
    for prefix, (related_name, _getter) in st.related.items():
        try:
            rel = get_subject_type(related_name)
        except KeyError:
            continue
        for spec in rel.fields:
            out.append((f"{prefix}.{spec.name}", f"{rel.label} › {spec.label}", spec))
    return out


# ---------------------------------------------------------------------------------------------
# Values


def _relative(text: str, *, as_date: bool) -> dt.date | dt.datetime | None:
    match = _RELATIVE.match(text)
    if not match:
        return None
    base_word, sign, amount, unit = match.groups()
    now = timezone.localtime()
    base: dt.datetime = now
    if base_word.lower() == "today":
        base = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if amount:
        delta = dt.timedelta(**{_UNIT[unit.lower()]: int(amount)})
        base = base + delta if sign == "+" else base - delta
    return base.date() if as_date else base


def _to_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        relative = _relative(value, as_date=True)
        if relative is not None:
            return relative
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _to_datetime(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, dt.date):
        return timezone.make_aware(dt.datetime.combine(value, dt.time.min))
    if isinstance(value, str):
        relative = _relative(value, as_date=False)
        if relative is not None:
            return relative  # type: ignore[return-value]
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    return None


def _to_number(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0"}:
        return value.strip().lower() in {"true", "1"}
    if isinstance(value, int):
        return bool(value)
    return None


def _to_id(value: Any) -> int | None:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def normalize(kind: str, value: Any) -> Any:
    """A value in the form comparisons use for `kind` (None when empty or unreadable)."""
    if kind == "text":
        return None if value is None else str(value).strip().casefold()
    if kind == "choice":
        if isinstance(value, models.Model):
            value = value.pk
        return None if value is None or value == "" else str(value)
    if kind == "number":
        return _to_number(value)
    if kind == "date":
        return _to_date(value)
    if kind == "datetime":
        return _to_datetime(value)
    if kind == "bool":
        return _to_bool(value)
    return _to_id(value)


def read_value(obj: Any, spec: FieldSpec) -> Any:
    """The raw value of `spec` on `obj` (foreign keys as ids; tags as their names)."""
    if obj is None:
        return None
    name = spec.name
    if name.startswith(CUSTOM_PREFIX):
        return (getattr(obj, "custom_fields", None) or {}).get(name[len(CUSTOM_PREFIX) :])
    meta = getattr(obj, "_meta", None)
    if meta is not None:
        try:
            model_field = meta.get_field(name)
        except Exception:
            model_field = None
        if model_field is not None and getattr(model_field, "many_to_one", False):
            # The id column: no query for the related row.
            return getattr(obj, model_field.attname)
    value = getattr(obj, name, None)
    if isinstance(value, models.Manager):
        return [str(item) for item in value.all()]
    if isinstance(value, models.Model):
        return value.pk
    return value


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


# ---------------------------------------------------------------------------------------------
# Evaluation


def _compare_one(op: str, kind: str, actual: Any, expected: Any) -> bool:
    """`op` for one (already normalised) actual value."""
    if op in ("eq", "ne"):
        equal = actual is not None and actual == expected
        return equal if op == "eq" else not equal
    if op in ("in", "not_in"):
        inside = actual is not None and actual in expected
        return inside if op == "in" else not inside
    if op in ("contains", "not_contains"):
        found = actual is not None and expected is not None and expected in actual
        return found if op == "contains" else not found
    if op == "starts_with":
        return actual is not None and expected is not None and actual.startswith(expected)
    if actual is None or expected is None:
        return False
    try:
        if op == "gt":
            return bool(actual > expected)
        if op == "gte":
            return bool(actual >= expected)
        if op == "lt":
            return bool(actual < expected)
        if op == "lte":
            return bool(actual <= expected)
    except TypeError:
        return False
    raise ConditionError(f"unknown operator {op!r}")


_NEGATIVE = frozenset({"ne", "not_in", "not_contains"})


def _compare(op: str, kind: str, raw: Any, value: Any) -> bool:
    if op == "is_empty":
        return _is_empty(raw)
    if op == "is_not_empty":
        return not _is_empty(raw)
    if op in LIST_OPS:
        items = value if isinstance(value, list) else [value]
        expected: Any = {normalize(kind, v) for v in items}
    else:
        expected = normalize(kind, value)
    if isinstance(raw, list | tuple | set):
        results = [_compare_one(op, kind, normalize(kind, item), expected) for item in raw]
        if op in _NEGATIVE:
            return all(results)
        return any(results)
    return _compare_one(op, kind, normalize(kind, raw), expected)


def _change_keys(spec: FieldSpec) -> tuple[str, ...]:
    name = spec.name
    if name.endswith("_id") or name.startswith(CUSTOM_PREFIX):
        return (name,)
    return (name, f"{name}_id")


def _changed(leaf: dict[str, Any], resolved: ResolvedField, event: Any) -> bool:
    if event is None or resolved.is_related:
        return False
    payload = getattr(event, "payload", None) or {}
    changes = payload.get("changes") or {}
    created = (
        payload.get("fields") if str(getattr(event, "type", "")).endswith(".created") else None
    )
    new: Any = None
    found = False
    for key in _change_keys(resolved.spec):
        if key in changes:
            pair = changes[key]
            new = pair[1] if isinstance(pair, list | tuple) and len(pair) == 2 else pair
            found = True
            break
        if f"to_{key}" in payload:
            new, found = payload[f"to_{key}"], True
            break
        if isinstance(created, dict) and key in created:
            new, found = created[key], True
            break
    if not found:
        return False
    if leaf.get("value") is None:
        return True
    return _compare("eq", resolved.spec.kind, new, leaf["value"])


def _leaf(leaf: dict[str, Any], st_name: str, obj: Any, event: Any) -> bool:
    path = leaf.get("field")
    resolved = resolve_field(path, subject_type=st_name) if isinstance(path, str) else None
    if resolved is None:
        raise ConditionError(f"unknown field {path!r} for {st_name}")
    op = leaf.get("op")
    if op not in OPS:
        raise ConditionError(f"unknown operator {op!r}")
    if op == "changed":
        return _changed(leaf, resolved, event)
    target = obj
    for hop in resolved.hops:
        target = hop(target) if target is not None else None
    if target is None and resolved.is_related:
        # No related record: only "is empty" (and the negative comparisons) hold.
        return op == "is_empty" or op in _NEGATIVE
    return _compare(op, resolved.spec.kind, read_value(target, resolved.spec), leaf.get("value"))


def _node(node: Any, st_name: str, obj: Any, event: Any) -> bool:
    if not isinstance(node, dict):
        raise ConditionError("a condition node must be an object")
    if "field" in node:
        return _leaf(node, st_name, obj, event)
    if "all" in node:
        return all(_node(child, st_name, obj, event) for child in node["all"] or [])
    if "any" in node:
        children = node["any"] or []
        return not children or any(_node(child, st_name, obj, event) for child in children)
    if not node:
        return True
    raise ConditionError("a condition group needs 'all' or 'any'")


def matches(conditions: dict[str, Any], *, subject_type: str, obj: Any, event: Any = None) -> bool:
    """Whether `obj` (a `subject_type` record) satisfies the tree. Raises ConditionError for
    a tree that names fields or operators the registry no longer knows."""
    if not conditions:
        return True
    return _node(conditions, subject_type, obj, event)


def condition_paths(conditions: Any) -> Iterable[str]:
    """Every field path a tree names (for the UI and for prefetching related records)."""
    if isinstance(conditions, dict):
        if isinstance(conditions.get("field"), str):
            yield conditions["field"]
        for key in GROUP_KEYS:
            for child in conditions.get(key) or []:
                yield from condition_paths(child)


# ---------------------------------------------------------------------------------------------
# Validation


def value_error(kind: str, spec: FieldSpec, value: Any) -> str | None:
    """Why `value` does not fit a field of `kind`, or None."""
    if value is None or isinstance(value, dict | list):
        return _("Enter a single value.")
    if kind == "text":
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            return _("Enter text.")
        if len(str(value)) > MAX_TEXT:
            return _("Use at most %(max)d characters.") % {"max": MAX_TEXT}
        return None
    if kind == "number":
        return None if _to_number(value) is not None else _("Enter a number.")
    if kind == "date":
        return (
            None
            if _to_date(value) is not None
            else _("Enter a date (YYYY-MM-DD) or a relative one such as today-7d.")
        )
    if kind == "datetime":
        return (
            None
            if _to_datetime(value) is not None
            else _("Enter a date and time (ISO 8601) or a relative one such as now-2h.")
        )
    if kind == "bool":
        return None if _to_bool(value) is not None else _("Enter true or false.")
    if kind == "choice":
        if spec.choices and str(value) not in spec.choice_values:
            return _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(sorted(spec.choice_values))
            }
        return None
    # user, team
    ident = _to_id(value)
    if ident is not None and ident > 0:
        return None
    return _("Enter the id of a user.") if kind == "user" else _("Enter the id of a team.")


def _validate_leaf(leaf: dict[str, Any], path: str, st_name: str, errors: list[FieldError]) -> None:
    unknown = sorted(set(leaf) - LEAF_KEYS)
    if unknown:
        errors.append(
            FieldError(
                path, "unknown-key", _("Unknown key: %(keys)s.") % {"keys": ", ".join(unknown)}
            )
        )
    field_path = leaf.get("field")
    resolved = None
    if not isinstance(field_path, str) or not field_path.strip():
        errors.append(FieldError(f"{path}.field", "required", _("Choose a field.")))
    else:
        resolved = resolve_field(field_path, subject_type=st_name)
        if resolved is None:
            errors.append(
                FieldError(
                    f"{path}.field",
                    "unknown-field",
                    _("unknown field “%(field)s”.") % {"field": field_path},
                )
            )
    op = leaf.get("op")
    if op not in OPS:
        errors.append(
            FieldError(
                f"{path}.op",
                "invalid-choice" if op else "required",
                _("Choose one of: %(ops)s.") % {"ops": ", ".join(OPS)},
            )
        )
        return
    if resolved is None:
        return
    kind = resolved.spec.kind
    if op not in OPS_BY_KIND[kind]:
        errors.append(
            FieldError(
                f"{path}.op",
                "invalid-choice",
                _("“%(op)s” does not apply to this field; use one of: %(ops)s.")
                % {"op": op, "ops": ", ".join(OPS_BY_KIND[kind])},
            )
        )
        return
    if op == "changed" and resolved.is_related:
        errors.append(
            FieldError(
                f"{path}.op",
                "invalid-choice",
                _("“changed” applies to the record's own fields only."),
            )
        )
        return
    value = leaf.get("value")
    if op in NO_VALUE_OPS or (op == "changed" and value is None):
        return
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            errors.append(FieldError(f"{path}.value", "required", _("Enter one or more values.")))
            return
        if len(value) > MAX_LIST:
            errors.append(
                FieldError(
                    f"{path}.value",
                    "too-many",
                    _("Use at most %(max)d values.") % {"max": MAX_LIST},
                )
            )
            return
        for i, item in enumerate(value):
            message = value_error(kind, resolved.spec, item)
            if message:
                errors.append(FieldError(f"{path}.value[{i}]", "invalid", message))
        return
    if value is None or value == "":
        if kind == "text" and op in ("eq", "ne"):
            return  # comparing with nothing is a way to say "is empty"
        errors.append(FieldError(f"{path}.value", "required", _("Enter a value.")))
        return
    message = value_error(kind, resolved.spec, value)
    if message:
        errors.append(FieldError(f"{path}.value", "invalid", message))


def _validate_node(
    node: Any, path: str, st_name: str, errors: list[FieldError], depth: int, leaves: list[int]
) -> None:
    if not isinstance(node, dict):
        errors.append(FieldError(path, "invalid", _("Must be a group or a comparison.")))
        return
    if "field" in node or "op" in node:
        leaves[0] += 1
        _validate_leaf(node, path, st_name, errors)
        return
    keys = [k for k in GROUP_KEYS if k in node]
    extra = sorted(set(node) - set(GROUP_KEYS))
    if len(keys) != 1 or extra:
        errors.append(
            FieldError(path, "invalid", _("A group holds exactly one of “all” or “any”."))
        )
        return
    key = keys[0]
    children = node[key]
    if not isinstance(children, list):
        errors.append(FieldError(f"{path}.{key}", "invalid", _("Must be a list.")))
        return
    if depth >= MAX_DEPTH and children:
        errors.append(
            FieldError(
                f"{path}.{key}",
                "too-deep",
                _("Groups nest at most %(max)d levels deep.") % {"max": MAX_DEPTH},
            )
        )
        return
    for i, child in enumerate(children):
        _validate_node(child, f"{path}.{key}[{i}]", st_name, errors, depth + 1, leaves)


def validate_conditions(
    conditions: Any, *, subject_type: str, path: str = "conditions"
) -> list[FieldError]:
    """Every problem of a tree, each naming its place ("conditions.all[1].field")."""
    errors: list[FieldError] = []
    if conditions in (None, {}):
        return errors
    try:
        get_subject_type(subject_type)
    except KeyError:
        return [FieldError(path, "unknown-subject", _("This trigger has no known record type."))]
    leaves = [0]
    _validate_node(conditions, path, subject_type, errors, 0, leaves)
    if leaves[0] > MAX_LEAVES:
        errors.append(
            FieldError(
                path,
                "too-many",
                _("Use at most %(max)d comparisons.") % {"max": MAX_LEAVES},
            )
        )
    return errors


def condition_uses_changed(conditions: Any) -> bool:
    """Whether any comparison of the tree is `changed` (meaningless without an event)."""
    if isinstance(conditions, dict):
        if conditions.get("op") == "changed":
            return True
        return any(
            condition_uses_changed(child)
            for key in GROUP_KEYS
            for child in (conditions.get(key) or [])
            if isinstance(conditions.get(key), list)
        )
    return False
