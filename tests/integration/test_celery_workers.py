"""Timers on real Celery worker processes with the Redis broker: swept, fired once, redeliveries harmless."""

from datetime import timedelta

import pytest
from django.utils import timezone

from engine.models import EventType, HistoryEvent, HumanTask, ProcessInstance, Timer, TimerStatus
from engine.services import instance_start
from engine.tasks import fire_timer, sweep_due_timers
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

from .conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def timer_process(analyst):
    return definition_deploy(
        content=fixture_bytes("timers/timers.bpmn"),
        filename="timers.bpmn",
        actor=analyst,
        agency=analyst.membership.agency,
    )[0]


def _due_instances(definition, actor, count):
    instances = [instance_start(definition=definition, data={"reminders": 0}, actor=actor) for _ in range(count)]
    timer_ids = sorted(
        Timer.objects.filter(instance__in=instances, status=TimerStatus.PENDING).values_list("pk", flat=True)
    )
    assert len(timer_ids) == count
    Timer.objects.filter(pk__in=timer_ids).update(due_at=timezone.now() - timedelta(minutes=1))
    return instances, timer_ids


def _all_fired(timer_ids):
    return Timer.objects.filter(pk__in=timer_ids, status=TimerStatus.FIRED).count() == len(timer_ids)


def _assert_fired_once(instances, timer_ids):
    assert _all_fired(timer_ids)
    for instance in instances:
        fired = HistoryEvent.objects.filter(instance=instance, event_type=EventType.TIMER_FIRED)
        assert list(fired.values_list("element_id", flat=True)) == ["cooling_off"], instance.pk
        assert HumanTask.objects.filter(instance=instance, element_id="review").count() == 1, instance.pk
        assert ProcessInstance.objects.get(pk=instance.pk).revision == 2, instance.pk


def test_worker_fires_a_due_timer_swept_by_beat(timer_process, applicant, celery_workers):
    """The beat task, run by a real worker, hands the due timer to fire_timer; the next user task appears."""
    celery_workers.start("solo1")
    (instance,), timer_ids = _due_instances(timer_process, applicant, 1)

    sweep_due_timers.delay()

    wait_until(lambda: _all_fired(timer_ids), timeout=30, message=f"the timer to fire\n{celery_workers.logs()}")
    wait_until(
        lambda: HumanTask.objects.filter(instance=instance, element_id="review", status="ready").exists(),
        timeout=30,
        message="the review task",
    )
    wait_until(celery_workers.queue_is_idle, timeout=30, message="the queue to drain")
    _assert_fired_once([instance], timer_ids)


def test_two_workers_with_duplicate_jobs_fire_each_timer_once(timer_process, applicant, celery_workers):
    """Two workers, two sweeps and a redelivered fire_timer job per timer: every timer fires exactly once."""
    celery_workers.start("pair1", "pair2")
    instances, timer_ids = _due_instances(timer_process, applicant, 12)

    sweep_due_timers.delay()
    sweep_due_timers.delay()
    for timer_id in timer_ids:
        fire_timer.delay(timer_id)  # as if the broker delivered each job a second time

    wait_until(lambda: _all_fired(timer_ids), timeout=30, message=f"all timers to fire\n{celery_workers.logs()}")
    wait_until(celery_workers.queue_is_idle, timeout=30, message="the queue to drain")
    _assert_fired_once(instances, timer_ids)


def test_fire_timer_sent_twice_fires_once(timer_process, applicant, celery_workers):
    """fire_timer.delay(id) sent twice for one timer (both workers take one each) fires it only once."""
    celery_workers.start("twice1", "twice2")
    instances, timer_ids = _due_instances(timer_process, applicant, 3)

    for timer_id in timer_ids:
        fire_timer.delay(timer_id)
        fire_timer.delay(timer_id)

    wait_until(lambda: _all_fired(timer_ids), timeout=30, message=f"the timers to fire\n{celery_workers.logs()}")
    wait_until(celery_workers.queue_is_idle, timeout=30, message="the queue to drain")
    _assert_fired_once(instances, timer_ids)
