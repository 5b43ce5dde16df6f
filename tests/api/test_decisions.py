"""Business rule tasks through the API: deploy BPMN with its DMN files, run to the end, deploy errors."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from engine.models import EventType, HistoryEvent, ProcessInstance
from processes.models import ProcessDefinition
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
DEFINITIONS = "/api/v1/process-definitions/"
RULES = "business_rules/permit_rules.dmn"


def _upload(client, relative, decisions=(RULES,)):
    body = {"file": SimpleUploadedFile(relative.rsplit("/", 1)[-1], fixture_bytes(relative), "application/xml")}
    if decisions:
        body["decisions"] = [
            SimpleUploadedFile(name.rsplit("/", 1)[-1], fixture_bytes(name) if isinstance(name, str) else name[1],
                               "application/xml")
            for name in decisions
        ]
    return client.post(DEFINITIONS, body, format="multipart")


def _upload_bytes(client, relative, dmn_name, dmn_content):
    body = {
        "file": SimpleUploadedFile(relative.rsplit("/", 1)[-1], fixture_bytes(relative), "application/xml"),
        "decisions": [SimpleUploadedFile(dmn_name, dmn_content, "application/xml")],
    }
    return client.post(DEFINITIONS, body, format="multipart")


def _start(client, process, data):
    response = client.post("/api/v1/process-instances/", {"process": process, "data": data}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_camunda7_business_rule_tasks_run_to_the_end_and_are_recorded(analyst_client, officer_client, officer):
    """camunda:decisionRef with singleResult / collectEntries fills the variables; each call is a history event."""
    assert _upload(analyst_client, "business_rules/camunda7.bpmn").status_code == 201
    started = _start(officer_client, "permit_fees_c7", {"applicant_type": "business", "floor_area": 80})
    assert started["data"]["fee_decision"] == {"fee": 250000, "risk": "low"}
    assert started["data"]["documents"] == ["KTP", "NIB"]
    events = HistoryEvent.objects.filter(instance_id=started["id"], event_type=EventType.DECISION_EVALUATED)
    by_element = {event.element_id: event for event in events}
    assert set(by_element) == {"decide_fee", "decide_documents"}
    fee_event = by_element["decide_fee"]
    assert fee_event.details["decision_id"] == "permit_fee"
    assert fee_event.details["matched_rules"] == [{"index": 1, "id": "fee_small_business"}]
    assert fee_event.details["outputs"] == [{"fee": 250000, "risk": "low"}]
    assert fee_event.actor == officer and fee_event.actor_name == "officer"
    task = officer_client.get("/api/v1/tasks/", {"process": "permit_fees_c7"}).json()["results"][0]
    assert officer_client.post(f"/api/v1/tasks/{task['id']}/claim/").status_code == 200
    response = officer_client.post(f"/api/v1/tasks/{task['id']}/complete/", {"data": {}}, format="json")
    assert response.status_code == 200, response.content
    assert ProcessInstance.objects.get(pk=started["id"]).status == "completed"


def test_camunda8_called_decision_gives_value_dict_or_list(analyst_client, officer_client):
    """zeebe:calledDecision: a multi-output UNIQUE table gives a dict, a COLLECT single-output table a list."""
    assert _upload(analyst_client, "business_rules/camunda8.bpmn").status_code == 201
    started = _start(officer_client, "permit_fees_c8", {"applicant_type": "foundation", "floor_area": 500})
    assert started["status"] == "completed"
    assert started["data"]["fee_decision"] == {"fee": 0, "risk": "low"}
    assert started["data"]["documents"] == ["KTP", "Akta pendirian"]


def test_spiffarena_called_decision_merges_outputs_into_the_data(analyst_client, officer_client):
    """spiffworkflow:calledDecisionId merges the outputs; COLLECT gives a list per output."""
    assert _upload(analyst_client, "business_rules/spiffarena.bpmn").status_code == 201
    started = _start(officer_client, "permit_fees_spiff", {"applicant_type": "business", "floor_area": 120})
    assert started["status"] == "completed"
    assert (started["data"]["fee"], started["data"]["risk"]) == (600000, "high")
    assert started["data"]["document"] == ["KTP", "NIB"]


def test_evaluation_error_puts_only_that_instance_in_error(analyst_client, officer_client):
    """A failing decision (a missing input variable) is the instance's error, naming decision and line."""
    assert _upload(analyst_client, "business_rules/camunda7.bpmn").status_code == 201
    broken = _start(officer_client, "permit_fees_c7", {"applicant_type": "business"})
    fine = _start(officer_client, "permit_fees_c7", {"applicant_type": "citizen", "floor_area": 10})
    broken_row = ProcessInstance.objects.get(pk=broken["id"])
    assert broken_row.status == "error" and broken_row.error_element_id == "decide_fee"
    assert "Decision 'permit_fee'" in broken_row.error_message and "floor_area" in broken_row.error_message
    assert "permit_rules.dmn line" in broken_row.error_message
    assert ProcessInstance.objects.get(pk=fine["id"]).status == "running"
    assert HistoryEvent.objects.filter(instance_id=broken["id"], event_type=EventType.INSTANCE_ERRORED).exists()


def test_dmn_files_are_stored_and_part_of_the_checksum(analyst_client):
    """The version keeps its DMN files; another DMN content is a new version, the same one is not."""
    first = _upload(analyst_client, "business_rules/camunda7.bpmn")
    assert first.status_code == 201
    definition = ProcessDefinition.objects.get(pk=first.json()["id"])
    assert list(definition.decision_files) == ["permit_rules.dmn"]
    assert 'id="permit_fee"' in definition.decision_files["permit_rules.dmn"]
    assert _upload(analyst_client, "business_rules/camunda7.bpmn").status_code == 200
    changed = fixture_bytes(RULES).replace(b"250000", b"300000")
    second = _upload_bytes(analyst_client, "business_rules/camunda7.bpmn", "permit_rules.dmn", changed)
    assert second.status_code == 201 and second.json()["version"] == 2


def test_missing_decision_is_400_with_element_and_line(analyst_client):
    """A business rule task whose decision is in no uploaded DMN file is refused, naming the task and line."""
    response = _upload(analyst_client, "business_rules/camunda7.bpmn", decisions=())
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors[0]["element_id"] == "decide_fee" and errors[0]["line"] == 6
    assert "permit_fee" in errors[0]["message"]
    assert not ProcessDefinition.objects.exists()


def test_dmn_that_does_not_parse_is_400(analyst_client):
    """A DMN file that is not well-formed XML is refused with its name and line."""
    response = _upload_bytes(analyst_client, "business_rules/camunda7.bpmn", "broken.dmn",
                             b'<?xml version="1.0"?>\n<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/">\n<decision')
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["message"].startswith("broken.dmn:") and error["line"] == 3


def test_expression_outside_the_safe_subset_is_400_with_rule_and_line(analyst_client):
    """An output entry that calls something the restricted evaluator refuses is a deploy error."""
    content = fixture_bytes(RULES).replace(b"<text>floor_area * 5000</text>", b"<text>__import__('os')</text>")
    response = _upload_bytes(analyst_client, "business_rules/camunda7.bpmn", "permit_rules.dmn", content)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["element_id"] == "fee_large_business" and error["line"] == 22
    assert "decision 'permit_fee', rule 2" in error["message"]
