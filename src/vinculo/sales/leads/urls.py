"""Pages of sales leads, included into the "sales" namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from vinculo.sales.leads import views

urlpatterns: list[URLPattern] = [
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/new", views.lead_new, name="lead_new"),
    path("leads/bulk", views.lead_bulk, name="lead_bulk"),
    path("leads/duplicates", views.lead_duplicate_check, name="lead_duplicate_check"),
    path("leads/<int:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/fields/<str:name>", views.lead_field, name="lead_field"),
    path("leads/<int:pk>/status", views.lead_status, name="lead_status"),
    path("leads/<int:pk>/assign", views.lead_assign, name="lead_assign"),
    path("leads/<int:pk>/convert", views.lead_convert, name="lead_convert"),
    path("leads/<int:pk>/delete", views.lead_delete, name="lead_delete"),
    path("leads/<int:pk>/restore", views.lead_restore, name="lead_restore"),
]
