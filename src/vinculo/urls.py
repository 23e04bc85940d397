from django.urls import include, path

from vinculo.api import api
from vinculo.core.views import healthz, invitation_accept

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("settings/", include(("vinculo.core.urls", "settings"))),
    path("invitations/<str:token>/", invitation_accept, name="invitation_accept"),
    path("api/v1/", api.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include(("vinculo.contacts.urls", "contacts"))),
    path("", include(("vinculo.timeline.urls", "timeline"))),
    path("", include(("vinculo.collab.urls", "collab"))),
    path("", include(("vinculo.sales.urls", "sales"))),
    path("", include(("vinculo.automation.urls", "automation"))),
    path("", include(("vinculo.marketing.urls", "marketing"))),
    path("", include("vinculo.web.urls")),
]
