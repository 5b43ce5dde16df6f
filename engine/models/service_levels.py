"""Service-level records: stopped clocks and the notifications escalations send."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .instances import ProcessInstance


class ClockPause(models.Model):
    """A stretch of time the service-level clock stood still because the process waited on the applicant."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="clock_pauses")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True, help_text="What the process waited on.")

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["instance", "started_at"], name="clockpause_instance_start")]

    def __str__(self):
        return f"pause of #{self.instance_id} from {self.started_at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """A message to one user, for example a supervisor told that a task passed its due date."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    instance = models.ForeignKey(ProcessInstance, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    human_task = models.ForeignKey(
        "engine.HumanTask", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32)
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_recipient_read")]

    def __str__(self):
        return f"{self.kind} for {self.recipient}"
