"""Append-only history: one small function per kind of event.

Every state change the engine makes goes through one of these, so history, audit, analytics and the
citizen's status page all read the same record of who did what and when.

The services that run a step record a handful of events each (the task completed, the activities the
engine finished, the next task created, its deadline scheduled, ...). Inside ``written_together()`` those
are kept and inserted in one statement when the block ends, in the order they were recorded, so their
ids and order are what one insert each would have given. The block sits inside the service's
transaction: when the service fails, nothing is written, as before.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

from .models import EventType, HistoryEvent
from .prepared import insert_rows

SYSTEM_ACTOR = "system"
_PENDING = ContextVar("engine_history_pending", default=None)


@contextmanager
def written_together():
    """Events recorded inside the block are inserted together at its end (nested blocks join the outer one).

    Only inside a transaction, and with nothing inside the block reading history back.
    """
    if _PENDING.get() is not None:
        yield
        return
    pending = []
    token = _PENDING.set(pending)
    try:
        yield
    finally:
        _PENDING.reset(token)
    insert_rows(pending)  # not reached when the block raised: the transaction rolls back


def _write(events):
    """Insert ``events`` now, or at the end of the ``written_together()`` block around this call."""
    pending = _PENDING.get()
    if pending is not None:
        pending.extend(events)
    elif len(events) == 1:
        events[0].save()
    elif events:
        HistoryEvent.objects.bulk_create(events)
    return events


def _record(event_type, *, actor, instance=None, definition=None, human_task=None, element_id="", details=None,
            occurred_at=None):
    (event,) = _write([HistoryEvent(
        event_type=event_type,
        occurred_at=occurred_at or timezone.now(),
        definition=definition if definition is not None else getattr(instance, "definition", None),
        instance=instance,
        human_task=human_task,
        element_id=element_id,
        actor=actor,
        actor_name=actor.get_username() if actor is not None else SYSTEM_ACTOR,
        details=details or {},
    )])
    return event


def record_definition_deployed(definition, *, actor):
    return _record(
        EventType.DEFINITION_DEPLOYED,
        actor=actor,
        definition=definition,
        details={"key": definition.key, "version": definition.version, "sha256": definition.sha256},
    )


def record_instance_started(instance, *, actor):
    return _record(
        EventType.INSTANCE_STARTED,
        actor=actor,
        instance=instance,
        details={"process": instance.process_key, "version": instance.definition.version},
    )


def record_instance_completed(instance, *, actor):
    return _record(EventType.INSTANCE_COMPLETED, actor=actor, instance=instance)


def record_instance_errored(instance, *, actor, message, element_id):
    return _record(
        EventType.INSTANCE_ERRORED,
        actor=actor,
        instance=instance,
        element_id=element_id or "",
        details={"message": message},
    )


def _record_per_activity(event_type, instance, activities, *, actor, details_of):
    """One ``event_type`` event per activity, in order, written in one statement."""
    now = timezone.now()
    _write([
        HistoryEvent(
            event_type=event_type,
            occurred_at=now,
            definition_id=instance.definition_id,
            instance=instance,
            element_id=activity.element_id,
            actor=actor,
            actor_name=actor.get_username() if actor is not None else SYSTEM_ACTOR,
            details=details_of(activity),
        )
        for activity in activities
    ])


def record_activities_completed(instance, activities, *, actor):
    """One event per BPMN element the engine finished (events, gateways, scripts, tasks), in order."""
    _record_per_activity(
        EventType.ACTIVITY_COMPLETED, instance, activities, actor=actor,
        details_of=lambda activity: {"name": activity.name, "element_type": activity.element_type},
    )


def record_decisions_evaluated(instance, activities, *, actor):
    """One event per business rule task among ``activities``: decision id, matched rules and outputs."""
    _record_per_activity(
        EventType.DECISION_EVALUATED, instance,
        [activity for activity in activities if getattr(activity, "decision", None)],
        actor=actor, details_of=lambda activity: activity.decision,
    )


def record_task_created(task, *, details=None):
    """``details`` adds to name and lane what the task's set-up reported (problems, warnings)."""
    return _record(
        EventType.TASK_CREATED,
        actor=None,
        instance=task.instance,
        human_task=task,
        element_id=task.element_id,
        details={"name": task.name, "lane": task.lane, **(details or {})},
        occurred_at=task.created_at,
    )


def record_task_claimed(task, *, actor):
    return _record(
        EventType.TASK_CLAIMED, actor=actor, instance=task.instance, human_task=task, element_id=task.element_id
    )


def record_task_unclaimed(task, *, actor, previous_assignee):
    return _record(
        EventType.TASK_UNCLAIMED,
        actor=actor,
        instance=task.instance,
        human_task=task,
        element_id=task.element_id,
        details={"previous_assignee": previous_assignee},
    )


def record_task_assigned(task, *, actor, previous_assignee):
    return _record(
        EventType.TASK_ASSIGNED,
        actor=actor,
        instance=task.instance,
        human_task=task,
        element_id=task.element_id,
        details={"assignee": _username(task.assignee), "previous_assignee": previous_assignee},
    )


def record_task_delegated(task, *, actor):
    return _record(
        EventType.TASK_DELEGATED,
        actor=actor,
        instance=task.instance,
        human_task=task,
        element_id=task.element_id,
        details={"owner": _username(task.owner), "delegate": _username(task.assignee)},
    )


def record_task_resolved(task, *, actor):
    return _record(
        EventType.TASK_RESOLVED,
        actor=actor,
        instance=task.instance,
        human_task=task,
        element_id=task.element_id,
        details={"owner": _username(task.owner), "data": task.draft_data},
    )


def _username(user):
    return user.get_username() if user is not None else None


def record_task_completed(task, *, actor):
    return _record(
        EventType.TASK_COMPLETED,
        actor=actor,
        instance=task.instance,
        human_task=task,
        element_id=task.element_id,
        details={"data": task.completion_data},
    )


def record_task_cancelled(task, *, reason):
    return _record(
        EventType.TASK_CANCELLED,
        actor=None,
        instance=task.instance,
        human_task=task,
        element_id=task.element_id,
        details={"reason": reason},
    )


def record_timer_scheduled(timer):
    return _record(
        EventType.TIMER_SCHEDULED,
        actor=None,
        instance=timer.instance,
        definition=timer.definition,
        element_id=timer.element_id,
        details={"kind": timer.kind, "timer_type": timer.timer_type, "due_at": timer.due_at.isoformat()},
    )


def record_timer_fired(timer):
    lateness = (timer.fired_at - timer.due_at).total_seconds()
    return _record(
        EventType.TIMER_FIRED,
        actor=None,
        instance=timer.instance,
        definition=timer.definition,
        element_id=timer.element_id,
        details={"kind": timer.kind, "due_at": timer.due_at.isoformat(), "lateness_seconds": round(lateness, 3)},
        occurred_at=timer.fired_at,
    )


def record_timer_cancelled(timer, *, reason):
    return _record(
        EventType.TIMER_CANCELLED,
        actor=None,
        instance=timer.instance,
        definition=timer.definition,
        element_id=timer.element_id,
        details={"reason": reason},
    )


def record_document_attached(document, *, actor):
    return _record(
        EventType.DOCUMENT_ATTACHED,
        actor=actor,
        instance=document.instance,
        human_task=document.human_task,
        element_id=document.human_task.element_id if document.human_task else "",
        details={
            "document_id": document.pk,
            "filename": document.filename,
            "size": document.size,
            "sha256": document.sha256,
            "content_type": document.content_type,
        },
        occurred_at=document.created_at,
    )


def record_comment_added(comment, *, actor):
    """The text is never copied here: history is readable by the applicant, and an internal comment's
    text must stay with staff. The comment row is the record of what was written."""
    return _record(
        EventType.COMMENT_ADDED,
        actor=actor,
        instance=comment.instance,
        human_task=comment.human_task,
        element_id=comment.human_task.element_id if comment.human_task else "",
        details={"comment_id": comment.pk, "internal": comment.internal, "length": len(comment.text)},
        occurred_at=comment.created_at,
    )


def record_message_awaited(subscription):
    return _record(
        EventType.MESSAGE_AWAITED,
        actor=None,
        instance=subscription.instance,
        element_id=subscription.element_id,
        details={"name": subscription.message_name, "kind": subscription.kind},
        occurred_at=subscription.created_at,
    )


def record_message_correlated(subscription, *, actor, data_keys):
    """The message's keys are recorded, not its values: they may hold what only the instance should keep."""
    return _record(
        EventType.MESSAGE_CORRELATED,
        actor=actor,
        instance=subscription.instance,
        element_id=subscription.element_id,
        details={"name": subscription.message_name, "key": subscription.correlation_key,
                 "data_keys": sorted(data_keys)},
        occurred_at=subscription.correlated_at,
    )


def record_message_cancelled(subscription, *, reason):
    return _record(
        EventType.MESSAGE_CANCELLED,
        actor=None,
        instance=subscription.instance,
        element_id=subscription.element_id,
        details={"name": subscription.message_name, "reason": reason},
    )


def record_task_overdue(task):
    return _record(
        EventType.TASK_OVERDUE,
        actor=None,
        instance=task.instance,
        human_task=task,
        element_id=task.element_id,
        details={"due_at": task.due_at.isoformat() if task.due_at else None},
    )


def record_task_escalated(task, *, action, details):
    return _record(
        EventType.TASK_ESCALATED,
        actor=None,
        instance=task.instance,
        human_task=task,
        element_id=task.element_id,
        details={"action": action, **details},
    )


def record_instance_overdue(instance, *, promised_at):
    return _record(
        EventType.INSTANCE_OVERDUE,
        actor=None,
        instance=instance,
        details={"promised_at": promised_at.isoformat() if promised_at else None},
    )


def record_clock_paused(instance, pause):
    return _record(
        EventType.CLOCK_PAUSED, actor=None, instance=instance, occurred_at=pause.started_at,
        details={"waiting_on": pause.reason},
    )


def record_clock_resumed(instance, pause, *, paused_working_seconds):
    return _record(
        EventType.CLOCK_RESUMED, actor=None, instance=instance, occurred_at=pause.ended_at,
        details={"paused_working_seconds": paused_working_seconds,
                 "promised_at": instance.promised_at.isoformat() if instance.promised_at else None},
    )


def record_calendar_changed(agency, *, actor, change, details=None):
    """An agency's calendar changed (``change``: settings_updated, closure_added, closure_removed).

    The event belongs to no definition or instance; ``details`` name the agency and what changed."""
    return _record(
        EventType.CALENDAR_CHANGED,
        actor=actor,
        details={"agency": agency.code, "change": change, **(details or {})},
    )


def record_instance_migrated(instance, *, actor, source, target, changes):
    """The instance moved from version ``source`` to ``target`` (definitions); ``changes`` says what moved."""
    return _record(
        EventType.INSTANCE_MIGRATED,
        actor=actor,
        instance=instance,
        definition=target,
        details={
            "from": {"definition": source.pk, "version": source.version},
            "to": {"definition": target.pk, "version": target.version},
            **changes,
        },
    )
