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
        # Periodic jobs are discovered in each app's own periodic.py only; the areas that keep
        # theirs beside the rest of their code are imported here: duplicate scans whose worker
        # died (importing it also fills the merge registry with the relations of the apps that
        # exist today), exports (expired files deleted, exports whose worker died written
        # again) and imports whose worker died (resumed from their cursor).
        import vinculo.contacts.dedupe.periodic
        import vinculo.contacts.exports.periodic
        import vinculo.contacts.imports.periodic  # noqa: F401


def _ensure_search_triggers(sender: AppConfig, using: str = "default", **kwargs: object) -> None:
    from django.db import connections

    from vinculo.contacts.search import sqlite_fts_ensure

    sqlite_fts_ensure(connections[using])
