"""Correlating a named message into the instances waiting for it.

A message (the applicant resubmits documents, another agency replies) names what it is and a
correlation key. It reaches every waiting subscription with that name and key among the instances
the sender may address; each of those instances is locked (in pk order), the message is delivered
to its task tree, and the step is saved like any other. When none matches, nothing changes.
"""

from django.db import transaction
from django.utils import timezone

from engine import history
from engine.exceptions import MessageNotCorrelatedError
from engine.models import InstanceStatus, MessageSubscription, MessageSubscriptionStatus
from engine.selectors import message_subscription_list_for_sender

from .instances import validate_data
from .steps import locked_instance, runtime_of, save_step


def message_correlate(*, name, correlation_key, data, actor):
    """Deliver the message ``name`` with ``data`` to the instances waiting for it under ``correlation_key``.

    Returns the subscriptions that caught it (with their instances). Raises
    ``MessageNotCorrelatedError`` when none did; the transaction then rolls back whole.
    """
    data = validate_data(data)
    with transaction.atomic(), history.written_together():
        instance_ids = sorted(
            set(
                message_subscription_list_for_sender(actor)
                .filter(message_name=name, correlation_key=correlation_key)
                .values_list("instance_id", flat=True)
            )
        )
        correlated = []
        for instance_id in instance_ids:
            correlated += _deliver(instance_id, name=name, correlation_key=correlation_key, data=data, actor=actor)
        if not correlated:
            raise MessageNotCorrelatedError(
                f"No instance you may address is waiting for the message '{name}' "
                f"with the correlation key '{correlation_key}'."
            )
    return correlated


def _deliver(instance_id, *, name, correlation_key, data, actor):
    """Deliver to one instance under its lock; the subscriptions that caught the message."""
    instance = locked_instance(instance_id)
    if instance.status != InstanceStatus.RUNNING:
        return []
    subscriptions = list(
        MessageSubscription.objects.filter(
            instance=instance,
            message_name=name,
            correlation_key=correlation_key,
            status=MessageSubscriptionStatus.WAITING,
        ).order_by("pk")
    )
    if not subscriptions:  # another sender got here first
        return []
    runtime = runtime_of(instance)
    result = runtime.deliver_message(name, data)
    if result is None:
        return []
    still_waiting = {message.task_id for message in runtime.waiting_messages() if message.message_name == name}
    caught = [subscription for subscription in subscriptions if subscription.spiff_task_id not in still_waiting]
    now = timezone.now()
    for subscription in caught:
        subscription.instance = instance
        subscription.status = MessageSubscriptionStatus.CORRELATED
        subscription.correlated_at = now
        subscription.save(update_fields=["status", "correlated_at"])
        history.record_message_correlated(subscription, actor=actor, data_keys=data.keys())
    save_step(instance, runtime, result, actor=actor, closed_task_ids=[])
    return caught
