"""Pages of sales scoring, included into the "sales" namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from vinculo.sales.scoring import views

urlpatterns: list[URLPattern] = [
    path("leads/scoring/", views.scoring_rules, name="scoring_rules"),
    path("leads/scoring/new", views.scoring_rule_new, name="scoring_rule_new"),
    path("leads/scoring/<int:pk>/edit", views.scoring_rule_edit, name="scoring_rule_edit"),
    path("leads/scoring/<int:pk>/delete", views.scoring_rule_delete, name="scoring_rule_delete"),
    path("leads/scoring/settings", views.scoring_settings, name="scoring_settings"),
    path("leads/scoring/recompute", views.scoring_recompute, name="scoring_recompute"),
    path("leads/scoring/progress", views.scoring_progress, name="scoring_progress"),
    path("leads/scoring/train", views.scoring_train, name="scoring_train"),
    path("leads/<int:pk>/score", views.lead_score, name="lead_score"),
]
