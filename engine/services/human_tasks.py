"""Claiming and completing human tasks. Conflicts raise errors the API answers with 409."""

from django.db import transaction
from django.utils import timezone

from engine import history
from engine.exceptions import (
    InstanceNotRunningError,
    TaskClaimedError,
    TaskNotFoundError,
    TaskNotReadyError,
    TaskPermissionError,
)
from engine.models import HumanTask, HumanTaskStatus, InstanceStatus
from engine.selectors import human_task_visible_to

from .instances import validate_data
from .steps import locked_instance, runtime_of, save_step


def _locked_task(task_id, actor):
    """Lock the task's instance, then the task (always in that order), and check the actor may act."""
    instance_id = HumanTask.objects.filter(pk=task_id).values_list("instance_id", flat=True).first()
    if instance_id is None:
        raise TaskNotFoundError(f"There is no task {task_id}.")
    instance = locked_instance(instance_id)
    task = HumanTask.objects.select_for_update().get(pk=task_id)
    task.instance = instance
    if not human_task_visible_to(task, actor):
        raise TaskPermissionError(f"{actor.get_username()} is not a candidate for task {task_id}.")
    if not task.is_open:
        raise TaskNotReadyError(f"Task {task_id} is {task.status}; it cannot be changed any more.")
    return task


def _claim(task, actor):
    task.status = HumanTaskStatus.CLAIMED
    task.assignee = actor
    task.claimed_at = timezone.now()
    task.save(update_fields=["status", "assignee", "claimed_at"])
    history.record_task_claimed(task, actor=actor)


def human_task_claim(*, task_id, actor):
    """Claim a ready task for ``actor``; claiming one's own claimed task again changes nothing."""
    with transaction.atomic():
        task = _locked_task(task_id, actor)
        if task.status == HumanTaskStatus.CLAIMED:
            if task.assignee_id == actor.pk:
                return task
            raise TaskClaimedError(f"Task {task_id} is already claimed by {task.assignee.get_username()}.")
        _claim(task, actor)
    return task


def human_task_unclaim(*, task_id, actor):
    """Give a claimed task back to its candidates; only the assignee or a superuser may."""
    with transaction.atomic():
        task = _locked_task(task_id, actor)
        if task.status != HumanTaskStatus.CLAIMED:
            raise TaskNotReadyError(f"Task {task_id} is not claimed.")
        if task.assignee_id != actor.pk and not actor.is_superuser:
            raise TaskClaimedError(f"Task {task_id} is claimed by {task.assignee.get_username()}.")
        previous = task.assignee.get_username()
        task.status = HumanTaskStatus.READY
        task.assignee = None
        task.claimed_at = None
        task.save(update_fields=["status", "assignee", "claimed_at"])
        history.record_task_unclaimed(task, actor=actor, previous_assignee=previous)
    return task


def human_task_complete(*, task_id, actor, data):
    """Complete a task with the officer's data and run the process on to its next wait.

    An unclaimed task is claimed for the actor first. A task claimed by someone else, or no
    longer open, is refused; so a second completion never happens.
    """
    data = validate_data(data)
    with transaction.atomic():
        task = _locked_task(task_id, actor)
        instance = task.instance
        if instance.status != InstanceStatus.RUNNING:
            raise InstanceNotRunningError(f"Instance {instance.pk} is {instance.status}.")
        if task.status == HumanTaskStatus.CLAIMED and task.assignee_id != actor.pk:
            raise TaskClaimedError(f"Task {task_id} is claimed by {task.assignee.get_username()}.")
        if task.status == HumanTaskStatus.READY:
            _claim(task, actor)
        runtime = runtime_of(instance)
        result = runtime.complete_human_task(task.spiff_task_id, data)
        if any(activity.task_id == task.spiff_task_id for activity in result.finished):
            task.status = HumanTaskStatus.COMPLETED
            task.completed_at = timezone.now()
            task.completed_by = actor
            task.completion_data = data
            task.save(update_fields=["status", "completed_at", "completed_by", "completion_data"])
            history.record_task_completed(task, actor=actor)
        save_step(instance, runtime, result, actor=actor)
    return task
