"""Text normalisation shared by search, sorting and matching.

`normalize_text` is the one definition of "the same text" in Vínculo: case-folded, accents
removed, whitespace collapsed, so `jose` finds José and names sort the way people expect.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=65536)
def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_text(text: str | None) -> str:
    if not text:
        return ""
    if text.isascii():
        return " ".join(text.lower().split())
    return " ".join(_fold(text).split())


def build_search_document(*parts: str | None) -> str:
    """One normalised line with every searchable value of a record."""
    return " ".join(p for p in (normalize_text(part) for part in parts) if p)
