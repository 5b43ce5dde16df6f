"""Timers on the database with controlled time: projection, sweeping, exactly-once firing."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.models import EventType, HistoryEvent, HumanTask, ProcessInstance, Timer, TimerStatus
from engine.services import human_task_complete, instance_start, timer_fire, timers_claim_due, timers_fire_due
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def timer_process(analyst, clock):
    return definition_deploy(
        content=fixture_bytes("timers/timers.bpmn"), filename="t.bpmn", actor=analyst, agency=analyst.membership.agency
    )[0]


def _pending(instance):
    return {timer.element_id: timer for timer in Timer.objects.filter(instance=instance, status="pending")}


def test_intermediate_timer_waits_then_fires_once(timer_process, applicant, clock):
    """The quoted PT1H wait is projected with its due date, does not fire early, and fires once when due."""
    instance = instance_start(definition=timer_process, data={"reminders": 0}, actor=applicant)
    (cooling_off,) = _pending(instance).values()
    assert cooling_off.due_at == START + timedelta(hours=1)
    assert timers_fire_due() == 0
    clock.shift(timedelta(hours=1, seconds=1))
    assert timers_fire_due() == 1
    assert timers_fire_due() == 0
    cooling_off.refresh_from_db()
    assert cooling_off.status == TimerStatus.FIRED
    assert HumanTask.objects.filter(instance=instance, element_id="review", status="ready").exists()
    fired = HistoryEvent.objects.get(instance=instance, event_type=EventType.TIMER_FIRED)
    assert fired.details["lateness_seconds"] == pytest.approx(1.0)


def test_interrupting_boundary_timer_cancels_the_task(timer_process, applicant, clock):
    """When the P5D deadline passes, the review is cancelled and the escalated review opens."""
    instance = instance_start(definition=timer_process, data={"reminders": 0}, actor=applicant)
    clock.shift(timedelta(hours=2))
    timers_fire_due()
    assert set(_pending(instance)) == {"review_deadline", "review_reminder"}
    clock.shift(timedelta(days=6))
    timers_fire_due()
    statuses = dict(HumanTask.objects.filter(instance=instance).values_list("element_id", "status"))
    assert statuses == {"review": "cancelled", "late_review": "ready"}
    assert _pending(instance) == {}


def test_cycle_reminder_fires_its_two_occurrences_and_stops(timer_process, applicant, clock):
    """R2/P1D on a non-interrupting boundary fires twice, a day apart, while the task stays open."""
    instance = instance_start(definition=timer_process, data={"reminders": 0}, actor=applicant)
    clock.shift(timedelta(hours=2))
    timers_fire_due()
    reminder = _pending(instance)["review_reminder"]
    assert reminder.due_at == START + timedelta(hours=2, days=1)
    for _day in range(3):
        clock.shift(timedelta(days=1))
        timers_fire_due()
        if _pending(instance).get("review_deadline") is None:
            break
    runs = HistoryEvent.objects.filter(
        instance=instance, event_type=EventType.ACTIVITY_COMPLETED, element_id="count_reminder"
    )
    assert runs.count() == 2
    assert Timer.objects.filter(instance=instance, element_id="review_reminder", status="fired").count() == 2


def test_completing_the_task_cancels_its_boundary_timers(timer_process, officer, applicant, clock):
    """Finishing the review in time cancels both boundary timers; nothing fires later."""
    instance = instance_start(definition=timer_process, data={"reminders": 0}, actor=applicant)
    clock.shift(timedelta(hours=2))
    timers_fire_due()
    review = HumanTask.objects.get(instance=instance, element_id="review")
    human_task_complete(task_id=review.pk, actor=officer, data={})
    assert _pending(instance) == {}
    clock.shift(timedelta(days=30))
    assert timers_fire_due() == 0


def test_a_timer_is_fired_once_even_when_handed_out_twice(timer_process, applicant, clock):
    """Firing the same due timer twice (two sweepers, a redelivered job) fires it only the first time."""
    instance = instance_start(definition=timer_process, data={"reminders": 0}, actor=applicant)
    clock.shift(timedelta(hours=2))
    (timer_id,) = timers_claim_due()
    assert timer_fire(timer_id=timer_id) is True
    assert timer_fire(timer_id=timer_id) is False
    assert HistoryEvent.objects.filter(instance=instance, event_type=EventType.TIMER_FIRED).count() == 1
    assert HumanTask.objects.filter(instance=instance, element_id="review").count() == 1


def test_claimed_timers_are_not_handed_out_again_until_the_claim_expires(timer_process, applicant, clock):
    """A claimed timer is skipped by the next sweep, and taken again if its worker never fired it."""
    instance_start(definition=timer_process, data={"reminders": 0}, actor=applicant)
    clock.shift(timedelta(hours=2))
    assert len(timers_claim_due()) == 1
    assert timers_claim_due() == []
    clock.shift(timedelta(minutes=6))
    assert len(timers_claim_due()) == 1


def test_timers_due_during_downtime_fire_in_due_order(timer_process, applicant, clock):
    """After a long stop, every overdue timer fires on the next sweep, earliest first."""
    first = instance_start(definition=timer_process, data={"reminders": 0}, actor=applicant)
    clock.shift(timedelta(minutes=10))
    second = instance_start(definition=timer_process, data={"reminders": 0}, actor=applicant)
    clock.shift(timedelta(days=1))
    assert timers_fire_due() == 2
    fired = list(HistoryEvent.objects.filter(event_type=EventType.TIMER_FIRED).values_list("instance_id", flat=True))
    assert fired == [first.pk, second.pk]


def test_timer_start_event_starts_instances_per_cycle(analyst, clock):
    """A R3/PT1H timer start event starts one instance per occurrence, three in all, and no more."""
    definition, _ = definition_deploy(
        content=fixture_bytes("start_timer/start_timer.bpmn"),
        filename="s.bpmn",
        actor=analyst,
        agency=analyst.membership.agency,
    )
    (timer,) = Timer.objects.filter(definition=definition, status="pending")
    assert timer.kind == "start" and timer.due_at == START + timedelta(hours=1)
    for _hour in range(5):
        clock.shift(timedelta(hours=1, seconds=1))
        timers_fire_due()
    instances = ProcessInstance.objects.filter(definition=definition)
    assert instances.count() == 3
    assert HumanTask.objects.filter(instance__in=instances, element_id="write_report").count() == 3
    assert not Timer.objects.filter(definition=definition, status="pending").exists()


def test_new_version_replaces_the_start_timer_of_the_old(analyst, clock):
    """Deploying a new version cancels the old version's pending start timer."""
    content = fixture_bytes("start_timer/start_timer.bpmn")
    old, _ = definition_deploy(content=content, filename="s.bpmn", actor=analyst, agency=analyst.membership.agency)
    new, _ = definition_deploy(
        content=content.replace(b"Write report", b"Write the report"),
        filename="s.bpmn",
        actor=analyst,
        agency=analyst.membership.agency,
    )
    assert new.version == old.version + 1
    assert Timer.objects.get(definition=old).status == TimerStatus.CANCELLED
    assert Timer.objects.get(definition=new).status == TimerStatus.PENDING


def test_date_timers_start_an_instance_and_hold_it_until_their_moment(analyst, clock):
    """A timeDate start event starts one instance at its date; a quoted timeDate catch event waits until its time."""
    definition, _ = definition_deploy(
        content=fixture_bytes("timers/date_timers.bpmn"),
        filename="d.bpmn",
        actor=analyst,
        agency=analyst.membership.agency,
    )
    (start_timer,) = Timer.objects.filter(definition=definition, status="pending")
    assert start_timer.due_at == datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
    clock.move_to(datetime(2026, 3, 4, 1, 0, 5, tzinfo=UTC))
    assert timers_fire_due() == 1
    (instance,) = ProcessInstance.objects.filter(definition=definition)
    (noon,) = _pending(instance).values()
    assert noon.due_at == datetime(2026, 3, 4, 5, 0, tzinfo=UTC)
    clock.move_to(datetime(2026, 3, 4, 5, 0, 1, tzinfo=UTC))
    assert timers_fire_due() == 1
    assert HumanTask.objects.filter(instance=instance, element_id="open_counter", status="ready").exists()
    clock.shift(timedelta(days=30))
    assert timers_fire_due() == 0
    assert ProcessInstance.objects.filter(definition=definition).count() == 1
