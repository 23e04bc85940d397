"""What the dedupe pages show and read: pairs put in words, the merge screen's rows (one per
field, a radio for each side) and the choices posted back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from vinculo.contacts.dedupe.selectors import MergeSides
from vinculo.contacts.dedupe.services import OTHER, SURVIVOR, merge_defaults, merge_fields
from vinculo.contacts.forms import (
    AccountForm,
    ContactForm,
    RecordForm,
    date_display,
    record_facts,
)
from vinculo.contacts.models import Contact
from vinculo.core.models import CustomFieldDefinition
from vinculo.web.formatting import phone_display

CHOICE_PREFIX = "choice."
# Fact names of the record pages → the names a merge picks values by.
_FACT_TO_FIELD = {"account": "account_id", "owner": "owner_id"}
_LIST_FIELDS = ("emails", "phones")


# --- the queue -----------------------------------------------------------------------------------


def reason_text(reason: Mapping[str, Any]) -> str:
    """One reason of a pair in words."""
    kind = reason.get("kind")
    value = str(reason.get("value", ""))
    similarity = int(reason.get("similarity") or 0)
    if kind == "email":
        return _("Same email: %(value)s") % {"value": value}
    if kind == "phone":
        return _("Same phone: %(value)s") % {"value": phone_display(value)}
    if kind == "domain":
        return _("Same domain: %(value)s") % {"value": value}
    tie = reason.get("with")
    texts = {
        "account": _("Similar name (%(similarity)d%%) at the same company"),
        "city": _("Similar name (%(similarity)d%%) in the same city"),
        "domain": _("Similar name (%(similarity)d%%) and the same email domain"),
    }
    text = texts.get(str(tie), _("The names match too (%(similarity)d%%)"))
    return text % {"similarity": similarity}


def score_words(score: float) -> tuple[str, str]:
    """How sure the score is, in words, and the badge colour for it."""
    if score >= 90:
        return _("Very likely"), "red"
    if score >= 80:
        return _("Likely"), "orange"
    return _("Possible"), "yellow"


@dataclass(frozen=True)
class SideFact:
    label: str
    lines: tuple[str, ...]


def side_facts(record: Any) -> list[SideFact]:
    """The key facts of one side of a pair: what tells two records apart at a glance."""
    owner = record.owner.display_name if record.owner is not None else ""
    created = date_display(record.created_at)
    if isinstance(record, Contact):
        facts = [
            SideFact(_("Emails"), tuple(record.emails)),
            SideFact(_("Phones"), tuple(phone_display(p) for p in record.phones)),
            SideFact(_("Company"), (record.account.name,) if record.account else ()),
            SideFact(_("City"), (record.city,) if record.city else ()),
        ]
    else:
        facts = [
            SideFact(_("Domain"), (record.domain,) if record.domain else ()),
            SideFact(_("Phone"), (phone_display(record.phone),) if record.phone else ()),
            SideFact(_("City"), (record.city,) if record.city else ()),
        ]
    facts += [
        SideFact(_("Owner"), (owner,) if owner else ()),
        SideFact(pgettext("record", "Created"), (created,)),
    ]
    return facts


# --- the merge screen ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeRow:
    """One field of the merge screen: its value on each side and which one is chosen.
    `same` rows need no choice; list rows (emails, phones) keep both lists and choose whose
    first (primary) value leads."""

    name: str
    label: str
    survivor: tuple[str, ...]
    other: tuple[str, ...]
    chosen: str
    same: bool
    united: bool = False

    @property
    def input_name(self) -> str:
        return f"{CHOICE_PREFIX}{self.name}"


def _lines(fact: Any) -> tuple[str, ...]:
    if fact.lines:
        return tuple(str(line) for line in fact.lines)
    return (str(fact.value),) if fact.value else ()


def merge_rows(
    sides: MergeSides,
    *,
    definitions: Iterable[CustomFieldDefinition],
    currency: str,
    chosen: Mapping[str, str] | None = None,
) -> list[MergeRow]:
    """The rows of the merge screen, in the order of the record page, custom fields last;
    fields empty on both sides are left out. `chosen` (what was posted) wins over the
    defaults."""
    form_class = ContactForm if sides.object_type == "contact" else AccountForm
    definitions = list(definitions)
    facts = {
        side: {
            f.name: f
            for f in record_facts(
                record, form_class=form_class, definitions=definitions, currency=currency
            )
        }
        for side, record in ((SURVIVOR, sides.survivor), (OTHER, sides.other))
    }
    names = [*merge_fields(sides.object_type)]
    custom = {RecordForm.cf_name(d.key): f"custom_fields.{d.key}" for d in definitions}
    names += list(custom.values())
    defaults = merge_defaults(sides.survivor, sides.other, names)
    rows: list[MergeRow] = []
    for fact_name, survivor_fact in facts[SURVIVOR].items():
        name = _FACT_TO_FIELD.get(fact_name) or custom.get(fact_name) or fact_name
        if name not in defaults:
            continue
        mine, theirs = _lines(survivor_fact), _lines(facts[OTHER][fact_name])
        if not mine and not theirs:
            continue
        side = (chosen or {}).get(name) or defaults[name]
        rows.append(
            MergeRow(
                name=name,
                label=str(survivor_fact.label),
                survivor=mine,
                other=theirs,
                chosen=side,
                same=mine == theirs,
                united=name in _LIST_FIELDS,
            )
        )
    external = (sides.survivor.external_id, sides.other.external_id)
    if any(external):
        rows.append(
            MergeRow(
                name="external_id",
                label=str(gettext_lazy("External id")),
                survivor=(external[0],) if external[0] else (),
                other=(external[1],) if external[1] else (),
                chosen=(chosen or {}).get("external_id") or defaults["external_id"],
                same=external[0] == external[1],
            )
        )
    return rows


def posted_choices(data: Mapping[str, Any]) -> dict[str, str]:
    """The sides chosen on the merge screen (`choice.<field>` radios)."""
    return {
        key.removeprefix(CHOICE_PREFIX): str(value)
        for key, value in data.items()
        if key.startswith(CHOICE_PREFIX)
    }


def united_tags(sides: MergeSides) -> list[str]:
    names = [t.name for t in sides.survivor.tags.all()] + [t.name for t in sides.other.tags.all()]
    return sorted(dict.fromkeys(names), key=str.casefold)


def moving_words(sides: MergeSides) -> list[str]:
    """What moves to the record kept, in words ("3 interactions", …), only what exists."""
    texts = {
        "interactions": lambda n: ngettext("%(n)d interaction", "%(n)d interactions", n),
        "tasks": lambda n: ngettext("%(n)d task", "%(n)d tasks", n),
        "notes": lambda n: ngettext("%(n)d note", "%(n)d notes", n),
        "consents": lambda n: ngettext("%(n)d consent entry", "%(n)d consent entries", n),
        "contacts": lambda n: ngettext("%(n)d contact", "%(n)d contacts", n),
    }
    words = []
    for label, count in sides.moving.items():
        if not count:
            continue
        maker = texts.get(label)
        words.append(maker(count) % {"n": count} if maker else f"{count} {label}")
    return words
