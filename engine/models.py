"""What the engine stores: instances (with their SpiffWorkflow state), the inbox, timers and history.

``ProcessInstance.state`` is the serialized task tree and data without the spec; the spec is parsed
from the definition's file and cached per definition (``engine.spiff.specs``). ``HumanTask`` and
``Timer`` are projections of the task tree, rewritten in the same transaction as the state, so the
inbox and the sweeper can query them with indexes. ``HistoryEvent`` is append-only.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils import timezone

from processes.models import ProcessDefinition


class InstanceStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    ERROR = "error", "Error"
    CANCELLED = "cancelled", "Cancelled"


class ProcessInstance(models.Model):
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.PROTECT, related_name="instances")
    process_key = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=16, choices=InstanceStatus, default=InstanceStatus.RUNNING)
    tracking_code = models.CharField(max_length=32, unique=True)
    business_key = models.CharField(max_length=255, blank=True, db_index=True)
    state = models.JSONField(default=dict, help_text="SpiffWorkflow task tree and data, without the spec.")
    data = models.JSONField(default=dict, help_text="The process variables as of the last step.")
    revision = models.PositiveIntegerField(default=0, help_text="Bumped on every saved step.")
    error_message = models.TextField(blank=True)
    error_element_id = models.CharField(max_length=255, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "started_at"], name="instance_status_started")]

    def __str__(self):
        return f"{self.process_key} #{self.pk} ({self.status})"


class HumanTaskStatus(models.TextChoices):
    READY = "ready", "Ready"
    CLAIMED = "claimed", "Claimed"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_TASK_STATUSES = (HumanTaskStatus.READY, HumanTaskStatus.CLAIMED)


class HumanTask(models.Model):
    """A user or manual task waiting for a person: one row per READY SpiffWorkflow task."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="human_tasks")
    process_key = models.CharField(max_length=255)
    spiff_task_id = models.UUIDField(unique=True)
    element_id = models.CharField(max_length=255)
    name = models.CharField(max_length=500, blank=True)
    lane = models.CharField(max_length=255, blank=True)
    documentation = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=HumanTaskStatus, default=HumanTaskStatus.READY)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tasks"
    )
    candidate_groups = models.ManyToManyField(Group, blank=True, related_name="candidate_tasks")
    candidate_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="candidate_tasks")
    priority = models.PositiveSmallIntegerField(default=50)
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completion_data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "created_at"], name="humantask_status_created"),
            models.Index(fields=["process_key", "status"], name="humantask_process_status"),
            models.Index(fields=["assignee", "status"], name="humantask_assignee_status"),
            models.Index(fields=["due_at"], name="humantask_due"),
        ]

    def __str__(self):
        return f"{self.name or self.element_id} ({self.status})"

    @property
    def is_open(self):
        return self.status in OPEN_TASK_STATUSES


class TimerKind(models.TextChoices):
    BOUNDARY = "boundary", "Boundary timer"
    INTERMEDIATE = "intermediate", "Intermediate timer catch event"
    START = "start", "Timer start event"


class TimerStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    FIRED = "fired", "Fired"
    CANCELLED = "cancelled", "Cancelled"


class Timer(models.Model):
    """A due date the sweeper watches. Start timers belong to a definition, the others to an instance."""

    definition = models.ForeignKey(ProcessDefinition, on_delete=models.CASCADE, related_name="timers")
    instance = models.ForeignKey(
        ProcessInstance, null=True, blank=True, on_delete=models.CASCADE, related_name="timers"
    )
    spiff_task_id = models.UUIDField(null=True, blank=True)
    element_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=TimerKind)
    timer_type = models.CharField(max_length=16, help_text="date, duration or cycle")
    expression = models.CharField(max_length=255, blank=True)
    due_at = models.DateTimeField()
    remaining_cycles = models.IntegerField(null=True, blank=True, help_text="Start cycles: -1 is unbounded.")
    status = models.CharField(max_length=16, choices=TimerStatus, default=TimerStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    fired_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a sweeper last took it.")

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"], name="timer_pending_due", condition=Q(status="pending")
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["spiff_task_id"], condition=Q(status="pending"), name="timer_one_pending_per_task"
            ),
        ]

    def __str__(self):
        return f"{self.kind} timer {self.element_id} due {self.due_at:%Y-%m-%d %H:%M} ({self.status})"


class EventType(models.TextChoices):
    DEFINITION_DEPLOYED = "definition_deployed", "Definition deployed"
    INSTANCE_STARTED = "instance_started", "Instance started"
    INSTANCE_COMPLETED = "instance_completed", "Instance completed"
    INSTANCE_ERRORED = "instance_errored", "Instance errored"
    ACTIVITY_COMPLETED = "activity_completed", "Activity completed"
    TASK_CREATED = "task_created", "Task created"
    TASK_CLAIMED = "task_claimed", "Task claimed"
    TASK_UNCLAIMED = "task_unclaimed", "Task unclaimed"
    TASK_COMPLETED = "task_completed", "Task completed"
    TASK_CANCELLED = "task_cancelled", "Task cancelled"
    TIMER_SCHEDULED = "timer_scheduled", "Timer scheduled"
    TIMER_FIRED = "timer_fired", "Timer fired"
    TIMER_CANCELLED = "timer_cancelled", "Timer cancelled"


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
