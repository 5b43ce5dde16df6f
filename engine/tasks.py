"""Celery tasks: thin, idempotent, ids in and one service call each."""

from celery import shared_task

from engine.services import timer_fire, timers_claim_due


@shared_task(name="engine.tasks.sweep_due_timers", ignore_result=True)
def sweep_due_timers():
    """Run by beat: hand every due timer to a worker. Claimed timers are not handed out twice."""
    for timer_id in timers_claim_due():
        fire_timer.delay(timer_id)


@shared_task(name="engine.tasks.fire_timer", ignore_result=True, acks_late=True)
def fire_timer(timer_id):
    """Fire one timer; does nothing when it already fired or was cancelled."""
    timer_fire(timer_id=timer_id)
