"""The human task lifecycle: claim, unclaim, assign, delegate, resolve, complete.

Every change locks the instance row, then the task row (the same order as every other service),
checks the task is still open and that the actor may do this, and records who did it and when.
Conflicts (already completed, claimed by someone else, delegated) raise errors the API answers
with 409.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from engine import history
from engine.exceptions import (
    InstanceNotRunningError,
    TaskAssigneeInvalidError,
    TaskClaimedError,
    TaskDelegatedError,
    TaskFormInvalidError,
    TaskNotFoundError,
    TaskNotReadyError,
    TaskPermissionError,
)
from engine.forms import form_errors, task_form
from engine.models import DelegationState, HumanTaskStatus, InstanceStatus
from engine.prepared import save_fields
from engine.selectors import human_task_supervised_by, human_task_visible_to, human_task_workable_by

from .inbox_counts import inbox_counts_refresh
from .instances import validate_data
from .service_levels import cancel_task_deadlines
from .steps import close_offers, instance_pending_timers, locked_task, runtime_of, save_step


def _locked_task(task_id, actor):
    """Lock the task's instance, then the task, and check it is open and visible to the actor."""
    task = locked_task(task_id)
    if task is None:
        raise TaskNotFoundError(f"There is no task {task_id}.")
    if not human_task_visible_to(task, actor):
        raise TaskPermissionError(f"{actor.get_username()} may not see task {task_id}.")
    if not task.is_open:
        raise TaskNotReadyError(f"Task {task_id} is {task.status}; it cannot be changed any more.")
    return task


def _require_workable(task, user):
    if not human_task_workable_by(task, user):
        raise TaskPermissionError(f"{user.get_username()} is not a candidate for task {task.pk}.")


def _require_not_delegated(task):
    if task.delegation_state == DelegationState.PENDING:
        raise TaskDelegatedError(
            f"Task {task.pk} is delegated to {task.assignee.get_username()}, who must resolve it first."
        )


def _user_named(username):
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise TaskAssigneeInvalidError(f"There is no active user '{username}'.")
    return user


def _set_assignee(task, user, claimed_at=None):
    """``claimed_at``: when the claim began, if not now."""
    task.assignee = user
    task.status = HumanTaskStatus.CLAIMED if user is not None else HumanTaskStatus.READY
    task.claimed_at = (claimed_at or timezone.now()) if user is not None else None
    save_fields(task, ["assignee", "status", "claimed_at", "owner", "delegation_state", "draft_data"])


def _hand_over(task, user):
    """Delegating and resolving: the work goes on in other hands, so the claim keeps its moment (the
    analytics count the delegate's time as working, not waiting); a task delegated unclaimed is claimed now."""
    _set_assignee(task, user, claimed_at=task.claimed_at)


def human_task_claim(*, task_id, actor):
    """Claim a ready task for ``actor``; claiming one's own claimed task again changes nothing."""
    with transaction.atomic():
        task = _locked_task(task_id, actor)
        if task.status == HumanTaskStatus.CLAIMED:
            if task.assignee_id == actor.pk:
                return task
            raise TaskClaimedError(f"Task {task_id} is already claimed by {task.assignee.get_username()}.")
        _require_workable(task, actor)
        _set_assignee(task, actor)
        inbox_counts_refresh(task_ids=[task.pk])
        history.record_task_claimed(task, actor=actor)
    return task


def human_task_unclaim(*, task_id, actor):
    """Give a claimed task back to its candidates: the assignee or a supervisor of its agency may."""
    with transaction.atomic():
        task = _locked_task(task_id, actor)
        if task.status != HumanTaskStatus.CLAIMED:
            raise TaskNotReadyError(f"Task {task_id} is not claimed.")
        _require_not_delegated(task)
        if task.assignee_id != actor.pk and not human_task_supervised_by(task, actor):
            raise TaskClaimedError(f"Task {task_id} is claimed by {task.assignee.get_username()}.")
        previous = task.assignee.get_username()
        _set_assignee(task, None)
        inbox_counts_refresh(task_ids=[task.pk])
        history.record_task_unclaimed(task, actor=actor, previous_assignee=previous)
    return task


def human_task_assign(*, task_id, actor, assignee_username):
    """A supervisor gives the task to an officer who may work it (or to nobody, with None)."""
    with transaction.atomic():
        task = _locked_task(task_id, actor)
        if not human_task_supervised_by(task, actor):
            raise TaskPermissionError(f"Only a supervisor of {task.agency.code} may assign task {task_id}.")
        _require_not_delegated(task)
        assignee = _user_named(assignee_username) if assignee_username else None
        if assignee is not None and not human_task_workable_by(task, assignee):
            raise TaskAssigneeInvalidError(f"{assignee_username} may not work on task {task_id}.")
        previous = task.assignee.get_username() if task.assignee else None
        _set_assignee(task, assignee)
        inbox_counts_refresh(task_ids=[task.pk])
        history.record_task_assigned(task, actor=actor, previous_assignee=previous)
    return task


def human_task_delegate(*, task_id, actor, delegate_username):
    """The assignee (or a supervisor) hands the task to a colleague, who resolves it back to them."""
    with transaction.atomic():
        task = _locked_task(task_id, actor)
        _require_not_delegated(task)
        if task.assignee_id != actor.pk and not human_task_supervised_by(task, actor):
            raise TaskClaimedError(f"Task {task_id} must be claimed by {actor.get_username()} to delegate it.")
        delegate = _user_named(delegate_username)
        if delegate.pk == actor.pk:
            raise TaskAssigneeInvalidError("A task cannot be delegated to oneself.")
        task.owner = task.assignee or actor
        task.delegation_state = DelegationState.PENDING
        _hand_over(task, delegate)
        inbox_counts_refresh(task_ids=[task.pk])
        history.record_task_delegated(task, actor=actor)
    return task


def human_task_resolve(*, task_id, actor, data):
    """The delegate hands the task back to its owner with the data they worked out."""
    data = validate_data(data)
    with transaction.atomic():
        task = _locked_task(task_id, actor)
        if task.delegation_state != DelegationState.PENDING:
            raise TaskNotReadyError(f"Task {task_id} is not delegated.")
        if task.assignee_id != actor.pk:
            raise TaskClaimedError(f"Only the delegate {task.assignee.get_username()} may resolve task {task_id}.")
        owner = task.owner
        task.delegation_state = DelegationState.RESOLVED
        task.draft_data = {**task.draft_data, **data}
        _hand_over(task, owner)
        inbox_counts_refresh(task_ids=[task.pk])
        history.record_task_resolved(task, actor=actor)
    return task


def _require_fits_form(task, data):
    form = task_form(task.instance.definition.element_catalog, task.element_id)
    errors = form_errors(form["schema"], data) if form else {}
    if errors:
        raise TaskFormInvalidError(errors)


def human_task_complete(*, task_id, actor, data):
    """Complete a task with the officer's data and run the process on to its next wait.

    An unclaimed task is claimed for the actor first. A task claimed by someone else, delegated, or
    no longer open is refused; so a second completion never happens. The data (with any draft a
    delegate left) must fit the task's form, if it has one: else ``TaskFormInvalidError`` and nothing
    changes.
    """
    data = validate_data(data)
    with transaction.atomic(), history.written_together():
        task = _locked_task(task_id, actor)
        instance = task.instance
        if instance.status != InstanceStatus.RUNNING:
            raise InstanceNotRunningError(f"Instance {instance.pk} is {instance.status}.")
        _require_not_delegated(task)
        if task.status == HumanTaskStatus.CLAIMED and task.assignee_id != actor.pk:
            raise TaskClaimedError(f"Task {task_id} is claimed by {task.assignee.get_username()}.")
        if task.status == HumanTaskStatus.READY:
            _require_workable(task, actor)
        data = {**task.draft_data, **data}
        _require_fits_form(task, data)
        if task.status == HumanTaskStatus.READY:
            _set_assignee(task, actor)
            history.record_task_claimed(task, actor=actor)
        runtime = runtime_of(instance)
        result = runtime.complete_human_task(task.spiff_task_id, data)
        pending_timers = instance_pending_timers(instance)
        closed_task_ids = None  # not finished: claimed maybe, still open
        if any(activity.task_id == task.spiff_task_id for activity in result.finished):
            closed_task_ids = [task.pk]
            task.status = HumanTaskStatus.COMPLETED
            task.completed_at = timezone.now()
            task.completed_by = actor
            task.completion_data = data
            save_fields(task, ["status", "completed_at", "completed_by", "completion_data"])
            close_offers(task)
            history.record_task_completed(task, actor=actor)
            cancel_task_deadlines(task, reason="The task was completed.", pending_timers=pending_timers)
        save_step(instance, runtime, result, actor=actor, closed_task_ids=closed_task_ids,
                  pending_timers=pending_timers)
    return task
