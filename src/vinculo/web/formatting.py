"""Display forms of stored values that the shell shows (phones, search highlights)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from vinculo.core.search import normalize_text


@lru_cache(maxsize=4096)
def phone_display(e164: str) -> str:
    """A stored E.164 number as people write it internationally (+55 11 98765-4321)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_WORD_RE = re.compile(r"[^\W_]+")


def _folded_chars(text: str) -> tuple[str, list[int]]:
    """`text` folded like the search index (case and accents), with, for each folded character,
    the index of the original character it came from, so matches map back to the original."""
    folded: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for part in unicodedata.normalize("NFKD", ch.casefold()):
            if not unicodedata.combining(part):
                folded.append(part)
                origin.append(i)
    return "".join(folded), origin


def highlight(text: str, query: str) -> SafeString:
    """`text`, escaped, with each word start that matches a word of `query` (ignoring case and
    accents, as the search does) wrapped in <mark>."""
    tokens = sorted(set(_WORD_RE.findall(normalize_text(query))), key=len, reverse=True)
    if not text or not tokens:
        return escape(text)
    folded, origin = _folded_chars(text)
    marked = [False] * len(text)
    for word in _WORD_RE.finditer(folded):
        for token in tokens:
            if word.group().startswith(token):
                start = origin[word.start()]
                end_folded = word.start() + len(token) - 1
                end = origin[end_folded] + 1
                for k in range(start, end):
                    marked[k] = True
                break
    out: list[str] = []
    inside = False
    for ch, on in zip(text, marked, strict=True):
        if on and not inside:
            out.append("<mark>")
        elif not on and inside:
            out.append("</mark>")
        inside = on
        out.append(escape(ch))
    if inside:
        out.append("</mark>")
    return mark_safe("".join(out))  # noqa: S308 - every piece of text went through escape()
