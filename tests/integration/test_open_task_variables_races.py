"""The open tasks' variables stay exact when an instance's two parallel reviews complete at the same moment."""

import pytest

from engine.models import HumanTask, OpenTaskVariable
from engine.services import human_task_complete, instance_start
from engine.task_variables import carried_variables

from .conftest import run_together

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROUNDS = 5


def _held(instance):
    return set(OpenTaskVariable.objects.filter(task__instance=instance).values_list(
        "task_id", "name", "value", "created_at", "due_at", "priority"))


def _from_scratch(instance):
    instance.refresh_from_db()
    return {
        (task.pk, name, value, task.created_at, task.due_at, task.priority)
        for task in HumanTask.objects.filter(instance=instance, status__in=["ready", "claimed"])
        for name, value in carried_variables(instance.data).items()
    }


def test_parallel_reviews_completed_together_leave_the_next_task_with_the_merged_variables(
        permit, officer, second_officer, applicant):
    """Both reviews complete at once (the instance lock orders them): the reviews lose their rows, and
    the approval task carries the variables both completions wrote."""
    for round_number in range(ROUNDS):
        instance = instance_start(definition=permit, data={"district": "Gubeng", "round": round_number},
                                  actor=applicant)
        check = HumanTask.objects.get(instance=instance, element_id="check_completeness")
        human_task_complete(task_id=check.pk, actor=officer, data={"documents_complete": True})
        reviews = {task.element_id: task for task in HumanTask.objects.filter(instance=instance, status="ready")}
        assert _held(instance) == _from_scratch(instance) and len(_held(instance)) == 6  # 2 tasks x 3
        outcomes = run_together(
            lambda task_id=reviews["technical_review"].pk: human_task_complete(
                task_id=task_id, actor=officer, data={"technical_ok": True, "inspector": "Budi"}),
            lambda task_id=reviews["legal_review"].pk: human_task_complete(
                task_id=task_id, actor=second_officer, data={"legal_ok": True, "urgent": True}),
        )
        assert all(ok for ok, _value in outcomes), outcomes
        approve = HumanTask.objects.get(instance=instance, status="ready")
        assert approve.element_id == "approve_permit"
        assert _held(instance) == _from_scratch(instance)
        carried = dict(OpenTaskVariable.objects.filter(task=approve).values_list("name", "value"))
        assert {"technical_ok", "legal_ok", "inspector", "urgent", "district"} <= carried.keys()
        assert not OpenTaskVariable.objects.filter(task__in=reviews.values()).exists()
