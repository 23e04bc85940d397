"""URLs of the settings area, mounted at /settings/ under the `settings` namespace."""

from django.urls import path

from vinculo.core import views

urlpatterns = [
    path("", views.settings_index, name="index"),
    path("workspace/", views.workspace, name="workspace"),
    path("users/", views.users, name="users"),
    path("users/invite/", views.invitation_new, name="invitation_new"),
    path("users/<int:membership_id>/role/", views.member_role, name="member_role"),
    path(
        "users/<int:membership_id>/deactivate/",
        views.member_deactivate,
        name="member_deactivate",
    ),
    path(
        "users/<int:membership_id>/reactivate/",
        views.member_reactivate,
        name="member_reactivate",
    ),
    path(
        "invitations/<int:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("teams/", views.teams, name="teams"),
    path("teams/new/", views.team_edit, name="team_new"),
    path("teams/<int:team_id>/edit/", views.team_edit, name="team_edit"),
    path("teams/<int:team_id>/delete/", views.team_delete, name="team_delete"),
    path("custom-fields/", views.custom_fields, name="custom_fields"),
    path("custom-fields/new/", views.custom_field_new, name="custom_field_new"),
    path("custom-fields/<int:field_id>/edit/", views.custom_field_edit, name="custom_field_edit"),
    path(
        "custom-fields/<int:field_id>/delete/",
        views.custom_field_delete,
        name="custom_field_delete",
    ),
    path(
        "custom-fields/<int:field_id>/restore/",
        views.custom_field_restore,
        name="custom_field_restore",
    ),
    path("tags/", views.tags, name="tags"),
    path("tags/new/", views.tag_edit, name="tag_new"),
    path("tags/<int:tag_id>/edit/", views.tag_edit, name="tag_edit"),
    path("tags/<int:tag_id>/delete/", views.tag_delete, name="tag_delete"),
    path("tags/<int:tag_id>/restore/", views.tag_restore, name="tag_restore"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/new/", views.api_key_new, name="api_key_new"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
