"""The engine's behaviour that depends on PostgreSQL itself: jsonb state, errors under concurrency, deploys."""

from datetime import timedelta

import pytest
from django.utils import timezone

from engine.models import EventType, HistoryEvent, HumanTask, HumanTaskStatus, InstanceStatus, ProcessInstance, Timer
from engine.services import human_task_complete, instance_start, timers_fire_due
from engine.services.steps import runtime_of
from processes.models import ProcessDefinition
from processes.services import definition_deploy
from tests.conftest import fixture_bytes, library_bytes

from .conftest import run_together

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _stored_data(tasks, task_id):
    """A task's data as stored: the root's in full, the others as a delta on their parent's."""
    task = tasks[task_id]
    if task["parent"] is None or not task.get("delta"):
        return dict(task["data"])
    data = _stored_data(tasks, task["parent"])
    data.update(task["delta"].get("updates", {}))
    for key in task["delta"].get("deletions", []):
        data.pop(key, None)
    return data


def test_jsonb_state_restores_every_tasks_data(analyst, applicant):
    """An instance read back from jsonb (which reorders keys) restores each task's data as it was stored."""
    definition, _ = definition_deploy(
        content=fixture_bytes("timers/timers.bpmn"), filename="t.bpmn", actor=analyst, agency=analyst.membership.agency
    )
    instance = instance_start(definition=definition, data={"reminders": 0, "applicant": "Budi"}, actor=applicant)
    Timer.objects.filter(instance=instance).update(due_at=timezone.now() - timedelta(seconds=1))
    assert timers_fire_due() == 1
    stored = ProcessInstance.objects.get(pk=instance.pk)
    tasks = stored.state["tasks"]
    position = {task_id: index for index, task_id in enumerate(tasks)}
    assert any(task["parent"] and position[task["parent"]] > position[task_id] for task_id, task in tasks.items()), (
        "jsonb kept every parent before its children; this test would prove nothing"
    )

    restored = runtime_of(stored)._workflow
    assert sorted(map(str, restored.tasks)) == sorted(tasks)
    for task_id, task in restored.tasks.items():
        assert task.data == _stored_data(tasks, str(task_id)), task.task_spec.name
    review = next(task for task in restored.tasks.values() if task.task_spec.name == "review")
    assert review.data == {"reminders": 0, "applicant": "Budi"}


def test_overdue_boundary_timers_run_with_the_process_data(analyst, applicant):
    """Reminder then deadline overdue: the reminder script runs on the process data, then the deadline escalates."""
    definition, _ = definition_deploy(
        content=fixture_bytes("timers/timers.bpmn"), filename="t.bpmn", actor=analyst, agency=analyst.membership.agency
    )
    instance = instance_start(definition=definition, data={"reminders": 0}, actor=applicant)
    Timer.objects.filter(instance=instance).update(due_at=timezone.now() - timedelta(seconds=1))
    timers_fire_due()
    pending = Timer.objects.filter(instance=instance, status="pending")
    pending.filter(element_id="review_reminder").update(due_at=timezone.now() - timedelta(seconds=2))
    pending.filter(element_id="review_deadline").update(due_at=timezone.now() - timedelta(seconds=1))
    assert timers_fire_due() == 2

    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING, instance.error_message
    assert not HistoryEvent.objects.filter(instance=instance, event_type=EventType.INSTANCE_ERRORED).exists()
    ran = HistoryEvent.objects.filter(instance=instance, event_type=EventType.ACTIVITY_COMPLETED)
    assert list(
        ran.filter(element_id__in=["count_reminder", "review_deadline"]).values_list("element_id", flat=True)
    ) == ["count_reminder", "review_deadline"]
    tasks = dict(HumanTask.objects.filter(instance=instance).values_list("element_id", "status"))
    assert tasks == {"review": "cancelled", "late_review": "ready"}


def test_script_failure_errors_its_instance_while_others_go_on(analyst, officer, second_officer, applicant):
    """A script hitting a limit puts its instance in ERROR; instances completed at the same moment go on."""
    definition, _ = definition_deploy(
        content=fixture_bytes("script_error/script_error.bpmn"),
        filename="fee.bpmn",
        actor=analyst,
        agency=analyst.membership.agency,
    )
    failing = instance_start(definition=definition, data={"applicant": "Siti"}, actor=applicant)
    healthy = [instance_start(definition=definition, data={"applicant": f"A{n}"}, actor=applicant) for n in range(3)]

    def complete(instance, actor, amount):
        task = HumanTask.objects.get(instance=instance, element_id="enter_amount")
        return human_task_complete(task_id=task.pk, actor=actor, data={"amount": amount})

    outcomes = run_together(
        lambda: complete(failing, officer, 10**9),
        *[
            lambda instance=instance, n=n: complete(instance, second_officer, 5 + n)
            for n, instance in enumerate(healthy)
        ],
    )
    assert all(ok for ok, _value in outcomes), outcomes

    failing.refresh_from_db()
    assert failing.status == InstanceStatus.ERROR
    assert failing.error_element_id == "compute_fee" and "too large" in failing.error_message
    assert HumanTask.objects.get(instance=failing, element_id="enter_amount").status == HumanTaskStatus.COMPLETED
    assert not HumanTask.objects.filter(instance=failing, element_id="pay").exists()
    errored = HistoryEvent.objects.filter(instance=failing, event_type=EventType.INSTANCE_ERRORED)
    assert list(errored.values_list("element_id", flat=True)) == ["compute_fee"]
    assert not HumanTask.objects.filter(instance=failing, status__in=["ready", "claimed"]).exists()

    for n, instance in enumerate(healthy):
        instance.refresh_from_db()
        assert instance.status == InstanceStatus.RUNNING, instance.error_message
        assert instance.data["fee"] == 2 * (5 + n) and instance.data["receipt"] == "x" * (5 + n)
        assert HumanTask.objects.filter(instance=instance, element_id="pay", status="ready").count() == 1


def test_deploying_at_the_same_moment_gives_distinct_versions(analyst):
    """Two deploys of changed files with the same key at once get versions 1 and 2; the same file twice gives one."""
    content = library_bytes("permit_application/permit_application.bpmn")
    changed = content.replace(b"Legal review", b"Legal check")
    outcomes = run_together(
        lambda: definition_deploy(content=content, filename="a.bpmn", actor=analyst, agency=analyst.membership.agency),
        lambda: definition_deploy(content=changed, filename="b.bpmn", actor=analyst, agency=analyst.membership.agency),
    )
    assert all(ok for ok, _value in outcomes), outcomes
    assert sorted(value[0].version for _ok, value in outcomes) == [1, 2]

    again = run_together(
        *[
            lambda: definition_deploy(
                content=content, filename="a.bpmn", actor=analyst, agency=analyst.membership.agency
            )
        ]
        * 2
    )
    assert all(ok for ok, _value in again), again
    assert ProcessDefinition.objects.filter(key="permit_application").count() == 2
    assert [created for _ok, (_definition, created) in again] == [False, False]
