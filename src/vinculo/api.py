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
    from vinculo.contacts.api import router as contacts_router
    from vinculo.contacts.dedupe.api import router as dedupe_router
    from vinculo.contacts.exports.api import router as exports_router
    from vinculo.contacts.imports.api import router as imports_router
    from vinculo.contacts.privacy.api import router as privacy_router
    from vinculo.core.api import router as core_router
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


_add_routers()
