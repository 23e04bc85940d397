"""Fewer index writes per new contact: the single-column indexes of the workspace, owner and
author foreign keys go (the composite indexes leading with the workspace serve every read),
and the trash index becomes partial (only contacts in the trash).

The foreign keys change only in Django's state plus a DROP INDEX: altering them through the
schema editor would make SQLite copy the whole table three times (minutes at a million
contacts, and the full-text triggers dropped with the old table)."""

# SQL built only from the table and column names below and names read from the database.
# ruff: noqa: S608

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "contacts_contact"
UNINDEXED = ("workspace_id", "owner_id", "created_by_id")


def _single_column_indexes(schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return [
        (name, info["columns"][0])
        for name, info in constraints.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and len(info["columns"]) == 1
        and info["columns"][0] in UNINDEXED
    ]


def drop_foreign_key_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for name, _column in _single_column_indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX {quote(name)}")


def create_foreign_key_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    present = {column for _name, column in _single_column_indexes(schema_editor)}
    for column in UNINDEXED:
        if column not in present:
            name = schema_editor._create_index_name(TABLE, [column])
            schema_editor.execute(f"CREATE INDEX {quote(name)} ON {quote(TABLE)} ({quote(column)})")


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0006_consent_lead"),
        ("core", "0004_ratecounter"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="contact",
                    name="created_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="workspace",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="core.workspace",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(
                    drop_foreign_key_indexes, create_foreign_key_indexes, elidable=False
                ),
            ],
        ),
        migrations.RemoveIndex(model_name="contact", name="contact_deleted"),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", False)),
                fields=["workspace", "deleted_at"],
                name="contact_deleted",
            ),
        ),
    ]
