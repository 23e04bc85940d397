"""Pages of automation, under the "automation" namespace."""

from __future__ import annotations

from django.urls import path

from vinculo.automation import views

urlpatterns = [
    path("automation/", views.rule_list, name="rule_list"),
    path("automation/rules/new", views.rule_new, name="rule_new"),
    path("automation/rules/reorder", views.rule_reorder, name="rule_reorder"),
    path("automation/rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("automation/rules/<int:pk>/toggle", views.rule_toggle, name="rule_toggle"),
    path("automation/rules/<int:pk>/move", views.rule_move, name="rule_move"),
    path("automation/rules/<int:pk>/delete", views.rule_delete, name="rule_delete"),
    path("automation/rules/<int:pk>/restore", views.rule_restore, name="rule_restore"),
    path("automation/rules/<int:pk>/runs", views.rule_runs, name="rule_runs"),
]
