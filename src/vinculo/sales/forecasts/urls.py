"""Pages of sales forecasts, included into the "sales" namespace."""

from __future__ import annotations

from django.urls import path

from vinculo.sales.forecasts import views

urlpatterns = [
    path("forecast/", views.forecast_page, name="forecast"),
    path("forecast/quotas/", views.quota_list, name="quota_list"),
    path("forecast/quotas/new", views.quota_save, name="quota_new"),
    path("forecast/quotas/<int:quota_id>/edit", views.quota_save, name="quota_edit"),
    path("forecast/quotas/<int:quota_id>/delete", views.quota_delete, name="quota_delete"),
    path("deals/analytics/", views.pipeline_analytics, name="pipeline_analytics"),
    path("deals/stalled/", views.stalled_deals, name="stalled_deals"),
]
