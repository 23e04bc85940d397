from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString

from vinculo.web.formatting import highlight as _highlight
from vinculo.web.formatting import phone_display

register = template.Library()


@register.filter
def highlight(text: str, query: str) -> SafeString:
    """`{{ hit.title|highlight:query }}`: the words of the query marked, accents ignored."""
    return _highlight(str(text or ""), str(query or ""))


@register.filter
def phone(e164: str) -> str:
    """`{{ contact.phone|phone }}`: a stored E.164 number in international format."""
    return phone_display(str(e164 or ""))


@register.simple_tag
def url_or_blank(name: str, *args: object) -> str:
    """`{% url_or_blank "contacts:list" as href %}`: the URL, or "" while that page does not
    exist yet, so a template can link only to pages that are there."""
    if not name:
        return ""
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return ""
