from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "vinculo.marketing"
    label = "marketing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Subscribers (subscribers.py) are discovered by core.events; periodic jobs here.
        import vinculo.marketing.wiring  # noqa: F401
