from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "vinculo.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Subscribers register themselves when their module is imported.
        from importlib import import_module

        from django.conf import settings
        from django.utils.module_loading import autodiscover_modules

        from vinculo.core import checks  # noqa: F401  (registers system checks)

        autodiscover_modules("subscribers")
        autodiscover_modules("periodic")
        for module in settings.VINCULO_EXTRA_SUBSCRIBER_MODULES:
            import_module(module)
