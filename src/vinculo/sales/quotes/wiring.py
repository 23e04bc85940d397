"""What sales quotes plugs into the rest of Vínculo when the app loads: automation subjects and
triggers, importers, merge relations, privacy sections, search providers, event subscribers and
periodic jobs."""

from __future__ import annotations

from vinculo.contacts.dedupe.services import register_merge_relation
from vinculo.sales.models import Order, Quote
from vinculo.sales.quotes import importing, periodic, privacy  # noqa: F401 - registers on import

# Orders and quotes follow a merged contact or account to the survivor.
register_merge_relation(Order, "contact", label="orders")
register_merge_relation(Quote, "contact", label="quotes")
register_merge_relation(Order, "account", object_type="account", label="orders")
register_merge_relation(Quote, "account", object_type="account", label="quotes")
