"""Pages of contacts and accounts, included under the "contacts" namespace at the site root."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path

from vinculo.contacts import views
from vinculo.contacts.dedupe import urls as dedupe_urls
from vinculo.contacts.exports import urls as exports_urls
from vinculo.contacts.imports import urls as imports_urls
from vinculo.contacts.privacy import urls as privacy_urls
from vinculo.contacts.views import ACCOUNTS, CONTACTS, RecordPages


def _pages(prefix: str, name_prefix: str, pages: RecordPages) -> list[URLPattern]:
    """The same pages for contacts and accounts; `pages` tells the views which."""
    kw: dict[str, Any] = {"pages": pages}
    return [
        path(f"{prefix}/new", views.record_new, kw, name=f"{name_prefix}new"),
        path(f"{prefix}/export.csv", views.export, kw, name=f"{name_prefix}export"),
        path(f"{prefix}/bulk", views.bulk, kw, name=f"{name_prefix}bulk"),
        path(f"{prefix}/bulk/restore", views.bulk_restore, kw, name=f"{name_prefix}bulk_restore"),
        path(f"{prefix}/columns", views.list_columns, kw, name=f"{name_prefix}columns"),
        path(f"{prefix}/views", views.view_save, kw, name=f"{name_prefix}view_save"),
        path(
            f"{prefix}/views/<int:view_id>/update",
            views.view_update,
            kw,
            name=f"{name_prefix}view_update",
        ),
        path(
            f"{prefix}/views/<int:view_id>/delete",
            views.view_delete,
            kw,
            name=f"{name_prefix}view_delete",
        ),
        path(f"{prefix}/<int:pk>/", views.record_detail, kw, name=f"{name_prefix}detail"),
        path(f"{prefix}/<int:pk>/edit", views.record_edit, kw, name=f"{name_prefix}edit"),
        path(
            f"{prefix}/<int:pk>/fields/<str:name>",
            views.record_field,
            kw,
            name=f"{name_prefix}field",
        ),
        path(f"{prefix}/<int:pk>/tags", views.record_tags, kw, name=f"{name_prefix}tags"),
        path(f"{prefix}/<int:pk>/delete", views.record_delete, kw, name=f"{name_prefix}delete"),
        path(f"{prefix}/<int:pk>/restore", views.record_restore, kw, name=f"{name_prefix}restore"),
    ]


urlpatterns = [
    *imports_urls.urlpatterns,
    *exports_urls.urlpatterns,
    *dedupe_urls.urlpatterns,
    *privacy_urls.urlpatterns,
    path("contacts/", views.record_list, {"pages": CONTACTS}, name="list"),
    *_pages("contacts", "", CONTACTS),
    path("accounts/", views.record_list, {"pages": ACCOUNTS}, name="accounts"),
    path("accounts/suggest", views.account_suggest, name="account_suggest"),
    path("accounts/<int:pk>/contacts", views.account_contacts, name="account_contacts"),
    *_pages("accounts", "account_", ACCOUNTS),
]
