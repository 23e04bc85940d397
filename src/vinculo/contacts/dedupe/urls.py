"""Pages of dedupe, included into the "contacts" namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from vinculo.contacts.dedupe import views

urlpatterns: list[URLPattern] = [
    path("duplicates/", views.duplicate_list, name="duplicate_list"),
    path("duplicates/scan", views.duplicate_scan, name="duplicate_scan"),
    path(
        "duplicates/scans/<int:scan_id>/progress",
        views.duplicate_scan_progress,
        name="duplicate_scan_progress",
    ),
    path("duplicates/check", views.duplicate_check, name="duplicate_check"),
    path("duplicates/<int:pk>/dismiss", views.duplicate_dismiss, name="duplicate_dismiss"),
    path("duplicates/<int:pk>/merge", views.duplicate_merge, name="duplicate_merge"),
    path("contacts/merge", views.duplicate_merge_contacts, name="duplicate_merge_contacts"),
    path("accounts/merge", views.duplicate_merge_accounts, name="duplicate_merge_accounts"),
]
