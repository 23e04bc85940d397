from django.urls import path

from vinculo.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("preferences", views.preferences, name="preferences"),
    path("workspace/switch", views.switch_workspace, name="switch_workspace"),
]
