"""Pages of notifications, included under the "collab" namespace."""

from django.urls import path

from vinculo.collab import views

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/count", views.unread_count, name="unread_count"),
    path("notifications/menu", views.menu, name="menu"),
    path("notifications/read-all", views.mark_all_read, name="mark_all_read"),
    path("notifications/<int:pk>/open", views.notification_open, name="open"),
]
