"""PostgreSQL only: a GIN index on instance data for the inbox's ``var=name:value`` filter."""

from django.db import migrations

from engine.inbox_selectors import POSTGRES_INSTANCE_DATA_INDEX


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_INSTANCE_DATA_INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS instance_data_gin")


class Migration(migrations.Migration):
    dependencies = [("engine", "0002_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
