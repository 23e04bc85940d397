"""What a lead is found and sorted by: its `search_document` (names, email, phone, company)
and `sort_name`, written the way the contacts write theirs, so the lists' search box
(`contacts.search.search_filter`) reads both the same way."""

from __future__ import annotations

import re
from typing import Any

from vinculo.contacts.search import phone_search_terms
from vinculo.core.search import build_search_document, normalize_text

# The words of a document as the contacts' search cuts queries into words.
_TOKEN_RE = re.compile(r"[^\W_]+")


def lead_search_document(
    *,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    phone: str = "",
    company_name: str = "",
    company_domain: str = "",
) -> str:
    """The `search_document` of a lead: its words, each once. Phones are E.164, as stored."""
    parts = [first_name, last_name, email, *phone_search_terms(phone), company_name]
    parts.append(company_domain)
    words = _TOKEN_RE.findall(build_search_document(*parts))
    return " ".join(dict.fromkeys(words))


def lead_sort_name(*, first_name: str, last_name: str, email: str, company_name: str) -> str:
    name = " ".join(p for p in (first_name.strip(), last_name.strip()) if p)
    return normalize_text(name or email or company_name)[:300]


def derive_lead_columns(values: dict[str, Any] | Any) -> None:
    """Fill `sort_name` and `search_document` from the other columns of a lead (a model
    object, or a dict of columns as imports prepare them)."""
    if isinstance(values, dict):
        read = {name: str(values.get(name) or "") for name in _SOURCE_COLUMNS}
    else:
        read = {name: str(getattr(values, name, "") or "") for name in _SOURCE_COLUMNS}
    derived = {
        "sort_name": lead_sort_name(
            first_name=read["first_name"],
            last_name=read["last_name"],
            email=read["email"],
            company_name=read["company_name"],
        ),
        "search_document": lead_search_document(**read),
    }
    for name, value in derived.items():
        if isinstance(values, dict):
            values[name] = value
        else:
            setattr(values, name, value)


_SOURCE_COLUMNS = ("first_name", "last_name", "email", "phone", "company_name", "company_domain")
