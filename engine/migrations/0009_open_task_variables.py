"""The open tasks' process variables for the inbox's ``var=`` filter (``engine.task_variables``).

Creates ``OpenTaskVariable`` and fills it for the tasks open now, a batch of task ids at a time (each
batch reads its tasks with their instances' data and inserts their rows). The canonical form is
imported from ``engine.task_variables``: it is a pure function of a JSON value, and the rows must be
the ones the projection writes from now on.
"""

import django.db.models.deletion
from django.db import migrations, models

from engine.inbox_selectors import POSTGRES_TASK_VARIABLE_SETTINGS
from engine.task_variables import carried_variables

BATCH = 2000


def fill_open_task_variables(apps, schema_editor):
    HumanTask = apps.get_model("engine", "HumanTask")
    OpenTaskVariable = apps.get_model("engine", "OpenTaskVariable")
    open_tasks = HumanTask.objects.using(schema_editor.connection.alias).filter(status__in=["ready", "claimed"])
    last = 0
    while True:
        batch = list(
            open_tasks.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "created_at", "due_at", "priority", "instance__data")[:BATCH]
        )
        if not batch:
            return
        OpenTaskVariable.objects.using(schema_editor.connection.alias).bulk_create(
            OpenTaskVariable(
                task_id=task_id, name=name, value=value, created_at=created_at, due_at=due_at, priority=priority
            )
            for task_id, created_at, due_at, priority, data in batch
            for name, value in carried_variables(data).items()
        )
        last = batch[-1][0]


def postgres_settings(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_TASK_VARIABLE_SETTINGS:
            schema_editor.execute(statement)
        schema_editor.execute("ANALYZE engine_opentaskvariable")


class Migration(migrations.Migration):
    dependencies = [
        ("engine", "0008_inbox_counts"),
    ]

    operations = [
        migrations.CreateModel(
            name="OpenTaskVariable",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=64)),
                ("value", models.CharField(help_text="Canonical JSON text (engine.task_variables).", max_length=100)),
                ("created_at", models.DateTimeField()),
                ("due_at", models.DateTimeField(blank=True, null=True)),
                ("priority", models.PositiveSmallIntegerField()),
                (
                    "task",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="open_variables",
                        to="engine.humantask",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["name", "value", "created_at", "task"], name="open_task_variable_created"),
                    models.Index(fields=["name", "value", "due_at", "task"], name="open_task_variable_due"),
                    models.Index(fields=["name", "value", "priority", "task"], name="open_task_variable_priority"),
                ],
                "constraints": [models.UniqueConstraint(
                        fields=("task", "name"), include=("value",), name="open_task_variable_unique"
                    )],
            },
        ),
        migrations.RunPython(fill_open_task_variables, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(postgres_settings, migrations.RunPython.noop),
    ]
