"""Message subscriptions: which instance waits for which named message under which correlation key.

A projection of the task tree, rewritten with every saved step (like the inbox and the timers), so a
message can be matched to its instances with an index instead of loading every task tree.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .instances import ProcessInstance


class MessageKind(models.TextChoices):
    CATCH = "catch", "Intermediate message catch event"
    RECEIVE = "receive", "Receive task"
    BOUNDARY = "boundary", "Message boundary event"
    GATEWAY = "gateway", "Message branch of an event-based gateway"


class MessageSubscriptionStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    CORRELATED = "correlated", "Correlated"
    CANCELLED = "cancelled", "Cancelled"


class MessageSubscription(models.Model):
    """An element of an instance waiting for a message; one row per (waiting task, message name).

    ``correlation_key`` is what a sender quotes to reach it: the key the model declares for the
    message, evaluated on the process data, else the instance's business key, else its tracking code.
    """

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="message_subscriptions")
    spiff_task_id = models.UUIDField()
    element_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=MessageKind)
    message_name = models.CharField(max_length=255)
    correlation_key = models.CharField(max_length=255)
    status = models.CharField(
        max_length=16, choices=MessageSubscriptionStatus, default=MessageSubscriptionStatus.WAITING
    )
    created_at = models.DateTimeField(default=timezone.now)
    correlated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["message_name", "correlation_key", "status"], name="message_sub_lookup"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["spiff_task_id", "message_name"],
                condition=Q(status="waiting"),
                name="message_sub_one_waiting",
            ),
        ]

    def __str__(self):
        return f"{self.message_name} [{self.correlation_key}] at {self.element_id} ({self.status})"
