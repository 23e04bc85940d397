"""The REST API at /api/v1: one NinjaAPI, a router per app."""

from __future__ import annotations

from ninja import NinjaAPI

from vinculo.core.api_support import (
    ApiKeyAuth,
    LimitedJsonParser,
    LocalSwagger,
    WorkspaceSessionAuth,
    install_problem_handlers,
)

api = NinjaAPI(
    title="Vínculo API",
    version="1",
    description=(
        "Authenticate with `Authorization: Bearer <API key>` (create one with "
        "`vinculo apikey create`). Errors are RFC 9457 `application/problem+json`."
    ),
    auth=[ApiKeyAuth(), WorkspaceSessionAuth()],
    parser=LimitedJsonParser(),
    urls_namespace="api",
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_problem_handlers(api)


def _add_routers() -> None:
    from vinculo.automation.api import router as automation_router
    from vinculo.contacts.api import router as contacts_router
    from vinculo.contacts.dedupe.api import router as dedupe_router
    from vinculo.contacts.exports.api import router as exports_router
    from vinculo.contacts.imports.api import router as imports_router
    from vinculo.contacts.privacy.api import router as privacy_router
    from vinculo.core.api import router as core_router
    from vinculo.marketing.api import router as marketing_router
    from vinculo.sales.deals.api import router as deals_router
    from vinculo.sales.forecasts.api import router as forecasts_router
    from vinculo.sales.leads.api import router as leads_router
    from vinculo.sales.quotes.api import router as quotes_router
    from vinculo.sales.scoring.api import router as scoring_router
    from vinculo.timeline.api import router as timeline_router

    api.add_router("", core_router)
    # Before the contacts router: URL patterns are tried in order, and /contacts/bulk would
    # otherwise be taken for /contacts/{contact_id}.
    api.add_router("", imports_router)
    api.add_router("", contacts_router)
    api.add_router("", timeline_router)
    api.add_router("", exports_router)
    api.add_router("", dedupe_router)
    api.add_router("", privacy_router)
    api.add_router("", leads_router)
    # Before the deals router, for the same reason: /deals/stalled is not /deals/{deal_id}.
    api.add_router("", forecasts_router)
    api.add_router("", deals_router)
    api.add_router("", quotes_router)
    api.add_router("", scoring_router)
    api.add_router("", automation_router)
    api.add_router("", marketing_router)


_add_routers()
