from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "vinculo.marketing"
    label = "marketing"
    default_auto_field = "django.db.models.BigAutoField"
