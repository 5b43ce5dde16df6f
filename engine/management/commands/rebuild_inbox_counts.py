from django.core.management.base import BaseCommand

from engine.services.inbox_counts import inbox_counts_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the inbox counters (GET /api/v1/tasks/counts/) from the open task rows: a repair, safe "
        "while the engine runs (writers wait for it, then apply their change to the recomputed counters)."
    )

    def handle(self, *args, **options):
        counted = inbox_counts_rebuild()
        self.stdout.write(f"Counted {counted} open task(s).")
