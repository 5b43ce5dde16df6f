"""``manage.py sweep_timers``: fire every due timer once, now (useful after downtime, or from cron)."""

from django.core.management.base import BaseCommand

from engine.services import timer_fire, timers_claim_due


class Command(BaseCommand):
    help = "Fire all timers that are due now, exactly once each, in due order."

    def handle(self, *args, **options):
        fired = 0
        while timer_ids := timers_claim_due():
            fired += sum(1 for timer_id in timer_ids if timer_fire(timer_id=timer_id))
        self.stdout.write(f"Fired {fired} timer(s).")
