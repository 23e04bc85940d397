"""Start-up checks: a production run refuses unsafe settings (DEBUG on, no ALLOWED_HOSTS, or the
key generated for the embedded default)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


def production_problems() -> list[str]:
    if getattr(settings, "VINCULO_ENV", "") != "production":
        return []
    problems = []
    if settings.DEBUG:
        problems.append("DEBUG is on; set DEBUG=false.")
    if not settings.ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS is empty; list the host names Vínculo answers to.")
    if getattr(settings, "SECRET_KEY_IS_GENERATED", False):
        problems.append("SECRET_KEY is the generated development key; set SECRET_KEY.")
    return problems


@register(deploy=False)
def check_production_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    return [Error(p, id="vinculo.E001") for p in production_problems()]
