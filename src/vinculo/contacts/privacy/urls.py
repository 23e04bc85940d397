"""Pages of privacy, included into the "contacts" namespace: the privacy panel of a contact's
page and the actions it offers."""

from __future__ import annotations

from django.urls import URLPattern, path

from vinculo.contacts.privacy import views

urlpatterns: list[URLPattern] = [
    path("contacts/<int:pk>/privacy/", views.privacy_panel, name="privacy_panel"),
    path("contacts/<int:pk>/privacy/consent", views.privacy_consent, name="privacy_consent"),
    path("contacts/<int:pk>/privacy/export.zip", views.privacy_export, name="privacy_export"),
    path("contacts/<int:pk>/privacy/erase", views.privacy_erase, name="privacy_erase"),
]
