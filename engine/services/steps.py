"""What every service does after the engine moved: save the state, project the inbox, timers and
message subscriptions, log it.

Called inside the service's transaction, with the instance row locked.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db.models import Subquery
from django.utils import timezone

from engine import history
from engine.dmn import parse_dmn_files
from engine.exceptions import ScriptError
from engine.expressions import sandbox
from engine.models import (
    BPMN_TIMER_KINDS,
    OPEN_TASK_STATUSES,
    HumanTask,
    HumanTaskCandidateGroup,
    HumanTaskCandidateUser,
    HumanTaskStatus,
    InstanceStatus,
    MessageSubscription,
    MessageSubscriptionStatus,
    ProcessInstance,
    Timer,
    TimerStatus,
)
from engine.prepared import PreparedRead, PreparedUpdate, insert_rows, save_fields
from engine.reference_data import pinned
from engine.spiff import ProcessRuntime, parsed_process_for
from engine.task_variables import carried_variables
from processes.dialects import engine_root
from processes.models import ProcessDefinition

from .inbox_counts import inbox_counts_deferred, inbox_counts_refresh, inbox_counts_refresh_instance
from .service_levels import (
    cancel_instance_deadlines,
    cancel_task_deadlines,
    reschedule_business_timers,
    schedule_task_deadline,
    sync_clock,
    task_due_at,
)
from .task_setup import task_offer, task_setup
from .task_variables import KnownStep, open_task_variables_deferred, project_open_task_variables

_OPENED = ContextVar("engine_steps_opened_tasks", default=None)
# The reads every step makes, compiled once per connection (``engine.prepared``).
_LOCKED_INSTANCE = PreparedRead(lambda instance_id: ProcessInstance.objects.select_for_update().filter(pk=instance_id))
_LOCKED_TASK = PreparedRead(lambda task_id: HumanTask.objects.select_for_update().filter(pk=task_id))
# The task's instance through a subquery, not a join (see ``locked_instance``).
_LOCKED_OWNER = PreparedRead(lambda task_id: ProcessInstance.objects.select_for_update().filter(
    pk=Subquery(HumanTask.objects.filter(pk=task_id).values("instance_id"))))
_CLOSE_GROUP_OFFERS = PreparedUpdate(
    lambda task_id: HumanTaskCandidateGroup.objects.filter(humantask_id=task_id, is_open=True), is_open=False)
_CLOSE_USER_OFFERS = PreparedUpdate(
    lambda task_id: HumanTaskCandidateUser.objects.filter(humantask_id=task_id, is_open=True), is_open=False)
_INSTANCE_TASKS = PreparedRead(lambda instance_id: HumanTask.objects.filter(instance_id=instance_id).order_by("pk"))
_INSTANCE_FIELDS = [field.name for field in ProcessInstance._meta.concrete_fields if not field.primary_key]
_PENDING_TIMERS = PreparedRead(
    lambda instance_id: Timer.objects.filter(instance_id=instance_id, status=TimerStatus.PENDING).order_by("pk"))
_PENDING_BPMN_TIMERS = PreparedRead(lambda instance_id: Timer.objects.filter(
    instance_id=instance_id, status=TimerStatus.PENDING, kind__in=BPMN_TIMER_KINDS).order_by("pk"))


@dataclass(frozen=True)
class OpenedTask:
    """A human task a step opened: its row, and the ids of the groups it was offered to, in offer order."""

    task: HumanTask
    group_ids: tuple


@contextmanager
def tasks_opened_observed():
    """Yields a list to which every step inside the block appends the tasks it opens (``OpenedTask``), for a
    caller that follows instances step by step (the history simulator) without reading them back. Read it
    after a service call returned: a call that failed may have appended tasks its rollback undid."""
    opened = []
    token = _OPENED.set(opened)
    try:
        yield opened
    finally:
        _OPENED.reset(token)


def parsed_process_of(definition):
    """The definition's parsed spec, from the cache (parsed from the stored file on a miss)."""
    return parsed_process_for(
        definition.sha256, definition.key, lambda: engine_root(definition.bpmn_xml.encode("utf-8"), definition.key),
        lambda: decisions_of(definition),
    )


def decisions_of(definition):
    """The decisions of the DMN files deployed with the definition (``engine.dmn.DecisionSet``)."""
    return parse_dmn_files({name: text.encode("utf-8") for name, text in (definition.decision_files or {}).items()})


def locked_instance(instance_id):
    """The instance row, locked until the transaction ends.

    Only the instance row, and without joining the definition: locked with a join (even ``FOR UPDATE
    OF self``), a row that a migration moved to another version while we waited would be re-checked by
    PostgreSQL against the old definition row and vanish (DoesNotExist). The definition is read after
    the lock, so it is the one the instance runs now, with its agency (one query; none when reference data
    is pinned and the version was read before: a deployed version never changes).
    """
    instance = _LOCKED_INSTANCE.first(instance_id)
    if instance is None:
        raise ProcessInstance.DoesNotExist(f"There is no instance {instance_id}.")
    instance.definition = definition_with_agency(instance.definition_id)
    return instance


def definition_with_agency(definition_id):
    """The process definition ``definition_id`` with its agency (``engine.reference_data``)."""
    return pinned(
        "definition", definition_id,
        lambda: ProcessDefinition.objects.select_related("agency").get(pk=definition_id),
    )


def locked_task(task_id):
    """The human task with its instance, both rows locked (instance first, as every service does), or None.

    The instance is found by a subquery on the task, not a join (see ``locked_instance``): a task never
    moves to another instance, so the id the subquery gives is the one to lock.
    """
    instance = _LOCKED_OWNER.first(task_id)
    if instance is None:
        return None
    instance.definition = definition_with_agency(instance.definition_id)
    task = _LOCKED_TASK.first(task_id)
    if task is not None:
        task.instance = instance
    return task


def runtime_of(instance):
    return ProcessRuntime.restore(parsed_process_of(instance.definition), instance.state)


def instance_pending_timers(instance):
    """The instance's pending timer rows (BPMN timers and deadlines), for a caller that passes them on to
    ``cancel_task_deadlines`` and ``save_step`` instead of letting each read its own."""
    return _PENDING_TIMERS(instance.pk)


def save_step(instance, runtime, result, *, actor, closed_task_ids=None, pending_timers=None):
    """Store the state and the projections after the engine moved, and record what happened.

    ``closed_task_ids``: the tasks the caller closed before the step, when it changed no other task row
    (an empty list when it changed none); then only the tasks closed and opened are refreshed in the
    inbox's counters, and the variables' rows are written without being read. None (the default):
    the caller may have changed any task of the instance, and all of them are checked.
    ``pending_timers``: the instance's pending timers as ``instance_pending_timers`` read them during the
    step, when the caller did (the step then does not read them again).
    """
    now = timezone.now()
    variables_before = carried_variables(instance.data) if closed_task_ids is not None else None
    history.record_activities_completed(instance, result.finished, actor=actor)
    history.record_decisions_evaluated(instance, result.finished, actor=actor)
    if pending_timers is None:
        pending_timers = _PENDING_BPMN_TIMERS(instance.pk)
    else:
        pending_timers = [timer for timer in pending_timers
                          if timer.kind in BPMN_TIMER_KINDS and timer.status == TimerStatus.PENDING]
    reschedule_business_timers(instance, runtime, {timer.spiff_task_id for timer in pending_timers})
    instance.state = runtime.dump()
    instance.data = runtime.data
    instance.revision += 1
    instance.updated_at = now
    if result.error is not None:
        instance.status = InstanceStatus.ERROR
        instance.error_message = str(result.error)
        instance.error_element_id = result.error.element_id or ""
        history.record_instance_errored(
            instance, actor=actor, message=instance.error_message, element_id=instance.error_element_id
        )
    elif runtime.is_completed:
        instance.status = InstanceStatus.COMPLETED
        instance.ended_at = now
    open_tasks, opened, cancelled_ids = _project_human_tasks(instance, runtime)
    known = None
    if closed_task_ids is not None:
        known = KnownStep(variables_before, opened, [*closed_task_ids, *cancelled_ids])
    project_open_task_variables(instance, open_tasks, known=known)
    _project_timers(instance, runtime, pending_timers)
    # A process that waits for no message has no subscription to compare with, unless the step moved the
    # instance to another version (a migration: ``closed_task_ids`` is None) whose predecessor had some.
    awaited_message_elements = set()
    if runtime.catches_messages or closed_task_ids is None:
        awaited_message_elements = _project_messages(instance, runtime)
    sync_clock(instance, waiting_on={task.element_id for task in open_tasks} | awaited_message_elements)
    # After the projections: sync_clock (and instance_promise before the step) set fields on the instance.
    save_fields(instance, _INSTANCE_FIELDS)
    if known is None:
        inbox_counts_refresh_instance(instance)
    else:
        inbox_counts_refresh(task_ids=[*known.closed_ids, *(task.pk for task in opened)])
    if instance.status != InstanceStatus.RUNNING:
        cancel_instance_deadlines(instance, reason=f"The instance is {instance.status}.")
    if instance.status == InstanceStatus.COMPLETED:
        history.record_instance_completed(instance, actor=actor)


@contextmanager
def projections_deferred():
    """For a batch writer that runs many steps in one transaction (the history simulator): the inbox's
    counters and the open tasks' variables are brought up to date once, when the block ends, for every
    task and instance the steps touched (``inbox_counts_deferred``, ``open_task_variables_deferred``).
    Open it inside the transaction: ``with transaction.atomic(), projections_deferred():``."""
    with inbox_counts_deferred(), open_task_variables_deferred():
        yield


def close_offers(task):
    """The task is closed: its offers leave the inbox's partial indexes (``is_open`` on the offer rows)."""
    _CLOSE_GROUP_OFFERS(task.pk)
    _CLOSE_USER_OFFERS(task.pk)


def _project_human_tasks(instance, runtime):
    """Cancel the open tasks the tree no longer has ready, create the newly ready ones.

    Returns the open tasks now, the ones created, and the ids of the ones cancelled.
    """
    ready = {task.task_id: task for task in runtime.ready_human_tasks()}
    still_open, opened, cancelled_ids = [], [], []
    # One read: the instance's task rows, open ones and any a ready task already has (closed: it is not
    # created again; a ready task's row can only be its instance's). An instance has a handful.
    existing = set()
    for task in _INSTANCE_TASKS(instance.pk):
        if task.status not in OPEN_TASK_STATUSES:
            existing.add(task.spiff_task_id)
            continue
        task.instance = instance
        if task.spiff_task_id not in ready:
            task.status = HumanTaskStatus.CANCELLED
            save_fields(task, ["status"])
            close_offers(task)
            history.record_task_cancelled(task, reason="The process moved on without it.")
            cancel_task_deadlines(task, reason="The task was cancelled.")
            cancelled_ids.append(task.pk)
        else:
            still_open.append(task)
        ready.pop(task.spiff_task_id, None)
    catalog = instance.definition.element_catalog or {}
    for ready_task in ready.values():
        if ready_task.task_id not in existing:
            opened.append(_create_task(instance, runtime, ready_task, catalog.get(ready_task.element_id, {})))
    return still_open + opened, opened, cancelled_ids


def _create_task(instance, runtime, ready_task, entry):
    """The inbox row of a newly READY task, set up from its catalog entry (engine.services.task_setup)."""
    now = timezone.now()
    setup = task_setup(
        instance=instance, entry=entry, lane=ready_task.lane or "", data=runtime.task_data(ready_task.task_id),
        created_at=now,
    )
    task = HumanTask(
        instance=instance,
        agency_id=instance.definition.agency_id,
        process_key=instance.process_key,
        spiff_task_id=ready_task.task_id,
        element_id=ready_task.element_id,
        name=ready_task.name,
        lane=ready_task.lane or "",
        documentation=ready_task.documentation or "",
        created_at=now,
        priority=setup.priority,
        due_at=setup.due_at or task_due_at(instance, ready_task.element_id, now),
        follow_up_at=setup.follow_up_at,
        assignee=setup.assignee,
        status=HumanTaskStatus.CLAIMED if setup.assignee else HumanTaskStatus.READY,
        claimed_at=now if setup.assignee else None,
    )
    insert_rows([task])
    task_offer(task, setup)
    observed = _OPENED.get()
    if observed is not None:
        observed.append(OpenedTask(task, tuple(dict.fromkeys(setup.candidate_group_ids))))
    history.record_task_created(task, details=setup.history_details())
    schedule_task_deadline(task)
    if setup.assignee is not None:
        history.record_task_assigned(task, actor=None, previous_assignee=None)
    return task


def _project_timers(instance, runtime, pending_timers):
    """``pending_timers``: the instance's pending BPMN timer rows, read once by ``save_step``."""
    waiting = {timer.task_id: timer for timer in runtime.waiting_timers()}
    for timer in pending_timers:
        timer.instance = instance  # loaded and locked already: the history needs no query for it
        if timer.definition_id == instance.definition_id:
            timer.definition = instance.definition
        current = waiting.pop(timer.spiff_task_id, None)
        if current is None:
            timer.status = TimerStatus.CANCELLED
            timer.save(update_fields=["status"])
            history.record_timer_cancelled(timer, reason="The process moved on without it.")
        elif current.due_at != timer.due_at:
            timer.due_at = current.due_at
            timer.save(update_fields=["due_at"])
    for waiting_timer in waiting.values():
        timer = Timer.objects.create(
            definition=instance.definition,
            instance=instance,
            spiff_task_id=waiting_timer.task_id,
            element_id=waiting_timer.element_id,
            kind=waiting_timer.kind,
            timer_type=waiting_timer.timer_type,
            expression=waiting_timer.expression or "",
            due_at=waiting_timer.due_at,
        )
        history.record_timer_scheduled(timer)


def _project_messages(instance, runtime):
    """One waiting subscription per (task, message) the tree waits on; a stopped instance waits for none.

    Returns the element ids of the subscriptions left waiting.
    """
    waiting = {}
    waiting_elements = set()
    if instance.status == InstanceStatus.RUNNING:
        waiting = {(message.task_id, message.message_name): message for message in runtime.waiting_messages()}
    subscriptions = MessageSubscription.objects.filter(instance=instance, status=MessageSubscriptionStatus.WAITING)
    for subscription in subscriptions:
        current = waiting.pop((subscription.spiff_task_id, subscription.message_name), None)
        if current is None:
            subscription.status = MessageSubscriptionStatus.CANCELLED
            subscription.save(update_fields=["status"])
            reason = "The process moved on without it." if instance.status == InstanceStatus.RUNNING else (
                f"The instance is {instance.status}.")
            history.record_message_cancelled(subscription, reason=reason)
            continue
        waiting_elements.add(subscription.element_id)
        key = _correlation_key(instance, current)
        if key != subscription.correlation_key:
            subscription.correlation_key = key
            subscription.save(update_fields=["correlation_key"])
    for message in waiting.values():
        subscription = MessageSubscription.objects.create(
            instance=instance,
            spiff_task_id=message.task_id,
            element_id=message.element_id,
            kind=message.kind,
            message_name=message.message_name,
            correlation_key=_correlation_key(instance, message),
        )
        history.record_message_awaited(subscription)
        waiting_elements.add(subscription.element_id)
    return waiting_elements


def _correlation_key(instance, waiting_message):
    """The key a sender quotes to reach a waiting message.

    The key the model declares for the message (``zeebe:subscription correlationKey``, or a single
    SpiffWorkflow correlation property), evaluated on the process data by the restricted evaluator;
    when there is none, or it gives no value, the instance's business key, else its tracking code.
    """
    expression = waiting_message.correlation_expression
    if expression:
        try:
            value = sandbox.evaluate(expression, instance.data)
        except ScriptError:
            value = None
        if value is not None and value != "":
            return str(value)[:255]
    return instance.business_key or instance.tracking_code
