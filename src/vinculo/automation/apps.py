from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "vinculo.automation"
    label = "automation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Subscribers (subscribers.py) are discovered by core.events; periodic jobs here.
        import vinculo.automation.wiring  # noqa: F401
