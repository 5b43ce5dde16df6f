"""Service levels in working days: promised dates, task due dates, stopped clocks, escalation once."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.apps import apps as django_apps

from engine.models import (
    ClockPause,
    EventType,
    HistoryEvent,
    HumanTask,
    HumanTaskStatus,
    Notification,
    ProcessInstance,
    Timer,
    TimerKind,
)
from engine.services import human_task_complete, instance_start, timers_fire_due
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db

# Friday 14 August 2026, 14:00 in Jakarta (UTC+7); Monday 17 August is Independence Day and
# Tuesday 25 August is Maulid Nabi (national holidays). Working hours are 08:00-16:00.
FRIDAY_BEFORE_HOLIDAY = datetime(2026, 8, 14, 7, 0, tzinfo=UTC)


def wib(day, hour, minute=0):
    """A moment in August 2026 written in Jakarta time."""
    return datetime(2026, 8, day, hour - 7, minute, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(FRIDAY_BEFORE_HOLIDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def licence(analyst, agency, clock):
    content = fixture_bytes("service_levels/business_licence.bpmn")
    return definition_deploy(content=content, filename="licence.bpmn", actor=analyst, agency=agency)[0]


def _open(instance, element_id):
    return HumanTask.objects.get(instance=instance, element_id=element_id, status__in=["ready", "claimed"])


def test_service_levels_are_read_from_the_model(licence):
    """The process promise, task levels, escalations, business timers and applicant pauses are stored."""
    assert licence.service_levels == {
        "process": "P5D",
        "tasks": {"check_documents": "PT4H", "review": "P1D"},
        "escalations": {"check_documents": "notify", "review": "reassign:Head of Office"},
        "business_timers": ["objection_period"],
        "pauses": ["supply_documents"],
    }


def test_five_working_days_from_the_friday_before_a_holiday(licence, applicant):
    """Started Friday 14:00 before Independence Day, 5 working days end Monday 24 August at 16:00."""
    instance = instance_start(definition=licence, data={}, actor=applicant)
    assert instance.promised_at == wib(24, 16)
    (deadline,) = Timer.objects.filter(instance=instance, kind=TimerKind.INSTANCE_DUE, status="pending")
    assert deadline.due_at == wib(24, 16)


def test_task_due_date_counts_working_hours(licence, applicant):
    """'4 jam' from Friday 14:00 skips the weekend and the holiday: Tuesday 10:00."""
    instance = instance_start(definition=licence, data={}, actor=applicant)
    task = _open(instance, "check_documents")
    assert task.due_at == wib(18, 10)
    assert Timer.objects.get(human_task=task, kind=TimerKind.TASK_DUE).due_at == wib(18, 10)


def test_clock_pauses_while_the_applicant_supplies_documents(licence, applicant, officer, clock):
    """Two working days waiting on the applicant move the promise from Mon 24 to Thu 27 (Tue 25 is a holiday)."""
    instance = instance_start(definition=licence, data={}, actor=applicant)
    clock.move_to(wib(18, 9))
    human_task_complete(task_id=_open(instance, "check_documents").pk, actor=officer,
                        data={"documents_complete": False})
    (pause,) = ClockPause.objects.filter(instance=instance)
    assert pause.started_at == wib(18, 9) and pause.ended_at is None
    instance.refresh_from_db()
    assert instance.clock_paused_at == wib(18, 9)
    assert not Timer.objects.filter(instance=instance, kind=TimerKind.INSTANCE_DUE, status="pending").exists()
    clock.move_to(wib(20, 9))
    human_task_complete(task_id=_open(instance, "supply_documents").pk, actor=applicant, data={})
    pause.refresh_from_db()
    instance.refresh_from_db()
    assert pause.ended_at == wib(20, 9) and instance.clock_paused_at is None
    assert instance.promised_at == wib(27, 16)
    assert Timer.objects.get(instance=instance, kind=TimerKind.INSTANCE_DUE, status="pending").due_at == wib(27, 16)
    resumed = HistoryEvent.objects.get(instance=instance, event_type=EventType.CLOCK_RESUMED)
    assert resumed.details["paused_working_seconds"] == 16 * 3600
    assert _open(instance, "check_documents").due_at == wib(20, 13)


def test_a_pause_of_no_working_time_leaves_the_promise_where_it_was(licence, applicant, officer, clock):
    """Sent back at 16:30 on Friday and answered on Saturday: no working time passed, so the promise (Mon 24,
    16:00: the end of a working day) stays, and its timer is watched again at that moment."""
    instance = instance_start(definition=licence, data={}, actor=applicant)
    promised = ProcessInstance.objects.get(pk=instance.pk).promised_at
    assert promised == wib(24, 16)
    clock.move_to(wib(21, 16, 30))
    human_task_complete(task_id=_open(instance, "check_documents").pk, actor=officer,
                        data={"documents_complete": False})
    clock.move_to(wib(22, 10))
    human_task_complete(task_id=_open(instance, "supply_documents").pk, actor=applicant, data={})
    instance.refresh_from_db()
    (pause,) = ClockPause.objects.filter(instance=instance)
    assert pause.ended_at == wib(22, 10)
    assert instance.promised_at == promised
    assert Timer.objects.get(instance=instance, kind=TimerKind.INSTANCE_DUE, status="pending").due_at == promised


def test_the_migration_marks_the_instances_whose_clock_is_paused_now(licence, applicant, officer, clock):
    """Migration 0010 sets ``clock_paused_at`` from the open pauses; a closed pause leaves it empty."""
    migration = importlib.import_module("engine.migrations.0010_instance_clock_paused_at")
    paused, running = (instance_start(definition=licence, data={}, actor=applicant) for _ in range(2))
    clock.move_to(wib(18, 9))
    for instance in (paused, running):
        human_task_complete(task_id=_open(instance, "check_documents").pk, actor=officer,
                            data={"documents_complete": False})
    clock.move_to(wib(18, 11))
    human_task_complete(task_id=_open(running, "supply_documents").pk, actor=applicant, data={})
    assert ClockPause.objects.filter(instance=running, ended_at__isnull=False).exists()
    ProcessInstance.objects.update(clock_paused_at=None)
    migration.fill_clock_paused_at(django_apps, None)
    assert dict(ProcessInstance.objects.values_list("pk", "clock_paused_at")) == {
        paused.pk: wib(18, 9), running.pk: None}


def test_overdue_task_escalates_once_to_the_supervisors(licence, applicant, supervisor, clock):
    """When the due date passes, the task is flagged, an event recorded and supervisors notified, once."""
    instance = instance_start(definition=licence, data={}, actor=applicant)
    task = _open(instance, "check_documents")
    clock.move_to(wib(18, 9, 59))
    timers_fire_due()
    task.refresh_from_db()
    assert task.overdue_at is None
    clock.move_to(wib(18, 10, 1))
    timers_fire_due()
    clock.shift(timedelta(days=3))
    timers_fire_due()
    task.refresh_from_db()
    assert task.overdue_at == wib(18, 10, 1)
    assert HistoryEvent.objects.filter(human_task=task, event_type=EventType.TASK_OVERDUE).count() == 1
    escalated = HistoryEvent.objects.get(human_task=task, event_type=EventType.TASK_ESCALATED)
    assert escalated.details == {"action": "notify", "recipients": ["supervisor"]}
    (notification,) = Notification.objects.all()
    assert notification.recipient == supervisor and notification.human_task == task


def test_overdue_review_is_reassigned_to_the_head_of_office(licence, applicant, officer, head, clock):
    """The review's escalation takes it from its assignee and offers it to the Head of Office group."""
    instance = instance_start(definition=licence, data={}, actor=applicant)
    clock.move_to(wib(20, 10))
    human_task_complete(task_id=_open(instance, "check_documents").pk, actor=officer,
                        data={"documents_complete": True})
    review = _open(instance, "review")
    assert review.due_at == wib(21, 16)
    from engine.services import human_task_claim

    human_task_claim(task_id=review.pk, actor=officer)
    clock.move_to(wib(21, 16, 5))
    timers_fire_due()
    review.refresh_from_db()
    assert review.status == HumanTaskStatus.READY and review.assignee is None
    assert [group.name for group in review.candidate_groups.all()] == ["demo/Head of Office"]
    human_task_complete(task_id=review.pk, actor=head, data={})


def test_business_time_timer_waits_working_days(licence, applicant, officer, clock):
    """An objection period of P2D marked as business time ends two working days later, not 48 hours."""
    instance = instance_start(definition=licence, data={}, actor=applicant)
    clock.move_to(wib(21, 10))
    human_task_complete(task_id=_open(instance, "check_documents").pk, actor=officer,
                        data={"documents_complete": True})
    human_task_complete(task_id=_open(instance, "review").pk, actor=officer, data={})
    timer = Timer.objects.get(instance=instance, element_id="objection_period", status="pending")
    assert timer.due_at == wib(26, 16)
    clock.move_to(wib(26, 16, 1))
    assert timers_fire_due() >= 1
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert not Timer.objects.filter(instance=instance, status="pending").exists()


def test_missed_promise_is_recorded_once(licence, applicant, clock):
    """Past the promised date with the application still open, one breach event is recorded."""
    instance = instance_start(definition=licence, data={}, actor=applicant)
    clock.move_to(wib(24, 16, 1))
    timers_fire_due()
    clock.shift(timedelta(days=2))
    timers_fire_due()
    assert HistoryEvent.objects.filter(instance=instance, event_type=EventType.INSTANCE_OVERDUE).count() == 1


def test_invalid_service_level_is_refused_at_deploy(analyst, agency):
    """A service level that is not working time (months) is a 400 error naming the element."""
    from engine.exceptions import DefinitionInvalidError

    content = fixture_bytes("service_levels/business_licence.bpmn").replace(b'value="P1D"', b'value="P1M"')
    with pytest.raises(DefinitionInvalidError) as raised:
        definition_deploy(content=content, filename="bad.bpmn", actor=analyst, agency=agency)
    assert raised.value.errors[0]["element_id"] == "review"


def test_instance_reports_elapsed_and_counted_time(licence, applicant, officer, clock):
    """The instance's clock shows wall time, working time and the paused part counted out."""
    from engine.selectors import instance_clock

    instance = instance_start(definition=licence, data={}, actor=applicant)
    clock.move_to(wib(18, 9))
    human_task_complete(task_id=_open(instance, "check_documents").pk, actor=officer,
                        data={"documents_complete": False})
    clock.move_to(wib(20, 9))
    human_task_complete(task_id=_open(instance, "supply_documents").pk, actor=applicant, data={})
    instance.refresh_from_db()
    report = instance_clock(instance, now=wib(20, 12))
    assert report["elapsed_seconds"] == (wib(20, 12) - FRIDAY_BEFORE_HOLIDAY).total_seconds()
    # Fri 14-16 (2h) + Tue 8-16 (8h) + Wed (8h) + Thu 8-12 (4h) = 22 working hours, 16 of them paused.
    assert report["working_seconds"] == 22 * 3600
    assert report["paused_working_seconds"] == 16 * 3600
    assert report["counted_working_seconds"] == 6 * 3600
    assert report["promised_at"] == wib(27, 16) and report["breached"] is False


def test_clock_pauses_while_waiting_for_resubmitted_documents(analyst, agency, applicant, officer, clock):
    """A message catch marked as pausing stops the clock until the applicant's documents arrive."""
    from engine.services.messages import message_correlate

    definition, _ = definition_deploy(
        content=fixture_bytes("messages/document_resubmission.bpmn"), filename="resubmission.bpmn", actor=analyst,
        agency=agency, service_levels_file=b'{"process": "5 hari kerja", "pauses": ["documents_resubmitted"]}',
    )
    instance = instance_start(definition=definition, data={}, actor=applicant)
    assert instance.promised_at == wib(24, 16)
    clock.move_to(wib(18, 9))
    human_task_complete(task_id=_open(instance, "check_documents").pk, actor=officer,
                        data={"documents_complete": False})
    assert ClockPause.objects.get(instance=instance).reason == "documents_resubmitted"
    clock.move_to(wib(20, 9))
    message_correlate(name="documents_resubmitted", correlation_key=instance.tracking_code, data={}, actor=applicant)
    instance.refresh_from_db()
    assert instance.promised_at == wib(27, 16)
    assert ClockPause.objects.get(instance=instance).ended_at == wib(20, 9)
