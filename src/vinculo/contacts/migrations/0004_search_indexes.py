"""Search indexes behind `q` (see contacts/search.py), and the JSON index behind `cf.<key>`
filters on PostgreSQL. Written per database vendor, so the SQL lives here rather than in the
models' Meta."""

# SQL built only from the table and index names below.
# ruff: noqa: S608

from django.db import migrations

TABLES = {"contacts_contact": "contacts_contact_fts", "contacts_account": "contacts_account_fts"}


def _sqlite_forwards(schema_editor):
    for table, fts in TABLES.items():
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(search_document, content='{table}', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
        )
        schema_editor.execute(
            f"""CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN
                INSERT INTO {fts}(rowid, search_document) VALUES (new.id, new.search_document);
            END"""
        )
        schema_editor.execute(
            f"""CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN
                INSERT INTO {fts}({fts}, rowid, search_document)
                VALUES ('delete', old.id, old.search_document);
            END"""
        )
        schema_editor.execute(
            f"""CREATE TRIGGER {fts}_au AFTER UPDATE OF search_document ON {table}
            WHEN old.search_document IS NOT new.search_document BEGIN
                INSERT INTO {fts}({fts}, rowid, search_document)
                VALUES ('delete', old.id, old.search_document);
                INSERT INTO {fts}(rowid, search_document) VALUES (new.id, new.search_document);
            END"""
        )
        schema_editor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _sqlite_backwards(schema_editor):
    for fts in TABLES.values():
        for suffix in ("ai", "ad", "au"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {fts}")


PG_INDEXES = {
    "contact_search_trgm": "contacts_contact USING gin (search_document gin_trgm_ops)",
    "account_search_trgm": "contacts_account USING gin (search_document gin_trgm_ops)",
    "contact_custom_fields": "contacts_contact USING gin (custom_fields jsonb_path_ops)",
    "account_custom_fields": "contacts_account USING gin (custom_fields jsonb_path_ops)",
}


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _sqlite_forwards(schema_editor)
    elif vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, target in PG_INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _sqlite_backwards(schema_editor)
    elif vendor == "postgresql":
        for name in PG_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0003_list_filter_indexes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
