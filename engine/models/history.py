"""History: append-only events, one per change, with who and when."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from processes.models import ProcessDefinition

from .instances import ProcessInstance
from .tasks import HumanTask


class EventType(models.TextChoices):
    DEFINITION_DEPLOYED = "definition_deployed", "Definition deployed"
    INSTANCE_STARTED = "instance_started", "Instance started"
    INSTANCE_COMPLETED = "instance_completed", "Instance completed"
    INSTANCE_ERRORED = "instance_errored", "Instance errored"
    ACTIVITY_COMPLETED = "activity_completed", "Activity completed"
    TASK_CREATED = "task_created", "Task created"
    TASK_CLAIMED = "task_claimed", "Task claimed"
    TASK_UNCLAIMED = "task_unclaimed", "Task unclaimed"
    TASK_ASSIGNED = "task_assigned", "Task assigned"
    TASK_DELEGATED = "task_delegated", "Task delegated"
    TASK_RESOLVED = "task_resolved", "Task resolved by the delegate"
    TASK_COMPLETED = "task_completed", "Task completed"
    TASK_CANCELLED = "task_cancelled", "Task cancelled"
    TASK_OVERDUE = "task_overdue", "Task passed its due date"
    TASK_ESCALATED = "task_escalated", "Task escalated"
    INSTANCE_OVERDUE = "instance_overdue", "Promised completion passed (service level breached)"
    CLOCK_PAUSED = "clock_paused", "Service-level clock paused (waiting on the applicant)"
    CLOCK_RESUMED = "clock_resumed", "Service-level clock resumed"
    TIMER_SCHEDULED = "timer_scheduled", "Timer scheduled"
    TIMER_FIRED = "timer_fired", "Timer fired"
    TIMER_CANCELLED = "timer_cancelled", "Timer cancelled"
    MESSAGE_AWAITED = "message_awaited", "Message awaited"
    MESSAGE_CORRELATED = "message_correlated", "Message correlated"
    MESSAGE_CANCELLED = "message_cancelled", "Message no longer awaited"
    DOCUMENT_ATTACHED = "document_attached", "Document attached"
    COMMENT_ADDED = "comment_added", "Comment added"
    CALENDAR_CHANGED = "calendar_changed", "Agency calendar changed"
    DECISION_EVALUATED = "decision_evaluated", "Decision evaluated (business rule task)"


class HistoryEvent(models.Model):
    """One change, append-only: who did what, when, to which instance, element and task."""

    event_type = models.CharField(max_length=32, choices=EventType)
    occurred_at = models.DateTimeField(default=timezone.now)
    definition = models.ForeignKey(
        ProcessDefinition, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    instance = models.ForeignKey(
        ProcessInstance, null=True, blank=True, on_delete=models.CASCADE, related_name="history"
    )
    human_task = models.ForeignKey(
        HumanTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="history"
    )
    element_id = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, help_text="Username at the time, or 'system'.")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["instance", "occurred_at"], name="history_instance_time"),
            models.Index(fields=["event_type", "occurred_at"], name="history_type_time"),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.event_type} by {self.actor_name}"

    def save(self, *args, **kwargs):
        # History is append-only: an event is written once and never changed.
        if not self._state.adding:
            raise ValueError("History events are append-only and cannot be changed.")
        super().save(*args, **kwargs)
