"""Pages of exports, included into the "contacts" namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from vinculo.contacts.exports import views

urlpatterns: list[URLPattern] = [
    path("exports/", views.export_list, name="export_list"),
    path("exports/new", views.export_start, name="export_start"),
    path("exports/<int:export_id>/", views.export_detail, name="export_detail"),
    path("exports/<int:export_id>/progress", views.export_progress, name="export_progress"),
    path("exports/<int:export_id>/download", views.export_download, name="export_download"),
    path("exports/<int:export_id>/delete", views.export_delete, name="export_delete"),
]
