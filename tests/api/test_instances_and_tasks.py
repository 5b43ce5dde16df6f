"""The officer's round trip through the API: start, inbox, claim, complete, history, conflicts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import client_for, fixture_bytes, library_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployed(analyst_client):
    for content in (library_bytes("permit_application/permit_application.bpmn"),
                    fixture_bytes("script_error/script_error.bpmn")):
        upload = SimpleUploadedFile("p.bpmn", content, "application/xml")
        assert analyst_client.post("/api/v1/process-definitions/", {"file": upload}, format="multipart"
                                   ).status_code == 201


def _start(client, process="permit_application", data=None):
    response = client.post("/api/v1/process-instances/", {"process": process, "data": data or {}}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _inbox(client, **params):
    response = client.get("/api/v1/tasks/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_start_returns_id_status_and_tracking_code(deployed, officer_client):
    """POST process-instances answers 201 with id, running status, a tracking code and the open task."""
    body = _start(officer_client, data={"applicant": "Budi"})
    assert body["status"] == "running" and body["tracking_code"]
    assert [task["element_id"] for task in body["open_tasks"]] == ["check_completeness"]
    assert body["data"] == {"applicant": "Budi"}


def test_unknown_process_is_404_and_bad_data_is_400(deployed, officer_client):
    """Starting an unknown key is 404; data that is not an object, or malformed JSON, is 400."""
    assert officer_client.post("/api/v1/process-instances/", {"process": "nope"}, format="json").status_code == 404
    bad = officer_client.post("/api/v1/process-instances/", {"process": "permit_application", "data": [1]},
                              format="json")
    assert bad.status_code == 400
    malformed = officer_client.post("/api/v1/process-instances/", data="{not json",
                                    content_type="application/json")
    assert malformed.status_code == 400


def test_inbox_shows_group_tasks_and_hides_others(deployed, officer_client, outsider, applicant):
    """Officers see their lane's tasks; a user of another group sees none; filters by process and status work."""
    _start(officer_client)
    _start(officer_client)
    inbox = _inbox(officer_client, process="permit_application", status="ready")
    assert len(inbox["results"]) == 2
    assert {task["name"] for task in inbox["results"]} == {"Check documents are complete"}
    assert _inbox(client_for(outsider))["results"] == []
    assert _inbox(client_for(applicant))["results"] == []
    assert _inbox(officer_client, process="fee_calculation")["results"] == []


def test_inbox_is_paginated_and_sorted(deployed, officer_client):
    """page_size limits the page; ordering by -created_at gives the newest first."""
    first = _start(officer_client)
    second = _start(officer_client)
    page = _inbox(officer_client, page_size=1, ordering="-created_at")
    assert len(page["results"]) == 1 and page["next"]
    assert page["results"][0]["instance_id"] == second["id"]
    assert _inbox(officer_client, ordering="created_at")["results"][0]["instance_id"] == first["id"]
    assert len(_inbox(officer_client, ordering="due_at")["results"]) == 2


def test_claim_complete_and_history(deployed, officer_client, officer):
    """Claim then complete moves the process on; history lists each step with its actor."""
    instance = _start(officer_client)
    task_id = _inbox(officer_client)["results"][0]["id"]
    claimed = officer_client.post(f"/api/v1/tasks/{task_id}/claim/")
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "officer"
    done = officer_client.post(f"/api/v1/tasks/{task_id}/complete/", {"data": {"documents_complete": True}},
                               format="json")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert done.json()["completed_by"] == "officer"
    detail = officer_client.get(f"/api/v1/process-instances/{instance['id']}/").json()
    assert {task["element_id"] for task in detail["open_tasks"]} == {"technical_review", "legal_review"}
    history = officer_client.get(f"/api/v1/process-instances/{instance['id']}/history/").json()["results"]
    kinds = [(event["event_type"], event["actor"]) for event in history]
    assert ("task_claimed", "officer") in kinds and ("task_completed", "officer") in kinds
    assert kinds[0] == ("instance_started", "officer")


def test_second_completion_is_409(deployed, officer_client):
    """Completing a completed task answers 409 and does not complete it again."""
    _start(officer_client)
    task_id = _inbox(officer_client)["results"][0]["id"]
    url = f"/api/v1/tasks/{task_id}/complete/"
    assert officer_client.post(url, {"data": {"documents_complete": True}}, format="json").status_code == 200
    again = officer_client.post(url, {"data": {}}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "task_not_ready"
    assert officer_client.post(f"/api/v1/tasks/{task_id}/claim/").status_code == 409


def test_claim_by_another_officer_is_409(deployed, officer_client, second_officer):
    """A task claimed by one officer answers 409 to another's claim."""
    _start(officer_client)
    task_id = _inbox(officer_client)["results"][0]["id"]
    officer_client.post(f"/api/v1/tasks/{task_id}/claim/")
    response = client_for(second_officer).post(f"/api/v1/tasks/{task_id}/claim/")
    assert response.status_code == 409 and response.json()["code"] == "task_claimed"


def test_outsider_cannot_see_or_complete_a_task(deployed, officer_client, outsider):
    """A user outside the candidate groups gets 404 for the task, so nothing leaks about it."""
    _start(officer_client)
    task_id = _inbox(officer_client)["results"][0]["id"]
    other = client_for(outsider)
    assert other.get(f"/api/v1/tasks/{task_id}/").status_code == 404
    assert other.post(f"/api/v1/tasks/{task_id}/complete/", {"data": {}}, format="json").status_code == 404


def test_script_error_is_visible_through_the_api(deployed, officer_client):
    """An instance whose script fails shows status error with the message and element."""
    instance = _start(officer_client, process="fee_calculation", data={"applicant": "Siti"})
    task_id = _inbox(officer_client, process="fee_calculation")["results"][0]["id"]
    officer_client.post(f"/api/v1/tasks/{task_id}/complete/", {"data": {"amount": 10**9}}, format="json")
    detail = officer_client.get(f"/api/v1/process-instances/{instance['id']}/").json()
    assert detail["status"] == "error"
    assert detail["error"]["element_id"] == "compute_fee" and "too large" in detail["error"]["message"]


def test_openapi_schema_and_docs_are_served(officer_client):
    """The OpenAPI 3 schema and the Swagger UI page are served."""
    schema = officer_client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/tasks/" in schema.content
    assert officer_client.get("/api/docs/").status_code == 200
