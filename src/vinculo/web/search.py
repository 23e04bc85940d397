"""Global search: one box in the top bar that asks every module for its matches.

A module registers a provider once, at start-up (from its `AppConfig.ready` or a
`search_providers` module imported there):

    register_search_provider("contacts", _("Contacts"), contact_hits, order=10)

A provider is `func(*, workspace, viewer, query, limit) -> list[SearchHit]`. It reads through
its app's selectors, so record access (own / team / all, module rights) is applied where it
always is; the registry never filters on its own. A provider returns at most `limit` hits and
may return `limit + 1` to say "there are more".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

# One character finds half the workspace and tells nobody anything; the box waits for two.
MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class SearchHit:
    title: str
    subtitle: str
    url: str
    kind: str


class SearchFunc(Protocol):
    def __call__(
        self, *, workspace: Workspace, viewer: User, query: str, limit: int
    ) -> list[SearchHit]: ...


@dataclass(frozen=True)
class SearchProvider:
    key: str
    label: Any  # a lazy translation, rendered in the reader's language
    func: SearchFunc | Callable[..., list[SearchHit]]
    order: int = 100
    # The module's list page that takes the same `q`, for "see them all in the list".
    list_url_name: str | None = None

    def list_url(self, query: str) -> str | None:
        if not self.list_url_name:
            return None
        try:
            return f"{reverse(self.list_url_name)}?{urlencode({'q': query})}"
        except NoReverseMatch:
            return None


@dataclass(frozen=True)
class SearchGroup:
    key: str
    label: str
    hits: list[SearchHit]
    has_more: bool
    list_url: str | None = None


_PROVIDERS: dict[str, SearchProvider] = {}


def register_search_provider(
    key: str,
    label: Any,
    func: SearchFunc | Callable[..., list[SearchHit]],
    *,
    order: int = 100,
    list_url_name: str | None = None,
) -> None:
    """Add (or replace, for the same key) a provider of global-search hits. Groups appear in
    `order`, then by key. `list_url_name` names the module's list page that filters by `q`; the
    results page links to it once it exists."""
    _PROVIDERS[key] = SearchProvider(
        key=key, label=label, func=func, order=order, list_url_name=list_url_name
    )


def unregister_search_provider(key: str) -> None:
    _PROVIDERS.pop(key, None)


def search_providers() -> list[SearchProvider]:
    return sorted(_PROVIDERS.values(), key=lambda p: (p.order, p.key))


def clean_query(query: str | None) -> str:
    """The query as searched: trimmed, inner whitespace collapsed, length capped; blank when it
    is too short to search."""
    text = " ".join((query or "").split())[:MAX_QUERY_LENGTH]
    return text if len(text) >= MIN_QUERY_LENGTH else ""


def global_search(
    *, workspace: Workspace, viewer: User, query: str | None, limit: int = 5
) -> list[SearchGroup]:
    """Up to `limit` hits from each provider, grouped, leaving out groups with none. A query
    shorter than `MIN_QUERY_LENGTH` searches nothing."""
    text = clean_query(query)
    if not text:
        return []
    groups = []
    for provider in search_providers():
        hits = provider.func(workspace=workspace, viewer=viewer, query=text, limit=limit)
        if hits:
            groups.append(
                SearchGroup(
                    key=provider.key,
                    label=str(provider.label),
                    hits=hits[:limit],
                    has_more=len(hits) > limit,
                    list_url=provider.list_url(text),
                )
            )
    return groups
