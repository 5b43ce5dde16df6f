"""The Celery sweep run in-process: it claims a batch, fires it, and queues the next sweep only when more may be due."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine

from engine.models import EventType, HistoryEvent, Timer, TimerStatus
from engine.services import instance_start, timers_fire
from engine.services import timers as timer_services
from engine.tasks import sweep_due_timers
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def due_timer_ids(analyst, applicant, clock):
    """Three instances whose PT1H cooling-off timers are due."""
    definition = definition_deploy(
        content=fixture_bytes("timers/timers.bpmn"), filename="t.bpmn", actor=analyst, agency=analyst.membership.agency
    )[0]
    instances = [instance_start(definition=definition, data={"reminders": 0}, actor=applicant) for _ in range(3)]
    clock.shift(timedelta(hours=1, seconds=1))
    return sorted(Timer.objects.filter(instance__in=instances).values_list("pk", flat=True))


def _fired(timer_ids):
    return Timer.objects.filter(pk__in=timer_ids, status=TimerStatus.FIRED).count()


def test_a_full_batch_queues_the_next_sweep_and_a_partial_one_does_not(due_timer_ids, settings):
    """With a batch of two, the first sweep fires two timers and queues one more sweep; that one fires the last."""
    settings.ENGINE_TIMER_TASK_BATCH = 2
    with mock.patch.object(sweep_due_timers, "delay") as queued:
        sweep_due_timers()
    assert queued.call_count == 1
    assert _fired(due_timer_ids) == 2

    with mock.patch.object(sweep_due_timers, "delay") as queued:
        sweep_due_timers()
    assert queued.call_count == 0
    assert _fired(due_timer_ids) == 3
    assert HistoryEvent.objects.filter(event_type=EventType.TIMER_FIRED).count() == 3


def test_a_timer_that_fails_does_not_hold_back_the_rest_of_its_batch(due_timer_ids):
    """The batch's first timer raises: it stays pending (for a later sweep) and the other two still fire."""
    broken, *others = due_timer_ids
    fire = timer_services._fire

    def fire_unless_broken(timer_id, *owner):
        if timer_id == broken:
            raise RuntimeError("database went away")
        return fire(timer_id, *owner)

    with mock.patch.object(timer_services, "_fire", side_effect=fire_unless_broken):
        assert timers_fire(timer_ids=due_timer_ids) == 2
    assert _fired(others) == 2
    assert Timer.objects.get(pk=broken).status == TimerStatus.PENDING
    assert timers_fire(timer_ids=due_timer_ids) == 1  # only the broken one is still pending
    assert _fired(due_timer_ids) == 3
