"""The inbox: one row per READY user or manual task, projected from the task tree."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone

from .instances import ProcessInstance


class HumanTaskStatus(models.TextChoices):
    READY = "ready", "Ready"
    CLAIMED = "claimed", "Claimed"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_TASK_STATUSES = (HumanTaskStatus.READY, HumanTaskStatus.CLAIMED)


class DelegationState(models.TextChoices):
    NONE = "", "Not delegated"
    PENDING = "pending", "Delegated, waiting for the delegate"
    RESOLVED = "resolved", "Resolved by the delegate"


class HumanTask(models.Model):
    """A user or manual task waiting for a person: one row per READY SpiffWorkflow task."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="human_tasks")
    agency = models.ForeignKey("engine.Agency", on_delete=models.PROTECT, related_name="human_tasks")
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
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_tasks",
        help_text="Who delegated the task and gets it back when the delegate resolves it.",
    )
    delegation_state = models.CharField(max_length=16, choices=DelegationState, default=DelegationState.NONE,
                                        blank=True)
    candidate_groups = models.ManyToManyField(Group, blank=True, related_name="candidate_tasks")
    candidate_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="candidate_tasks")
    priority = models.PositiveSmallIntegerField(default=50)
    due_at = models.DateTimeField(null=True, blank=True)
    follow_up_at = models.DateTimeField(
        null=True, blank=True, help_text="When someone should look at the task again (before it is due)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completion_data = models.JSONField(default=dict, blank=True)
    draft_data = models.JSONField(default=dict, blank=True, help_text="Data a delegate resolved the task with.")

    class Meta:
        indexes = [
            models.Index(fields=["status", "created_at"], name="humantask_status_created"),
            models.Index(fields=["process_key", "status"], name="humantask_process_status"),
            models.Index(fields=["assignee", "status"], name="humantask_assignee_status"),
            models.Index(fields=["due_at"], name="humantask_due"),
            models.Index(fields=["agency", "status"], name="humantask_agency_status"),
        ]

    def __str__(self):
        return f"{self.name or self.element_id} ({self.status})"

    @property
    def is_open(self):
        return self.status in OPEN_TASK_STATUSES
