from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "vinculo.automation"
    label = "automation"
    default_auto_field = "django.db.models.BigAutoField"
