from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ContactsConfig(AppConfig):
    name = "vinculo.contacts"
    label = "contacts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Schema upkeep, not domain logic: a later migration that rebuilds a contacts table on
        # SQLite drops the search triggers with it (see contacts.search.sqlite_fts_ensure).
        post_migrate.connect(_ensure_search_triggers, sender=self)


def _ensure_search_triggers(sender: AppConfig, using: str = "default", **kwargs: object) -> None:
    from django.db import connections

    from vinculo.contacts.search import sqlite_fts_ensure

    sqlite_fts_ensure(connections[using])
