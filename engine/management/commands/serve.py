"""``manage.py serve``: the embedded mode's server (API plus the in-process timer sweeper)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from engine.sweeper import TimerSweeper


class Command(BaseCommand):
    help = "Serve the API on 127.0.0.1:8000 with timers swept in-process (no broker needed)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, **options):
        sweeper = TimerSweeper()
        sweeper.start()
        self.stdout.write(f"Timer sweeper running every {sweeper.interval:g}s in this process.")
        try:
            call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            sweeper.stop()
