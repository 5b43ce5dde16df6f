"""Timers: due dates the sweeper watches, projected from the task tree (or a definition's start events)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from processes.models import ProcessDefinition

from .instances import ProcessInstance


class TimerKind(models.TextChoices):
    BOUNDARY = "boundary", "Boundary timer"
    INTERMEDIATE = "intermediate", "Intermediate timer catch event"
    START = "start", "Timer start event"
    TASK_DUE = "task_due", "Task service level (escalates the task when it passes)"
    INSTANCE_DUE = "instance_due", "Promised completion (marks the service level breached)"


# Timers that stand for a BPMN timer event in the task tree (the others are service-level deadlines).
BPMN_TIMER_KINDS = (TimerKind.BOUNDARY, TimerKind.INTERMEDIATE, TimerKind.START)
DEADLINE_TIMER_KINDS = (TimerKind.TASK_DUE, TimerKind.INSTANCE_DUE)


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
    human_task = models.ForeignKey(
        "engine.HumanTask", null=True, blank=True, on_delete=models.CASCADE, related_name="deadlines",
        help_text="The task a task_due timer watches.",
    )
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
