"""Pages of the timeline, included under the "timeline" namespace."""

from django.urls import path

from vinculo.timeline import views

urlpatterns = [
    path("records/<str:kind>/<int:pk>/timeline", views.panel, name="panel"),
    path(
        "records/<str:kind>/<int:pk>/timeline/<str:action>",
        views.quick_action,
        name="quick_action",
    ),
    path("tasks/", views.my_tasks, name="my_tasks"),
    path("tasks/new", views.task_new, name="task_new"),
    path("tasks/<int:pk>/complete", views.task_complete, name="task_complete"),
    path("tasks/<int:pk>/reopen", views.task_reopen, name="task_reopen"),
]
