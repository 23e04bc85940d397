"""Pages of marketing, under the "marketing" namespace: the web form builder at /forms/ and
the public forms at /f/<public_key>."""

from __future__ import annotations

from django.urls import path

from vinculo.marketing import views

urlpatterns = [
    path("forms/", views.webform_list, name="webform_list"),
    path("forms/new", views.webform_new, name="webform_new"),
    path("forms/preview", views.webform_preview, name="webform_preview"),
    path("forms/<int:pk>/", views.webform_edit, name="webform_edit"),
    path("forms/<int:pk>/share", views.webform_share, name="webform_share"),
    path("forms/<int:pk>/submissions", views.webform_submissions, name="webform_submissions"),
    path("forms/<int:pk>/active", views.webform_toggle, name="webform_toggle"),
    path("forms/<int:pk>/delete", views.webform_delete, name="webform_delete"),
    path("f/<str:public_key>", views.webform_public, name="webform_public"),
    path("f/<str:public_key>/thanks", views.webform_thanks, name="webform_thanks"),
]
