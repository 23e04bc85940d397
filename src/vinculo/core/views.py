from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from vinculo.core.worker import worker_is_fresh


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:
        return JsonResponse({"database": "error", "worker": "unknown"}, status=503)
    return JsonResponse({"database": database, "worker": "ok" if worker_is_fresh() else "stale"})
