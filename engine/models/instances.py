"""Process instances: one per application, holding its SpiffWorkflow state (without the spec)."""

from django.conf import settings
from django.db import models
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
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="applications",
        help_text="The citizen the application belongs to: they work its tasks in an applicant lane.",
    )
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    promised_at = models.DateTimeField(
        null=True, blank=True, help_text="When the service standard promises the result (from the service level)."
    )
    clock_paused_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the service-level clock's open pause began (its ClockPause row); empty while the clock runs.",
    )

    class Meta:
        indexes = [models.Index(fields=["status", "started_at"], name="instance_status_started")]

    def __str__(self):
        return f"{self.process_key} #{self.pk} ({self.status})"
