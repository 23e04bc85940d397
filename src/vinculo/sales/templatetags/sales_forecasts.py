"""Template tags of sales forecasting for the deal pages: whether a deal is stalled.

    {% load sales_forecasts %}
    {% stalled_badge deal %}                  a "Stalled" badge, or nothing
    {% deal_is_stalled deal as stalled %}     True/False, for templates that draw their own

The workspace's settings and stage medians are loaded once per request (they are cached on the
request), so a board of many cards asks the database nothing per card.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from vinculo.core.models import Workspace
from vinculo.sales.forecasts.selectors import INACTIVE, SLOW_STAGE, StalledCheck, stalled_checker
from vinculo.sales.models import Deal

register = template.Library()

_CACHE_KEY = "_vinculo_stalled_check"


def _check(context: template.Context, deal: Deal) -> StalledCheck:
    """The stalled test of the deal's workspace, made once per request (or per render)."""
    request = context.get("request")
    store: Any = request.__dict__ if request is not None else context.render_context
    cached = store.get(_CACHE_KEY)
    if cached is None or cached[0] != deal.workspace_id:
        workspace = context.get("workspace") or getattr(request, "workspace", None)
        if not isinstance(workspace, Workspace) or workspace.pk != deal.workspace_id:
            workspace = Workspace.objects.get(pk=deal.workspace_id)
        cached = (workspace.pk, stalled_checker(workspace))
        store[_CACHE_KEY] = cached
    return cached[1]


@register.simple_tag(takes_context=True)
def deal_is_stalled(context: template.Context, deal: Deal) -> bool:
    return _check(context, deal)(deal)


@register.simple_tag(takes_context=True)
def stalled_badge(context: template.Context, deal: Deal) -> SafeString | str:
    reasons = _check(context, deal).reasons(deal)
    if not reasons:
        return ""
    why = []
    if INACTIVE in reasons:
        why.append(_("No recent activity"))
    if SLOW_STAGE in reasons:
        why.append(_("Too long in its stage"))
    return format_html(
        '<span class="badge badge-red stalled-badge" title="{}">{}</span>',
        " · ".join(why),
        pgettext("deal", "Stalled"),
    )
