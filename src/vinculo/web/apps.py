from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "vinculo.web"
    label = "web"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from vinculo.web import search_providers

        search_providers.register()
