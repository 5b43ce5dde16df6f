"""Migrating instances between versions on the database: timers, offers and subprocess-free edge cases."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from engine.exceptions import PermissionDeniedError
from engine.models import EventType, HistoryEvent, HumanTask, MessageSubscription, ProcessInstance, Timer, TimerStatus
from engine.services import human_task_complete, instance_start, message_correlate, timers_fire_due
from engine.services.instance_migration import instances_migrate
from processes.services import definition_deploy
from processes.version_selectors import definition_compare
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TIMERS = fixture_bytes("timers/timers.bpmn")
LICENCE = fixture_bytes("versions/licence_v1.bpmn")


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _deploy(analyst, content):
    return definition_deploy(content=content, filename="p.bpmn", actor=analyst, agency=analyst.membership.agency)[0]


def _pending(instance):
    return {timer.element_id: timer for timer in Timer.objects.filter(instance=instance, status=TimerStatus.PENDING)}


@pytest.fixture
def at_review(analyst, applicant, clock):
    """An instance of the timer process waiting at review, with its P5D deadline and R2/P1D reminder."""
    v1 = _deploy(analyst, TIMERS)
    instance = instance_start(definition=v1, data={"reminders": 0}, actor=applicant)
    clock.shift(timedelta(hours=2))
    timers_fire_due()
    assert set(_pending(instance)) == {"review_deadline", "review_reminder"}
    return v1, instance


def test_unchanged_boundary_timers_keep_their_due_dates(at_review, analyst, officer, clock):
    """A rename of the task keeps its deadline where it was (not restarted) and the timer rows; it still fires."""
    v1, instance = at_review
    before = {element_id: (timer.pk, timer.due_at) for element_id, timer in _pending(instance).items()}
    v2 = _deploy(analyst, TIMERS.replace(b'name="Review application"', b'name="Review the application"'))
    clock.shift(timedelta(days=1, hours=-1))  # before the first reminder
    (verdict,) = instances_migrate(source=v1, target=v2, actor=analyst, dry_run=False)
    assert verdict.migrated, verdict.reasons
    after = {element_id: (timer.pk, timer.due_at) for element_id, timer in _pending(instance).items()}
    assert after == before
    assert {timer.definition_id for timer in _pending(instance).values()} == {v2.pk}
    assert not HistoryEvent.objects.filter(instance=instance, event_type=EventType.TIMER_CANCELLED).exists()
    assert HumanTask.objects.get(instance=instance, element_id="review", status="ready").name == (
        "Review the application")
    clock.shift(timedelta(days=5))
    timers_fire_due()
    statuses = dict(HumanTask.objects.filter(instance=instance).values_list("element_id", "status"))
    assert statuses == {"review": "cancelled", "late_review": "ready"}
    late = HumanTask.objects.get(instance=instance, element_id="late_review")
    human_task_complete(task_id=late.pk, actor=officer, data={})
    final = HumanTask.objects.get(instance=instance, element_id="final_check")
    human_task_complete(task_id=final.pk, actor=officer, data={})
    instance.refresh_from_db()
    assert (instance.status, instance.definition_id) == ("completed", v2.pk)


def test_a_changed_timer_starts_again_from_the_move(at_review, analyst, clock):
    """A deadline whose duration changed (P5D -> P3D) is re-armed with the new duration from the moment of the move."""
    v1, instance = at_review
    v2 = _deploy(analyst, TIMERS.replace(b"<bpmn:timeDuration>P5D</bpmn:timeDuration>",
                                         b"<bpmn:timeDuration>P3D</bpmn:timeDuration>"))
    clock.shift(timedelta(hours=3))
    instances_migrate(source=v1, target=v2, actor=analyst, dry_run=False)
    deadline = _pending(instance)["review_deadline"]
    assert deadline.due_at == START + timedelta(hours=5, days=3)


def test_waiting_at_a_removed_timer_event_blocks_the_move(analyst, applicant, clock):
    """An instance in the cooling-off wait cannot move to a version without it; its timer stays pending."""
    v1 = _deploy(analyst, TIMERS)
    instance = instance_start(definition=v1, data={"reminders": 0}, actor=applicant)
    without_wait = TIMERS.replace(
        b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="cooling_off" />', b""
    ).replace(
        b'<bpmn:sequenceFlow id="f2" sourceRef="cooling_off" targetRef="review" />',
        b'<bpmn:sequenceFlow id="f2" sourceRef="start" targetRef="review" />',
    )
    closing = b"</bpmn:intermediateCatchEvent>"
    start, end = without_wait.index(b"<bpmn:intermediateCatchEvent"), without_wait.index(closing) + len(closing)
    v2 = _deploy(analyst, without_wait[:start] + without_wait[end:])
    (verdict,) = instances_migrate(source=v1, target=v2, actor=analyst, dry_run=False)
    assert verdict.reason == "waiting at event 'Cooling-off period' (cooling_off) which version 2 removes"
    assert not verdict.migrated
    instance.refresh_from_db()
    assert instance.definition_id == v1.pk and set(_pending(instance)) == {"cooling_off"}


def test_a_lane_change_offers_the_open_task_to_the_new_lane(analyst, officer, clock):
    """decide moved from Verifier to Front Office: the open task keeps its id and is offered to Front Office."""
    v1 = _deploy(analyst, LICENCE)
    instance = instance_start(definition=v1, data={}, actor=officer)
    for _step in range(2):
        task = HumanTask.objects.get(instance=instance, status="ready")
        human_task_complete(task_id=task.pk, actor=officer, data={})
    decide = HumanTask.objects.get(instance=instance, status="ready")
    assert [group.name for group in decide.candidate_groups.all()] == ["demo/Verifier"]
    moved = LICENCE.replace(b"<bpmn:flowNodeRef>decide</bpmn:flowNodeRef>", b"").replace(
        b"<bpmn:flowNodeRef>check_docs</bpmn:flowNodeRef>",
        b"<bpmn:flowNodeRef>check_docs</bpmn:flowNodeRef><bpmn:flowNodeRef>decide</bpmn:flowNodeRef>")
    v2 = _deploy(analyst, moved)
    (verdict,) = instances_migrate(source=v1, target=v2, actor=analyst, dry_run=False)
    assert verdict.migrated and verdict.position[0]["changes"] == ["lane"]
    decide.refresh_from_db()
    assert (decide.status, decide.lane) == ("ready", "Front Office")
    assert [group.name for group in decide.candidate_groups.all()] == ["demo/Front Office"]
    event = HistoryEvent.objects.get(instance=instance, event_type=EventType.INSTANCE_MIGRATED)
    assert event.details["tasks"] == [{"task": decide.pk, "lane": {"from": "Verifier", "to": "Front Office"},
                                       "offered_again": True}]


def test_a_task_added_before_the_position_does_not_disturb_the_instance(analyst, officer, clock):
    """v2 inserts a task before decide: an instance already at decide stays there and finishes without it."""
    v1 = _deploy(analyst, LICENCE)
    instance = instance_start(definition=v1, data={}, actor=officer)
    for _step in range(2):
        task = HumanTask.objects.get(instance=instance, status="ready")
        human_task_complete(task_id=task.pk, actor=officer, data={})
    v2 = _deploy(analyst, LICENCE.replace(
        b'<bpmn:sequenceFlow id="f_decide" sourceRef="check_docs" targetRef="decide" />',
        b'<bpmn:sequenceFlow id="f_pay" sourceRef="check_docs" targetRef="pay" />'
        b'<bpmn:userTask id="pay" name="Pay the fee" />'
        b'<bpmn:sequenceFlow id="f_decide" sourceRef="pay" targetRef="decide" />'))
    (verdict,) = instances_migrate(source=v1, target=v2, actor=analyst, dry_run=False)
    assert verdict.migrated
    decide = HumanTask.objects.get(instance=instance, status="ready")
    assert decide.element_id == "decide"
    human_task_complete(task_id=decide.pk, actor=officer, data={})
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert not HumanTask.objects.filter(instance=instance, element_id="pay").exists()


def test_service_refuses_an_officer(analyst, officer, clock):
    """The service itself checks the role, not only the API."""
    v1 = _deploy(analyst, LICENCE)
    v2 = _deploy(analyst, LICENCE.replace(b'name="Decide"', b'name="Decide now"'))
    with pytest.raises(PermissionDeniedError):
        instances_migrate(source=v1, target=v2, actor=officer, dry_run=True)


def test_management_command_dry_run_and_real_run(analyst, officer, clock, capsys):
    """migrate_instances prints the verdicts; --dry-run moves nothing, without it the movable instances move."""
    v1 = _deploy(analyst, LICENCE)
    first = instance_start(definition=v1, data={}, actor=officer)
    second = instance_start(definition=v1, data={}, actor=officer)
    task = HumanTask.objects.get(instance=second, status="ready")
    human_task_complete(task_id=task.pk, actor=officer, data={})
    v2 = _deploy(analyst, fixture_bytes("versions/licence_v2.bpmn"))
    call_command("migrate_instances", str(v1.pk), str(v2.pk), "--dry-run")
    output = capsys.readouterr().out
    assert f"instance {first.pk} ({first.tracking_code}): can move" in output
    assert f"instance {second.pk} ({second.tracking_code}): cannot move: waiting at task 'Check documents'" in output
    assert "1 of 2 can move (dry run: nothing changed)" in output
    assert ProcessInstance.objects.filter(definition=v2).count() == 0
    call_command("migrate_instances", str(v1.pk), str(v2.pk))
    assert "1 of 2 migrated" in capsys.readouterr().out
    assert list(ProcessInstance.objects.filter(definition=v2).values_list("pk", flat=True)) == [first.pk]
    event = HistoryEvent.objects.get(instance=first, event_type=EventType.INSTANCE_MIGRATED)
    assert event.actor_name == "system"


RESUBMISSION = fixture_bytes("messages/document_resubmission.bpmn")


def _waiting_for_resubmission(analyst, officer, applicant):
    v1 = _deploy(analyst, RESUBMISSION)
    instance = instance_start(definition=v1, data={}, actor=applicant)
    check = HumanTask.objects.get(instance=instance, element_id="check_documents", status="ready")
    human_task_complete(task_id=check.pk, actor=officer, data={"documents_complete": False})
    return v1, instance


def test_an_instance_waiting_inside_a_subprocess_moves_and_still_catches_its_message(analyst, officer, applicant,
                                                                                    clock):
    """Waiting for a message inside a subprocess: the subscription and deadline stay, and the message still lands."""
    v1, instance = _waiting_for_resubmission(analyst, officer, applicant)
    subscription = MessageSubscription.objects.get(instance=instance, status="waiting")
    deadline = _pending(instance)["resubmission_deadline"]
    v2 = _deploy(analyst, RESUBMISSION.replace(b'name="Issue the decision"', b'name="Issue the permit decision"'))
    (verdict,) = instances_migrate(source=v1, target=v2, actor=analyst, dry_run=False)
    assert verdict.migrated, verdict.reasons
    assert MessageSubscription.objects.get(instance=instance, status="waiting").pk == subscription.pk
    assert (_pending(instance)["resubmission_deadline"].pk, _pending(instance)["resubmission_deadline"].due_at) == (
        deadline.pk, deadline.due_at)
    message_correlate(name="documents_resubmitted", correlation_key=instance.tracking_code, data={}, actor=applicant)
    check = HumanTask.objects.get(instance=instance, element_id="check_documents", status="ready")
    human_task_complete(task_id=check.pk, actor=officer, data={"documents_complete": True})
    decision = HumanTask.objects.get(instance=instance, element_id="issue_decision", status="ready")
    assert decision.name == "Issue the permit decision"


def test_an_event_whose_id_changed_continues_where_spiffworkflow_aligns_it(analyst, officer, applicant, clock):
    """The catch event is now documents_sent for another message: SpiffWorkflow aligns it by position; the
    instance moves, waits for the new message and the old subscription is cancelled."""
    v1, instance = _waiting_for_resubmission(analyst, officer, applicant)
    v2 = _deploy(analyst, RESUBMISSION.replace(b"documents_resubmitted\"", b"documents_sent\"").replace(
        b'id="documents_resubmitted_def"', b'id="documents_sent_def"'))
    compared = definition_compare(v1, v2)
    assert compared["continues_as"] == {"documents_resubmitted": "documents_sent"}
    assert [item["id"] for item in compared["elements"]["removed"]] == ["documents_resubmitted"]
    (verdict,) = instances_migrate(source=v1, target=v2, actor=analyst, dry_run=False)
    assert verdict.migrated
    assert [(item["element_id"], item["target_element_id"], item["changes"]) for item in verdict.position
            if item["state"] == "waiting" and item["element_id"].startswith("documents")] == [
        ("documents_resubmitted", "documents_sent", ["event_definition"])]
    subscriptions = MessageSubscription.objects.filter(instance=instance, message_name__startswith="documents")
    assert dict(subscriptions.values_list("message_name", "status")) == {
        "documents_resubmitted": "cancelled", "documents_sent": "waiting"}
    message_correlate(name="documents_sent", correlation_key=instance.tracking_code, data={}, actor=applicant)
    assert HumanTask.objects.filter(instance=instance, element_id="check_documents", status="ready").exists()


def test_waiting_at_an_event_removed_from_a_subprocess_blocks_the_move(analyst, officer, applicant, clock):
    """The subprocess no longer waits for anything: the instance waiting in it cannot move."""
    v1, instance = _waiting_for_resubmission(analyst, officer, applicant)
    without_wait = RESUBMISSION.replace(
        b'<bpmn:sequenceFlow id="f_await" sourceRef="await_start" targetRef="documents_resubmitted" />',
        b'<bpmn:sequenceFlow id="f_await" sourceRef="await_start" targetRef="await_end" />',
    )
    start = without_wait.index(b'<bpmn:intermediateCatchEvent id="documents_resubmitted"')
    end = without_wait.index(b'<bpmn:endEvent id="await_end" />')
    v2 = _deploy(analyst, without_wait[:start] + without_wait[end:])
    (verdict,) = instances_migrate(source=v1, target=v2, actor=analyst, dry_run=True)
    assert not verdict.can_move
    assert verdict.reason == (
        "waiting at event 'Documents resubmitted' (documents_resubmitted) which version 2 removes")


def _at_decide(definition, officer):
    instance = instance_start(definition=definition, data={}, actor=officer)
    for _step in range(2):
        task = HumanTask.objects.get(instance=instance, status="ready")
        human_task_complete(task_id=task.pk, actor=officer, data={})
    instance.refresh_from_db()
    return instance


def test_new_candidate_groups_in_the_model_offer_the_open_task_to_them(analyst, officer, clock):
    """v2 gives decide camunda:candidateGroups="Clerks": the open task is offered to demo/Clerks instead."""
    v1 = _deploy(analyst, LICENCE)
    instance = _at_decide(v1, officer)
    v2 = _deploy(analyst, LICENCE.replace(
        b'<bpmn:userTask id="decide" name="Decide" />',
        b'<bpmn:userTask id="decide" name="Decide" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        b'camunda:candidateGroups="Clerks" camunda:priority="90" />'))
    (verdict,) = instances_migrate(source=v1, target=v2, actor=analyst, dry_run=False)
    assert verdict.migrated and verdict.position[0]["changes"] == ["catalog"]
    decide = HumanTask.objects.get(instance=instance, status="ready")
    assert [group.name for group in decide.candidate_groups.all()] == ["demo/Clerks"]
    assert decide.priority == 90


def test_a_failing_instance_is_rolled_back_and_reported_and_the_others_move(analyst, officer, clock, monkeypatch):
    """When writing one instance fails, that instance is left as it was and the next one still moves."""
    from engine.services import instance_migration

    v1 = _deploy(analyst, LICENCE)
    failing, moving = _at_decide(v1, officer), _at_decide(v1, officer)
    v2 = _deploy(analyst, fixture_bytes("versions/licence_v2.bpmn"))
    real_save_step = instance_migration.save_step

    def save_step_failing_for_the_first(instance, *args, **kwargs):
        if instance.pk == failing.pk:
            raise RuntimeError("disk full")
        return real_save_step(instance, *args, **kwargs)

    monkeypatch.setattr(instance_migration, "save_step", save_step_failing_for_the_first)
    verdicts = {verdict.instance_id: verdict for verdict in
                instances_migrate(source=v1, target=v2, actor=analyst, dry_run=False)}
    assert verdicts[failing.pk].reason == "moving it failed and was undone: disk full"
    assert not verdicts[failing.pk].migrated and verdicts[moving.pk].migrated
    failing_now = ProcessInstance.objects.get(pk=failing.pk)
    assert (failing_now.definition_id, failing_now.revision, failing_now.state) == (
        v1.pk, failing.revision, failing.state)
    assert not HistoryEvent.objects.filter(instance=failing, event_type=EventType.INSTANCE_MIGRATED).exists()
    assert HumanTask.objects.get(instance=failing, status="ready").name == "Decide"


def test_a_new_due_date_in_the_model_moves_the_tasks_deadline_timer(analyst, officer, clock):
    """v2 gives decide a due date three days later: the task's deadline timer follows it (the old one is
    cancelled, a new one watches the new date), so the task is not flagged overdue at the old date."""
    v1 = _deploy(analyst, LICENCE.replace(
        b'<bpmn:userTask id="decide" name="Decide" />',
        b'<bpmn:userTask id="decide" name="Decide" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        b'camunda:dueDate="P2D" />'))
    instance = _at_decide(v1, officer)
    decide = HumanTask.objects.get(instance=instance, status="ready")
    old_deadline = Timer.objects.get(human_task=decide, status=TimerStatus.PENDING)
    assert old_deadline.due_at == decide.due_at
    v2 = _deploy(analyst, LICENCE.replace(
        b'<bpmn:userTask id="decide" name="Decide" />',
        b'<bpmn:userTask id="decide" name="Decide" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        b'camunda:dueDate="P5D" />'))
    (verdict,) = instances_migrate(source=v1, target=v2, actor=analyst, dry_run=False)
    assert verdict.migrated
    decide.refresh_from_db()
    assert decide.due_at == old_deadline.due_at + timedelta(days=3)
    old_deadline.refresh_from_db()
    assert old_deadline.status == TimerStatus.CANCELLED
    (deadline,) = Timer.objects.filter(human_task=decide, status=TimerStatus.PENDING)
    assert deadline.due_at == decide.due_at and deadline.definition_id == v2.pk
    clock.move_to(old_deadline.due_at + timedelta(hours=1))
    timers_fire_due()
    decide.refresh_from_db()
    assert decide.overdue_at is None
