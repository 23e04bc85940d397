"""The global-search providers of the customer records: contacts and accounts.

Registered by `WebConfig.ready`. Each reads through the contacts selectors, which apply record
access; a role without rights on a module simply gets no hits from it.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from vinculo.contacts.selectors import account_search_suggestions, contact_search_suggestions
from vinculo.core.models import User, Workspace
from vinculo.web.formatting import phone_display
from vinculo.web.search import SearchHit, register_search_provider


def record_url(url_name: str, fallback: str, pk: int) -> str:
    """The record page's URL by name once its page exists, else its well-known path."""
    try:
        return reverse(url_name, args=[pk])
    except NoReverseMatch:
        return fallback.format(pk=pk)


def contact_hits(*, workspace: Workspace, viewer: User, query: str, limit: int) -> list[SearchHit]:
    rows = contact_search_suggestions(workspace=workspace, viewer=viewer, q=query, limit=limit + 1)
    return [
        SearchHit(
            title=row.display_name or f"#{row.id}",
            subtitle=" · ".join(
                p for p in (row.email or phone_display(row.phone), row.company) if p
            ),
            url=record_url("contacts:detail", "/contacts/{pk}/", row.id),
            kind="contact",
        )
        for row in rows
    ]


def account_hits(*, workspace: Workspace, viewer: User, query: str, limit: int) -> list[SearchHit]:
    rows = account_search_suggestions(workspace=workspace, viewer=viewer, q=query, limit=limit + 1)
    return [
        SearchHit(
            title=row.name,
            subtitle=" · ".join(p for p in (row.domain, row.city) if p),
            url=record_url("contacts:account_detail", "/accounts/{pk}/", row.id),
            kind="account",
        )
        for row in rows
    ]


def register() -> None:
    register_search_provider(
        "contacts", _("Contacts"), contact_hits, order=10, list_url_name="contacts:list"
    )
    register_search_provider(
        "accounts", _("Accounts"), account_hits, order=20, list_url_name="contacts:accounts"
    )
