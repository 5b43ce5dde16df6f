"""Drop task indexes that only repeated the leading column of another one.

- ``humantask_due`` (every task's due date): open tasks are read through ``humantask_open_due``, and
  nothing asks closed tasks by their due date.
- The agency and assignee foreign keys' own indexes: ``humantask_agency_status`` and
  ``humantask_assignee_status`` start with the same column.
- The offers' task foreign key indexes: their unique (task, group) and (task, user) pairs start with it.

The foreign keys only change in the migration state (``db_index=False``); in the database the indexes
are dropped by name (Django's names for them, the same on PostgreSQL and SQLite) and the constraints stay
as they are, so no table is rewritten or re-validated.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (table, column, the index Django made for the foreign key)
FOREIGN_KEY_INDEXES = [
    ("engine_humantask", "agency_id", "engine_humantask_agency_id_92360c15"),
    ("engine_humantask", "assignee_id", "engine_humantask_assignee_id_c24e16dd"),
    ("engine_humantask_candidate_groups", "humantask_id", "engine_humantask_candidate_groups_humantask_id_375c0ed3"),
    ("engine_humantask_candidate_users", "humantask_id", "engine_humantask_candidate_users_humantask_id_7483b06d"),
]


def _without_index(model_name, name, field):
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
    )


class Migration(migrations.Migration):

    dependencies = [
        ("engine", "0006_indexes_analytics"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="humantask", name="humantask_due"),
        _without_index("humantask", "agency", models.ForeignKey(
            db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="human_tasks",
            to="engine.agency")),
        _without_index("humantask", "assignee", models.ForeignKey(
            blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL,
            related_name="assigned_tasks", to=settings.AUTH_USER_MODEL)),
        _without_index("humantaskcandidategroup", "humantask", models.ForeignKey(
            db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="engine.humantask")),
        _without_index("humantaskcandidateuser", "humantask", models.ForeignKey(
            db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="engine.humantask")),
        *[
            migrations.RunSQL(
                sql=f'DROP INDEX IF EXISTS "{index}"',
                reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("{column}")',
            )
            for table, column, index in FOREIGN_KEY_INDEXES
        ],
    ]
