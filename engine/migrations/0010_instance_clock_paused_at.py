"""``ProcessInstance.clock_paused_at``: whether the service-level clock stands still, on the instance.

``sync_clock`` read the instance's open ``ClockPause`` after every step to learn whether the clock was
paused; the instance now says so, and the pause row is read only to close it. The field is filled
from the pauses open now.
"""

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery


def fill_clock_paused_at(apps, schema_editor):
    ProcessInstance = apps.get_model("engine", "ProcessInstance")
    ClockPause = apps.get_model("engine", "ClockPause")
    open_pauses = ClockPause.objects.filter(instance_id=OuterRef("pk"), ended_at__isnull=True)
    ProcessInstance.objects.filter(Exists(open_pauses)).update(
        clock_paused_at=Subquery(open_pauses.order_by("started_at", "id").values("started_at")[:1])
    )


class Migration(migrations.Migration):

    dependencies = [
        ("engine", "0009_open_task_variables"),
    ]

    operations = [
        migrations.AddField(
            model_name="processinstance",
            name="clock_paused_at",
            field=models.DateTimeField(
                blank=True, null=True,
                help_text="When the service-level clock's open pause began (its ClockPause row); "
                          "empty while the clock runs.",
            ),
        ),
        migrations.RunPython(fill_clock_paused_at, migrations.RunPython.noop),
    ]
