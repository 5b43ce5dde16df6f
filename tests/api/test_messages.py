"""POST /api/v1/messages/: who may send a message to which instance, and what the answers look like."""

import pytest
from rest_framework.test import APIClient

from engine.models import HumanTask
from engine.services import human_task_complete, instance_start
from processes.services import definition_deploy
from tests.conftest import client_for, fixture_bytes, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/messages/"


def _deploy(analyst, filename):
    content = fixture_bytes(f"messages/{filename}")
    return definition_deploy(content=content, filename=filename, actor=analyst, agency=analyst.membership.agency)[0]


def _complete(instance, element_id, actor, data=None):
    task = HumanTask.objects.get(instance=instance, element_id=element_id, status="ready")
    human_task_complete(task_id=task.pk, actor=actor, data=data or {})


@pytest.fixture
def waiting_for_documents(analyst, officer, applicant):
    """The applicant's application, waiting for their revised documents."""
    instance = instance_start(definition=_deploy(analyst, "document_resubmission.bpmn"), data={}, actor=applicant)
    _complete(instance, "check_documents", officer, {"documents_complete": False})
    return instance


@pytest.fixture
def waiting_for_reply(analyst, officer):
    """A consultation waiting for the other agency's reply to request REQ-7."""
    definition = _deploy(analyst, "agency_reply.bpmn")
    instance = instance_start(definition=definition, data={"request_number": "REQ-7"}, actor=officer)
    _complete(instance, "send_request", officer)
    return instance


def _send(client, name, key, data=None):
    return client.post(URL, {"name": name, "correlation_key": key, "data": data or {}}, format="json")


def test_message_answers_where_it_was_caught(waiting_for_documents, applicant):
    """200 lists instance id, tracking code and catching element of each correlated instance."""
    response = _send(client_for(applicant), "documents_resubmitted", waiting_for_documents.tracking_code,
                     {"files": ["ktp.pdf"]})
    assert response.status_code == 200, response.content
    assert response.json() == {"correlated": [{
        "instance_id": waiting_for_documents.pk,
        "tracking_code": waiting_for_documents.tracking_code,
        "element_id": "documents_resubmitted",
    }]}


def test_unknown_name_or_key_is_404(waiting_for_documents, officer_client):
    """A message name or key nobody waits for answers 404 with a clear message."""
    unknown_name = _send(officer_client, "no_such_message", waiting_for_documents.tracking_code)
    assert unknown_name.status_code == 404
    assert unknown_name.json()["code"] == "message_not_correlated"
    assert "no_such_message" in unknown_name.json()["detail"]
    assert _send(officer_client, "documents_resubmitted", "XXXX-XXXX-XXXX").status_code == 404


def test_citizen_may_message_only_their_own_application(waiting_for_documents, applicant):
    """Another citizen quoting the right tracking code gets 404 and changes nothing; the applicant gets 200."""
    stranger = make_user("stranger")
    refused = _send(client_for(stranger), "documents_resubmitted", waiting_for_documents.tracking_code)
    assert refused.status_code == 404
    assert waiting_for_documents.message_subscriptions.filter(status="waiting").count() == 1
    assert _send(client_for(applicant), "documents_resubmitted", waiting_for_documents.tracking_code
                 ).status_code == 200


def test_officer_of_another_agency_can_reply_to_a_cross_agency_step(waiting_for_reply, outsider):
    """The other agency's officer, who cannot see the instance, replies by request number and moves it on."""
    client = client_for(outsider)
    assert client.get(f"/api/v1/process-instances/{waiting_for_reply.pk}/").status_code == 404
    response = _send(client, "agency_reply", "REQ-7", {"approved": True})
    assert response.status_code == 200, response.content
    assert response.json()["correlated"][0]["element_id"] == "agency_reply"
    waiting_for_reply.refresh_from_db()
    assert waiting_for_reply.data["approved"] is True
    assert HumanTask.objects.filter(instance=waiting_for_reply, element_id="decide", status="ready").exists()


def test_anonymous_caller_is_refused(waiting_for_documents):
    """Without credentials the message is refused (401) and not delivered."""
    response = _send(APIClient(), "documents_resubmitted", waiting_for_documents.tracking_code)
    assert response.status_code == 401
    assert waiting_for_documents.message_subscriptions.filter(status="waiting").count() == 1


def test_malformed_json_and_bad_data_are_400(waiting_for_documents, officer_client):
    """Malformed JSON, data that is not an object, data with '_' keys and a missing name are 400."""
    malformed = officer_client.post(URL, data="{not json", content_type="application/json")
    assert malformed.status_code == 400
    key = waiting_for_documents.tracking_code
    not_object = officer_client.post(URL, {"name": "documents_resubmitted", "correlation_key": key, "data": [1]},
                                     format="json")
    assert not_object.status_code == 400
    private = _send(officer_client, "documents_resubmitted", key, {"_secret": 1})
    assert private.status_code == 400 and private.json()["code"] == "data_invalid"
    assert officer_client.post(URL, {"correlation_key": key}, format="json").status_code == 400
    assert waiting_for_documents.message_subscriptions.filter(status="waiting").count() == 1
