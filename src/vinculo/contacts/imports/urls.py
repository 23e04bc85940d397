"""Pages of imports, included into the "contacts" namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from vinculo.contacts.imports import views

urlpatterns: list[URLPattern] = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/new", views.import_new, name="import_new"),
    path("imports/<int:job_id>/", views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/mapping", views.import_configure, name="import_configure"),
    path("imports/<int:job_id>/start", views.import_start, name="import_start"),
    path("imports/<int:job_id>/progress", views.import_progress, name="import_progress"),
    path("imports/<int:job_id>/failed-rows.csv", views.import_failures, name="import_failures"),
    path("imports/<int:job_id>/undo", views.import_undo, name="import_undo"),
    path(
        "imports/mappings/<int:mapping_id>/delete",
        views.import_mapping_delete,
        name="import_mapping_delete",
    ),
]
