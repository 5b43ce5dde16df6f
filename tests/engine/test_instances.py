"""Services on the database: start, claim, complete, errors, and the history they leave."""

import pytest

from engine.exceptions import TaskClaimedError, TaskDataInvalidError, TaskNotReadyError, TaskPermissionError
from engine.models import EventType, HistoryEvent, HumanTask, HumanTaskStatus, InstanceStatus
from engine.services import human_task_claim, human_task_complete, human_task_unclaim, instance_start
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db


def _open_task(instance, element_id):
    return HumanTask.objects.get(instance=instance, element_id=element_id, status__in=["ready", "claimed"])


def test_start_projects_the_first_task_into_the_inbox(permit, applicant):
    """Starting an instance creates the first human task, offered to its lane's group, and logs both."""
    instance = instance_start(definition=permit, data={"applicant": "Budi"}, actor=applicant)
    assert instance.status == InstanceStatus.RUNNING
    task = _open_task(instance, "check_completeness")
    assert [group.name for group in task.candidate_groups.all()] == ["demo/Front Office"]
    events = list(HistoryEvent.objects.filter(instance=instance).values_list("event_type", "actor_name"))
    assert (EventType.INSTANCE_STARTED, "applicant") in events
    assert (EventType.TASK_CREATED, "system") in events
    assert instance.tracking_code and len(instance.tracking_code) == 14


def test_complete_records_who_and_when_and_moves_on(permit, officer, applicant):
    """Completing stores completed_by/at and the data, and the next tasks appear."""
    instance = instance_start(definition=permit, data={}, actor=applicant)
    task = _open_task(instance, "check_completeness")
    human_task_complete(task_id=task.pk, actor=officer, data={"documents_complete": True})
    task.refresh_from_db()
    assert task.status == HumanTaskStatus.COMPLETED
    assert task.completed_by == officer and task.completed_at is not None
    assert task.completion_data == {"documents_complete": True}
    open_names = set(HumanTask.objects.filter(instance=instance, status="ready").values_list("element_id", flat=True))
    assert open_names == {"technical_review", "legal_review"}
    instance.refresh_from_db()
    assert instance.data["documents_complete"] is True
    assert instance.timers.filter(status="pending", element_id="review_overdue").count() == 1


def test_completing_twice_is_refused(permit, officer, applicant):
    """A second completion of the same task raises TaskNotReadyError and changes nothing."""
    instance = instance_start(definition=permit, data={}, actor=applicant)
    task = _open_task(instance, "check_completeness")
    human_task_complete(task_id=task.pk, actor=officer, data={"documents_complete": True})
    revision = type(instance).objects.get(pk=instance.pk).revision
    with pytest.raises(TaskNotReadyError):
        human_task_complete(task_id=task.pk, actor=officer, data={"documents_complete": False})
    assert type(instance).objects.get(pk=instance.pk).revision == revision


def test_claimed_task_cannot_be_taken_by_another(permit, officer, second_officer, applicant):
    """Once claimed, another candidate can neither claim nor complete it until it is unclaimed."""
    instance = instance_start(definition=permit, data={}, actor=applicant)
    task = _open_task(instance, "check_completeness")
    human_task_claim(task_id=task.pk, actor=officer)
    with pytest.raises(TaskClaimedError):
        human_task_claim(task_id=task.pk, actor=second_officer)
    with pytest.raises(TaskClaimedError):
        human_task_complete(task_id=task.pk, actor=second_officer, data={})
    human_task_unclaim(task_id=task.pk, actor=officer)
    human_task_claim(task_id=task.pk, actor=second_officer)
    assert HumanTask.objects.get(pk=task.pk).assignee == second_officer


def test_non_candidate_cannot_claim(permit, outsider, applicant):
    """A user outside the task's lane group is refused."""
    instance = instance_start(definition=permit, data={}, actor=applicant)
    task = _open_task(instance, "check_completeness")
    with pytest.raises(TaskPermissionError):
        human_task_claim(task_id=task.pk, actor=outsider)


def test_data_must_be_a_plain_json_object(permit, applicant):
    """Start data that is not a JSON object, or has private keys, is refused before anything runs."""
    with pytest.raises(TaskDataInvalidError):
        instance_start(definition=permit, data=["not", "an", "object"], actor=applicant)
    with pytest.raises(TaskDataInvalidError):
        instance_start(definition=permit, data={"__class__": 1}, actor=applicant)


def test_script_failure_puts_only_that_instance_in_error(analyst, officer, applicant):
    """A forbidden call in a script errors its instance with a readable message; another instance goes on."""
    definition, _ = definition_deploy(
        content=fixture_bytes("script_error/script_error.bpmn"),
        filename="fee.bpmn",
        actor=analyst,
        agency=analyst.membership.agency,
    )
    failing = instance_start(definition=definition, data={"applicant": "Siti"}, actor=applicant)
    healthy = instance_start(definition=definition, data={"applicant": "Siti"}, actor=applicant)
    task = _open_task(failing, "enter_amount")
    human_task_complete(task_id=task.pk, actor=officer, data={"amount": 10**9})
    failing.refresh_from_db()
    assert failing.status == InstanceStatus.ERROR
    assert failing.error_element_id == "compute_fee" and "too large" in failing.error_message
    assert HumanTask.objects.get(pk=task.pk).status == HumanTaskStatus.COMPLETED
    assert HistoryEvent.objects.filter(instance=failing, event_type=EventType.INSTANCE_ERRORED).count() == 1
    healthy.refresh_from_db()
    assert healthy.status == InstanceStatus.RUNNING
    human_task_claim(task_id=_open_task(healthy, "enter_amount").pk, actor=officer)


def test_whole_process_completes_and_logs_every_element(permit, officer, head, applicant):
    """Running the permit to its end completes the instance and logs each element once, in order."""
    instance = instance_start(definition=permit, data={}, actor=applicant)
    human_task_complete(
        task_id=_open_task(instance, "check_completeness").pk, actor=officer, data={"documents_complete": False}
    )
    human_task_complete(task_id=_open_task(instance, "revise_documents").pk, actor=applicant, data={})
    human_task_complete(
        task_id=_open_task(instance, "check_completeness").pk, actor=officer, data={"documents_complete": True}
    )
    human_task_complete(task_id=_open_task(instance, "technical_review").pk, actor=officer, data={})
    human_task_complete(task_id=_open_task(instance, "legal_review").pk, actor=officer, data={})
    human_task_complete(task_id=_open_task(instance, "approve_permit").pk, actor=head, data={})
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED and instance.ended_at is not None
    assert instance.timers.filter(status="pending").count() == 0
    assert instance.timers.filter(status="cancelled", element_id="review_overdue").count() == 1
    visited = list(
        HistoryEvent.objects.filter(instance=instance, event_type=EventType.ACTIVITY_COMPLETED).values_list(
            "element_id", flat=True
        )
    )
    assert visited.count("check_completeness") == 2
    assert visited[-3:] == ["approve_permit", "issue_permit", "permit_issued"]
    assert HistoryEvent.objects.filter(instance=instance, event_type=EventType.INSTANCE_COMPLETED).count() == 1
