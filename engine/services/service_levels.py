"""Service levels at run time: promised dates, task due dates, stopped clocks, escalations.

Called from the services' transactions (instance row locked):

- ``instance_promise`` when an instance starts: its promised completion from the process's
  service level, counted in working time on the agency's calendar, with an ``instance_due`` timer.
- ``task_due_at`` when a task is created without a due date of its own: its service level.
  ``schedule_task_deadline`` watches every task that has a due date with a ``task_due`` timer.
- ``reschedule_business_timers`` before a step's state is saved: timer events marked as business
  time come due after that much working time, not wall-clock time.
- ``sync_clock`` after a step: while the process waits on the applicant (an applicant-lane task,
  or an element marked ``pausesServiceLevel``), the clock stands still; when the wait ends the
  promised date moves on by the working time the wait took.
- ``deadline_fire`` when a deadline timer fires (exactly once, by the timer sweeper): the task is
  flagged overdue and escalated as configured, or the instance's service level is recorded breached.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from engine import history
from engine.agencies import resolve_group
from engine.calendars.for_agency import calendar_for_agency
from engine.exceptions import ScriptError
from engine.models import (
    OPEN_TASK_STATUSES,
    ClockPause,
    DelegationState,
    HumanTask,
    HumanTaskStatus,
    InstanceStatus,
    Membership,
    Notification,
    Role,
    Timer,
    TimerKind,
    TimerStatus,
)
from engine.prepared import insert_rows, save_fields
from engine.selectors import human_task_offer_forget

from .inbox_counts import inbox_counts_refresh


def _levels(instance):
    return instance.definition.service_levels or {}


def _calendar(instance):
    return calendar_for_agency(instance.definition.agency)


def _schedule(instance, kind, due_at, element_id, human_task=None):
    (timer,) = insert_rows([Timer(
        definition=instance.definition, instance=instance, human_task=human_task, element_id=element_id,
        kind=kind, timer_type="deadline", due_at=due_at,
    )])
    history.record_timer_scheduled(timer)
    return timer


def _cancel(timers, reason, instance):
    cancel_timers(timers.filter(status=TimerStatus.PENDING), reason, instance)


def cancel_timers(timers, reason, instance):
    """Cancel the pending timer rows ``timers`` of ``instance`` (locked and loaded), with their history."""
    for timer in timers:
        timer.instance = instance  # already locked and loaded: the history needs no query for it
        if timer.definition_id == instance.definition_id:
            timer.definition = instance.definition
        timer.status = TimerStatus.CANCELLED
        save_fields(timer, ["status"])
        history.record_timer_cancelled(timer, reason=reason)


# --- promised completion and task due dates ---


def instance_promise(instance):
    """Set the instance's promised completion from the process's service level (if it has one); the
    start's ``save_step`` saves the instance."""
    level = _levels(instance).get("process")
    if not level:
        return
    instance.promised_at = _calendar(instance).add_business_duration(instance.started_at, level)
    _schedule(instance, TimerKind.INSTANCE_DUE, instance.promised_at, instance.process_key)


def task_due_at(instance, element_id, created_at):
    """The due date a task's own service level gives it, or None."""
    level = _levels(instance).get("tasks", {}).get(element_id)
    if not level:
        return None
    return _calendar(instance).add_business_duration(created_at, level)


def schedule_task_deadline(task):
    """Watch a task's due date: when it passes, ``deadline_fire`` flags and escalates it once."""
    if task.due_at is not None:
        _schedule(task.instance, TimerKind.TASK_DUE, task.due_at, task.element_id, human_task=task)


def cancel_task_deadlines(task, reason, *, pending_timers=None):
    """Cancel the task's deadline timers; ``pending_timers``: its instance's pending timer rows, when the
    caller read them already (then they are not read again)."""
    if pending_timers is None:
        _cancel(Timer.objects.filter(human_task=task, kind=TimerKind.TASK_DUE), reason, task.instance)
        return
    deadlines = [timer for timer in pending_timers
                 if timer.human_task_id == task.pk and timer.kind == TimerKind.TASK_DUE]
    cancel_timers(deadlines, reason, task.instance)


def cancel_instance_deadlines(instance, reason):
    """A finished (or failed) instance has no deadlines left to watch."""
    _cancel(
        Timer.objects.filter(instance=instance, kind__in=(TimerKind.TASK_DUE, TimerKind.INSTANCE_DUE)), reason, instance
    )


# --- timers counted in working time ---


def reschedule_business_timers(instance, runtime, already_scheduled):
    """Timer events marked as business time: their durations count working time from now.

    ``already_scheduled`` holds the spiff task ids that have a pending timer row, i.e. were
    rescheduled when they started waiting; only new waits are rescheduled.
    """
    business = set(_levels(instance).get("business_timers", []))
    if not business:
        return
    now = timezone.now()
    for waiting in runtime.waiting_timers():
        if waiting.element_id not in business or waiting.task_id in already_scheduled:
            continue
        if waiting.timer_type != "duration":
            continue
        try:
            value = runtime.timer_value(waiting.task_id)
        except ScriptError:
            continue  # the engine reported the expression already; keep SpiffWorkflow's own due date
        runtime.reschedule_timer(waiting.task_id, _calendar(instance).add_business_duration(now, value))


# --- stopping the clock ---


def _applicant_waits(instance, waiting_on):
    """What the instance waits on from the applicant now (element ids), if anything."""
    pauses = set(_levels(instance).get("pauses", []))
    return sorted(pauses & set(waiting_on))


def sync_clock(instance, *, waiting_on):
    """Open a pause when the process starts waiting on the applicant; close it when the wait is over.

    ``waiting_on``: the element ids of the instance's open tasks and awaited messages after the step (the
    step has just written them, so it knows them without reading them back). Whether a pause is open is
    on the instance (``clock_paused_at``): the pause row is read only to close it. ``save_step`` saves the
    instance afterwards.
    """
    if not _levels(instance).get("process"):
        return
    waits = _applicant_waits(instance, waiting_on) if instance.status == InstanceStatus.RUNNING else []
    if waits and instance.clock_paused_at is None:
        pause = ClockPause.objects.create(instance=instance, reason=", ".join(waits)[:255])
        instance.clock_paused_at = pause.started_at
        _cancel(Timer.objects.filter(instance=instance, kind=TimerKind.INSTANCE_DUE), "The clock is paused.", instance)
        history.record_clock_paused(instance, pause)
    elif not waits and instance.clock_paused_at is not None:
        instance.clock_paused_at = None
        open_pause = ClockPause.objects.filter(instance=instance, ended_at__isnull=True).first()
        if open_pause is None:
            return
        open_pause.ended_at = timezone.now()
        open_pause.save(update_fields=["ended_at"])
        paused = _calendar(instance).working_time_between(open_pause.started_at, open_pause.ended_at)
        if instance.promised_at is not None:
            if paused > timedelta():  # a pause outside working hours moves nothing (not even to the next opening)
                instance.promised_at = _calendar(instance).add_working_time(instance.promised_at, paused)
            if instance.status == InstanceStatus.RUNNING:
                _schedule(instance, TimerKind.INSTANCE_DUE, instance.promised_at, instance.process_key)
        history.record_clock_resumed(instance, open_pause, paused_working_seconds=paused.total_seconds())


# --- deadlines passing ---


def deadline_fire(timer):
    """A deadline timer came due (the instance row is locked): flag and escalate, or record the breach."""
    instance = timer.instance
    if timer.kind == TimerKind.INSTANCE_DUE:
        if instance.status == InstanceStatus.RUNNING:
            history.record_instance_overdue(instance, promised_at=instance.promised_at)
        return
    task = HumanTask.objects.select_for_update().get(pk=timer.human_task_id)
    if task.status not in OPEN_TASK_STATUSES or task.overdue_at is not None:
        return
    task.overdue_at = timezone.now()
    task.save(update_fields=["overdue_at"])
    history.record_task_overdue(task)
    _escalate(task, _levels(instance).get("escalations", {}).get(task.element_id, settings.ENGINE_DEFAULT_ESCALATION))
    inbox_counts_refresh(task_ids=[task.pk])  # flagged overdue, and maybe offered afresh


def _escalate(task, action):
    if action == "notify":
        supervisors = list(
            Membership.objects.filter(agency_id=task.agency_id, role=Role.SUPERVISOR).select_related("user")
        )
        message = f"'{task.name}' of application {task.instance.tracking_code} passed its due date."
        Notification.objects.bulk_create(
            Notification(recipient=member.user, instance=task.instance, human_task=task, kind="task_overdue",
                         message=message)
            for member in supervisors
        )
        history.record_task_escalated(task, action="notify",
                                      details={"recipients": [member.user.get_username() for member in supervisors]})
    elif action.startswith("reassign:"):
        group = resolve_group(action.split(":", 1)[1], task.agency)
        task.candidate_users.clear()
        task.candidate_groups.set([group])
        human_task_offer_forget(task)
        if task.delegation_state != DelegationState.PENDING:
            task.assignee = None
            task.claimed_at = None
            task.status = HumanTaskStatus.READY
            task.save(update_fields=["assignee", "claimed_at", "status"])
        history.record_task_escalated(task, action="reassign", details={"group": group.name})
