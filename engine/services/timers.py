"""Firing due timers exactly once, however many sweepers run.

A sweep claims due timers with ``select_for_update(skip_locked=True)`` so concurrent sweepers take
different rows, and stamps them ``claimed_at`` so they are not handed out again for a while. Each
timer is then fired in its own transaction that locks the instance first and the timer second (the
same order as every other service, so no deadlock), and re-checks that the timer is still pending.
A timer whose worker died is claimed again once ``CLAIM_TIMEOUT`` has passed.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from engine import history
from engine.models import DEADLINE_TIMER_KINDS, InstanceStatus, Timer, TimerKind, TimerStatus
from engine.spiff.timer_values import cycle_interval
from processes.models import ProcessDefinition

from .instances import instance_start
from .service_levels import deadline_fire
from .steps import locked_instance, runtime_of, save_step

CLAIM_TIMEOUT = timedelta(minutes=5)
logger = logging.getLogger(__name__)


def timers_claim_due(*, now=None, limit=None):
    """Claim up to ``limit`` due, pending timers for this sweeper; returns their ids in due order."""
    now = now or timezone.now()
    limit = limit or settings.ENGINE_TIMER_SWEEP_BATCH
    with transaction.atomic():
        due = (
            Timer.objects.select_for_update(skip_locked=True)
            .filter(status=TimerStatus.PENDING, due_at__lte=now)
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT))
            .order_by("due_at")  # the index's own order: an index scan that stops at ``limit``, no sort
            .values_list("pk", flat=True)[:limit]
        )
        ids = list(due)
        Timer.objects.filter(pk__in=ids).update(claimed_at=now)
    return ids


def timers_fire_due(*, now=None, limit=None):
    """Claim and fire due timers in this process (the embedded sweeper); returns how many fired."""
    return sum(1 for timer_id in timers_claim_due(now=now, limit=limit) if timer_fire(timer_id=timer_id))


def timers_fire(*, timer_ids):
    """Fire claimed timers one after the other, each in its own transaction; returns how many fired.

    What each timer belongs to is read for the whole batch at once. A timer that fails is logged and
    left claimed (it is claimed again after ``CLAIM_TIMEOUT``); the others still fire.
    """
    owners = {
        timer_id: (instance_id, definition_id)
        for timer_id, instance_id, definition_id in Timer.objects.filter(
            pk__in=timer_ids, status=TimerStatus.PENDING
        ).values_list("pk", "instance_id", "definition_id")
    }
    fired = 0
    for timer_id in timer_ids:
        if timer_id not in owners:
            continue
        try:
            fired += _fire(timer_id, *owners[timer_id])
        except Exception:  # noqa: BLE001 - one broken timer must not hold back the rest of the batch
            logger.exception("Timer %s could not be fired; it is retried after the claim times out.", timer_id)
    return fired


def timer_fire(*, timer_id):
    """Fire one timer if it is still pending; returns False when there was nothing to do."""
    owner = Timer.objects.filter(pk=timer_id, status=TimerStatus.PENDING).values_list("instance_id", "definition_id")
    owner = owner.first()
    if owner is None:
        return False
    return _fire(timer_id, *owner)


def _fire(timer_id, instance_id, definition_id):
    # Which instance or definition a timer belongs to never changes: it may be read before the locks.
    if instance_id is None:
        return _fire_start_timer(timer_id, definition_id)
    return _fire_instance_timer(timer_id, instance_id)


def _lock_pending(timer_id):
    # Wait for the row rather than skip it: a concurrent claim can hold the lock on a row it did not
    # claim (PostgreSQL keeps the lock on rows its re-check rejects), only until it commits. Skipping
    # would leave the timer claimed but unfired until CLAIM_TIMEOUT. Firing twice is prevented by
    # the status re-check on the locked row.
    return Timer.objects.select_for_update().filter(pk=timer_id, status=TimerStatus.PENDING).first()


def _mark_fired(timer):
    timer.status = TimerStatus.FIRED
    timer.fired_at = timezone.now()
    timer.save(update_fields=["status", "fired_at"])
    history.record_timer_fired(timer)


def _fire_instance_timer(timer_id, instance_id):
    with transaction.atomic(), history.written_together():
        instance = locked_instance(instance_id)
        timer = _lock_pending(timer_id)
        if timer is None:
            return False
        timer.instance = instance
        if timer.definition_id == instance.definition_id:
            timer.definition = instance.definition  # fetched with the instance: the history needs no query
        if instance.status != InstanceStatus.RUNNING:
            timer.status = TimerStatus.CANCELLED
            timer.save(update_fields=["status"])
            history.record_timer_cancelled(timer, reason=f"The instance is {instance.status}.")
            return False
        _mark_fired(timer)
        if timer.kind in DEADLINE_TIMER_KINDS:
            deadline_fire(timer)
            return True
        runtime = runtime_of(instance)
        result = runtime.fire_timer(timer.spiff_task_id)
        if result is None:
            return True
        save_step(instance, runtime, result, actor=None, closed_task_ids=[])
    return True


def _fire_start_timer(timer_id, definition_id):
    with transaction.atomic(), history.written_together():
        # The same lock a deploy of the next version takes (processes.services._create_version): either
        # the deploy comes first and cancels this timer, or it waits and also cancels the next occurrence.
        ProcessDefinition.objects.select_for_update(no_key=True).filter(pk=definition_id).first()
        timer = _lock_pending(timer_id)
        if timer is None:
            return False
        _mark_fired(timer)
        _schedule_next_occurrence(timer)
        instance_start(
            definition=timer.definition, data={}, actor=None, timer_start_element_id=timer.element_id
        )
    return True


def _schedule_next_occurrence(timer):
    if timer.kind != TimerKind.START or timer.timer_type != "cycle" or timer.remaining_cycles == 0:
        return
    next_timer = Timer.objects.create(
        definition=timer.definition,
        element_id=timer.element_id,
        kind=timer.kind,
        timer_type=timer.timer_type,
        expression=timer.expression,
        due_at=timer.due_at + cycle_interval(timer.expression),
        remaining_cycles=timer.remaining_cycles - 1 if timer.remaining_cycles > 0 else -1,
    )
    history.record_timer_scheduled(next_timer)
