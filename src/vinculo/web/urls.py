from django.urls import path

from vinculo.web import views

urlpatterns = [
    path("", views.home, name="home"),
]
