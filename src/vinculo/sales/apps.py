from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "vinculo.sales"
    label = "sales"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each area of sales registers its subscribers, periodic jobs and its place in the
        # registries of other modules (automation, imports, merge, privacy, search) itself.
        import vinculo.sales.deals.wiring
        import vinculo.sales.forecasts.wiring
        import vinculo.sales.leads.wiring
        import vinculo.sales.quotes.wiring
        import vinculo.sales.scoring.wiring  # noqa: F401
        from vinculo.contacts.demo import register_demo_extension
        from vinculo.sales.demo import sales_demo_load

        register_demo_extension("sales", sales_demo_load)
