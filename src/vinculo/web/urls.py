from django.urls import include, path

from vinculo.web import views

# Pages added after the shell's first release live in the "web" namespace; the older names stay
# global because templates everywhere already use them.
web_patterns = (
    [
        path("search", views.search, name="search"),
        path("search/suggest", views.search_suggest, name="search_suggest"),
    ],
    "web",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("preferences", views.preferences, name="preferences"),
    path("workspace/switch", views.switch_workspace, name="switch_workspace"),
    path("", include(web_patterns)),
]
