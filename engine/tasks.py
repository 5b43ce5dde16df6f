"""Celery tasks: thin, idempotent, ids in and one service call each."""

from celery import shared_task
from django.conf import settings

from engine.services import timer_fire, timers_claim_due, timers_fire
from engine.services.inbox_counts import inbox_counts_compact


@shared_task(name="engine.tasks.sweep_due_timers", ignore_result=True)
def sweep_due_timers():
    """Run by beat: claim a batch of due timers and fire them here, each in its own transaction.

    A full batch means more may be due, so the next sweep is queued before this one fires: another
    worker claims the next batch meanwhile. Workers claim only what they are about to fire, so the
    queue never holds claimed timers that wait there past ``CLAIM_TIMEOUT`` and get handed out twice.
    """
    batch = settings.ENGINE_TIMER_TASK_BATCH
    timer_ids = timers_claim_due(limit=batch)
    if len(timer_ids) == batch:
        sweep_due_timers.delay()
    timers_fire(timer_ids=timer_ids)


@shared_task(name="engine.tasks.fire_timer", ignore_result=True, acks_late=True)
def fire_timer(timer_id):
    """Fire one timer; does nothing when it already fired or was cancelled."""
    timer_fire(timer_id=timer_id)


@shared_task(name="engine.tasks.compact_inbox_counts", ignore_result=True)
def compact_inbox_counts():
    """Run by beat: fold the inbox counters' delta rows (safe to run twice at once)."""
    inbox_counts_compact()
