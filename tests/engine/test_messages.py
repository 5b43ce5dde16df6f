"""Correlating messages on the database: subscriptions, keys, delivery, and what happens when none matches."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.exceptions import MessageNotCorrelatedError, TaskDataInvalidError
from engine.models import (
    EventType,
    HistoryEvent,
    HumanTask,
    InstanceStatus,
    MessageSubscription,
    MessageSubscriptionStatus,
)
from engine.services import human_task_complete, instance_start, message_correlate, timers_fire_due
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _deploy(analyst, filename):
    content = fixture_bytes(f"messages/{filename}")
    return definition_deploy(content=content, filename=filename, actor=analyst, agency=analyst.membership.agency)[0]


@pytest.fixture
def resubmission(analyst):
    return _deploy(analyst, "document_resubmission.bpmn")


@pytest.fixture
def consultation(analyst):
    return _deploy(analyst, "agency_reply.bpmn")


def _complete(instance, element_id, actor, data=None):
    task = HumanTask.objects.get(instance=instance, element_id=element_id, status="ready")
    return human_task_complete(task_id=task.pk, actor=actor, data=data or {})


def _revision_requested(definition, officer, applicant, business_key=""):
    """An application whose documents the front office found incomplete: it waits for the resubmission."""
    instance = instance_start(definition=definition, data={}, actor=applicant, business_key=business_key)
    _complete(instance, "check_documents", officer, {"documents_complete": False})
    instance.refresh_from_db()
    return instance


def _subscriptions(instance, status=MessageSubscriptionStatus.WAITING):
    return dict(
        MessageSubscription.objects.filter(instance=instance, status=status).values_list(
            "message_name", "correlation_key"
        )
    )


def test_waiting_elements_are_projected_with_the_business_key(resubmission, officer, applicant):
    """The waiting catch event becomes a subscription keyed by the business key; the check's boundaries are gone."""
    instance = _revision_requested(resubmission, officer, applicant, business_key="IMB-2026-0042")
    assert _subscriptions(instance) == {"documents_resubmitted": "IMB-2026-0042"}
    assert _subscriptions(instance, MessageSubscriptionStatus.CANCELLED) == {
        "applicant_note": "IMB-2026-0042",
        "application_withdrawn": "IMB-2026-0042",
    }


def test_message_correlates_by_business_key(resubmission, officer, applicant):
    """The resubmission quoting the business key reaches the instance, which goes back to the check."""
    instance = _revision_requested(resubmission, officer, applicant, business_key="IMB-2026-0042")
    (subscription,) = message_correlate(
        name="documents_resubmitted", correlation_key="IMB-2026-0042", data={}, actor=applicant
    )
    assert (subscription.instance.pk, subscription.element_id) == (instance.pk, "documents_resubmitted")
    subscription.refresh_from_db()
    assert subscription.status == MessageSubscriptionStatus.CORRELATED and subscription.correlated_at
    assert HumanTask.objects.filter(instance=instance, element_id="check_documents", status="ready").exists()


def test_message_correlates_by_tracking_code_without_business_key(resubmission, officer, applicant):
    """Without a business key the tracking code is the correlation key."""
    instance = _revision_requested(resubmission, officer, applicant)
    assert _subscriptions(instance) == {"documents_resubmitted": instance.tracking_code}
    (subscription,) = message_correlate(
        name="documents_resubmitted", correlation_key=instance.tracking_code, data={}, actor=applicant
    )
    assert subscription.instance.pk == instance.pk


def test_message_data_lands_in_the_process_data(resubmission, officer, applicant):
    """The data sent with the message becomes process data the next task sees."""
    instance = _revision_requested(resubmission, officer, applicant)
    message_correlate(name="documents_resubmitted", correlation_key=instance.tracking_code,
                      data={"files": ["ktp.pdf", "imb.pdf"]}, actor=applicant)
    instance.refresh_from_db()
    assert instance.data["files"] == ["ktp.pdf", "imb.pdf"]
    assert instance.data["documents_complete"] is False


def test_correlation_is_recorded_in_history_with_the_data_keys(resubmission, officer, applicant):
    """MESSAGE_CORRELATED names the message, key and data keys (not values), by the sender, before the step."""
    instance = _revision_requested(resubmission, officer, applicant)
    message_correlate(name="documents_resubmitted", correlation_key=instance.tracking_code,
                      data={"files": ["ktp.pdf"], "note": "secret"}, actor=applicant)
    event = HistoryEvent.objects.get(instance=instance, event_type=EventType.MESSAGE_CORRELATED)
    assert event.actor_name == "applicant" and event.element_id == "documents_resubmitted"
    assert event.details == {"name": "documents_resubmitted", "key": instance.tracking_code,
                             "data_keys": ["files", "note"]}
    later = HistoryEvent.objects.filter(instance=instance, pk__gt=event.pk, event_type=EventType.ACTIVITY_COMPLETED)
    assert later.filter(element_id="documents_resubmitted").exists()


def test_second_delivery_when_nothing_waits_raises_and_changes_nothing(resubmission, officer, applicant):
    """Once caught, the same message again is not correlated: an error, and no change to the instance."""
    instance = _revision_requested(resubmission, officer, applicant)
    message_correlate(name="documents_resubmitted", correlation_key=instance.tracking_code, data={}, actor=applicant)
    instance.refresh_from_db()
    revision, events = instance.revision, HistoryEvent.objects.count()
    with pytest.raises(MessageNotCorrelatedError, match="documents_resubmitted"):
        message_correlate(name="documents_resubmitted", correlation_key=instance.tracking_code, data={},
                          actor=applicant)
    instance.refresh_from_db()
    assert instance.revision == revision and HistoryEvent.objects.count() == events


def test_unknown_key_raises_and_delivers_nowhere(resubmission, officer, applicant):
    """A key no instance waits under is an error and leaves the waiting instance as it was."""
    instance = _revision_requested(resubmission, officer, applicant)
    with pytest.raises(MessageNotCorrelatedError):
        message_correlate(name="documents_resubmitted", correlation_key="NOPE-NOPE-NOPE", data={}, actor=officer)
    assert _subscriptions(instance) == {"documents_resubmitted": instance.tracking_code}


def test_every_instance_waiting_under_the_key_gets_the_message(resubmission, officer, applicant):
    """Two applications with the same business key both catch the message."""
    first = _revision_requested(resubmission, officer, applicant, business_key="FAMILY-7")
    second = _revision_requested(resubmission, officer, applicant, business_key="FAMILY-7")
    caught = message_correlate(name="documents_resubmitted", correlation_key="FAMILY-7", data={}, actor=officer)
    assert [subscription.instance.pk for subscription in caught] == [first.pk, second.pk]


def test_boundary_timer_first_cancels_the_subscription(resubmission, officer, applicant, clock):
    """When the 14 days pass first, the application is cancelled and the message no longer reaches it."""
    instance = _revision_requested(resubmission, officer, applicant)
    clock.shift(timedelta(days=14, seconds=1))
    assert timers_fire_due() == 1
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED and instance.data["outcome"] == "cancelled"
    assert _subscriptions(instance) == {}
    assert "documents_resubmitted" in _subscriptions(instance, MessageSubscriptionStatus.CANCELLED)
    with pytest.raises(MessageNotCorrelatedError):
        message_correlate(name="documents_resubmitted", correlation_key=instance.tracking_code, data={},
                          actor=applicant)


def test_message_first_cancels_the_boundary_timer(resubmission, officer, applicant, clock):
    """The documents arriving in time cancel the 14-day deadline."""
    instance = _revision_requested(resubmission, officer, applicant)
    message_correlate(name="documents_resubmitted", correlation_key=instance.tracking_code, data={}, actor=applicant)
    assert not instance.timers.filter(status="pending").exists()
    clock.shift(timedelta(days=30))
    assert timers_fire_due() == 0


def test_completing_the_task_cancels_its_boundary_subscriptions(resubmission, officer, applicant):
    """Completing the check cancels the note and withdrawal subscriptions, with a history event each."""
    instance = instance_start(definition=resubmission, data={}, actor=applicant)
    assert set(_subscriptions(instance)) == {"applicant_note", "application_withdrawn"}
    _complete(instance, "check_documents", officer, {"documents_complete": True})
    assert _subscriptions(instance) == {}
    cancelled = HistoryEvent.objects.filter(instance=instance, event_type=EventType.MESSAGE_CANCELLED)
    assert sorted(cancelled.values_list("element_id", flat=True)) == ["applicant_note", "application_withdrawn"]


def test_interrupting_boundary_message_cancels_the_open_task(resubmission, applicant):
    """A withdrawal cancels the open check and completes the instance on the withdrawn path."""
    instance = instance_start(definition=resubmission, data={}, actor=applicant)
    message_correlate(name="application_withdrawn", correlation_key=instance.tracking_code,
                      data={"reason": "moved away"}, actor=applicant)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert HumanTask.objects.get(instance=instance, element_id="check_documents").status == "cancelled"
    assert _subscriptions(instance) == {}


def test_non_interrupting_boundary_message_keeps_the_task_open(resubmission, applicant):
    """A note runs its branch; the check stays open and the withdrawal can still come."""
    instance = instance_start(definition=resubmission, data={}, actor=applicant)
    message_correlate(name="applicant_note", correlation_key=instance.tracking_code, data={"note": "hi"},
                      actor=applicant)
    assert HumanTask.objects.get(instance=instance, element_id="check_documents").status == "ready"
    assert set(_subscriptions(instance)) == {"application_withdrawn"}


def test_declared_key_is_evaluated_on_the_process_data(consultation, officer):
    """zeebe:subscription correlationKey="=request_number" makes the request number the key of the reply."""
    instance = instance_start(definition=consultation, data={"request_number": "REQ-7"}, actor=officer)
    _complete(instance, "send_request", officer)
    assert _subscriptions(instance) == {"agency_reply": "REQ-7"}
    (subscription,) = message_correlate(name="agency_reply", correlation_key="REQ-7", data={"approved": True},
                                        actor=officer)
    assert subscription.kind == "receive"
    instance.refresh_from_db()
    assert instance.data["approved"] is True


def test_declared_key_without_a_value_falls_back_to_the_tracking_code(consultation, officer):
    """When the declared key's variable is missing, the tracking code is the key."""
    instance = instance_start(definition=consultation, data={}, actor=officer)
    _complete(instance, "send_request", officer)
    assert _subscriptions(instance) == {"agency_reply": instance.tracking_code}


def test_invalid_message_data_is_refused_before_anything_changes(resubmission, officer, applicant):
    """Data that is not a JSON object of plain values is refused like task data."""
    instance = _revision_requested(resubmission, officer, applicant)
    with pytest.raises(TaskDataInvalidError):
        message_correlate(name="documents_resubmitted", correlation_key=instance.tracking_code,
                          data={"_private": 1}, actor=applicant)
    assert _subscriptions(instance) == {"documents_resubmitted": instance.tracking_code}
