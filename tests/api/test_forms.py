"""Task forms through the API: the schema with the task, 400 with field errors, and deploy-time refusals."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from engine.models import EventType, HistoryEvent, HumanTask
from tests.conftest import FIXTURES, fixture_bytes

pytestmark = pytest.mark.django_db
DEFINITIONS = "/api/v1/process-definitions/"


def _upload(client, relative, forms=()):
    body = {"file": SimpleUploadedFile(relative.rsplit("/", 1)[-1], fixture_bytes(relative), "application/xml")}
    if forms:
        body["forms"] = [SimpleUploadedFile(name, content, "application/json") for name, content in forms]
    return client.post(DEFINITIONS, body, format="multipart")


def _start(client, process, data=None):
    response = client.post("/api/v1/process-instances/", {"process": process, "data": data or {}}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _only_task(client, process):
    results = client.get("/api/v1/tasks/", {"process": process}).json()["results"]
    assert len(results) == 1
    return results[0]


def _complete(client, task_id, data):
    return client.post(f"/api/v1/tasks/{task_id}/complete/", {"data": data}, format="json")


@pytest.fixture
def camunda_form(analyst_client, officer_client):
    assert _upload(analyst_client, "forms/camunda7_form.bpmn").status_code == 201
    _start(officer_client, "grant_application_c7")
    return _only_task(officer_client, "grant_application_c7")


def test_task_list_and_detail_return_the_form_schema_and_follow_up(camunda_form, officer_client):
    """The inbox and the task detail carry {"schema", "ui_schema"} from camunda:formData, and follow_up_at."""
    schema = camunda_form["form"]["schema"]
    assert schema["type"] == "object" and schema["required"] == ["applicant_name", "amount"]
    assert camunda_form["form"]["ui_schema"]["ui:order"][0] == "applicant_name"
    assert "follow_up_at" in camunda_form and camunda_form["follow_up_at"] is None
    detail = officer_client.get(f"/api/v1/tasks/{camunda_form['id']}/").json()
    assert detail["form"] == camunda_form["form"]


def test_task_without_form_has_form_null(analyst_client, officer_client):
    """A task whose model gives no form answers form: null."""
    assert _upload(analyst_client, "assignment/spiff_lane_owners.bpmn").status_code == 201
    _start(officer_client, "lane_owners_review", {"reviewers": ["officer"]})
    assert _only_task(officer_client, "lane_owners_review")["form"] is None


def test_invalid_data_is_400_with_field_errors_and_nothing_is_saved(camunda_form, officer_client):
    """Data that breaks the form answers 400 form_invalid with messages per field; the task is untouched."""
    response = _complete(officer_client, camunda_form["id"], {"amount": 5, "category": "sports",
                                                              "decision_date": "23/11/2026"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "form_invalid" and body["detail"]
    assert body["errors"] == {
        "amount": ["5 is less than the minimum of 100000"],
        "applicant_name": ["This field is required."],
        "category": ["Must be one of: 'education', 'health'."],
        "decision_date": ["'23/11/2026' is not a 'date'"],
    }
    task = HumanTask.objects.get(pk=camunda_form["id"])
    assert (task.status, task.assignee, task.completion_data) == ("ready", None, {})
    assert not HistoryEvent.objects.filter(human_task=task, event_type=EventType.TASK_CLAIMED).exists()


def test_valid_data_completes_the_task(camunda_form, officer_client):
    """Data that fits the form completes the task and the process runs on."""
    data = {"applicant_name": "Siti Rahayu", "amount": 2500000, "approved": True, "decision_date": "2026-11-23",
            "category": "health"}
    response = _complete(officer_client, camunda_form["id"], data)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed" and response.json()["completion_data"] == data


def test_draft_data_from_a_delegate_counts_towards_the_form(camunda_form, officer_client, second_officer):
    """A delegate's resolved draft is merged with the owner's data before the form is checked."""
    from tests.conftest import client_for

    officer_client.post(f"/api/v1/tasks/{camunda_form['id']}/claim/")
    officer_client.post(f"/api/v1/tasks/{camunda_form['id']}/delegate/", {"user": "second_officer"}, format="json")
    resolved = client_for(second_officer).post(f"/api/v1/tasks/{camunda_form['id']}/resolve/",
                                               {"data": {"applicant_name": "Siti Rahayu"}}, format="json")
    assert resolved.status_code == 200, resolved.content
    assert _complete(officer_client, camunda_form["id"], {"amount": 100000}).status_code == 200


def test_spiffarena_form_files_uploaded_as_forms_give_nested_field_errors(analyst_client, officer_client):
    """forms= files matched by the formJsonSchemaFilename property; errors name nested paths."""
    forms = [(name, (FIXTURES / "forms" / name).read_bytes())
             for name in ("enter-details-schema.json", "enter-details-uischema.json")]
    assert _upload(analyst_client, "forms/spiff_form.bpmn", forms).status_code == 201
    _start(officer_client, "grant_application_spiff")
    task = _only_task(officer_client, "grant_application_spiff")
    assert task["form"]["ui_schema"]["family_card_number"] == {"ui:help": "16 digits, no spaces"}
    response = _complete(officer_client, task["id"], {"family_card_number": "3578", "members": [{"name": "Budi"}]})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "family_card_number": ["'3578' does not match '^[0-9]{16}$'"],
        "members.0.birth_date": ["This field is required."],
    }
    good = {"family_card_number": "3578012345678901", "members": [{"name": "Budi", "birth_date": "1990-04-01"}]}
    assert _complete(officer_client, task["id"], good).status_code == 200


def test_form_file_named_after_the_task_is_matched_by_file_name(analyst_client, officer_client):
    """A forms= file called <element id>.json becomes that task's form."""
    forms = [("verify_identity.json", (FIXTURES / "forms" / "forms" / "verify_identity.json").read_bytes())]
    assert _upload(analyst_client, "forms/file_form.bpmn", forms).status_code == 201
    _start(officer_client, "identity_check")
    task = _only_task(officer_client, "identity_check")
    assert task["form"]["schema"]["required"] == ["nik", "photo_matches"] and task["form"]["ui_schema"] is None
    assert _complete(officer_client, task["id"], {}).json()["errors"] == {
        "nik": ["This field is required."], "photo_matches": ["This field is required."]}


def test_missing_or_invalid_form_file_is_400_at_deploy(analyst_client):
    """A referenced form file that is missing, or is not a valid JSON Schema, refuses the deploy."""
    missing = _upload(analyst_client, "forms/spiff_form.bpmn")
    assert missing.status_code == 400 and missing.json()["code"] == "definition_invalid"
    assert missing.json()["errors"] == [{
        "severity": "error", "code": "task_settings_invalid",
        "message": "The form file 'enter-details-schema.json' was not deployed with the model.",
        "line": 11, "element_id": "Activity_EnterDetails",
    }]
    invalid = _upload(analyst_client, "forms/file_form.bpmn", [("verify_identity.json", b'{"required": "nik"}')])
    assert invalid.status_code == 400
    [error] = invalid.json()["errors"]
    assert error["element_id"] == "verify_identity" and "is not a valid JSON Schema" in error["message"]


def test_untranslatable_expression_is_400_at_deploy_with_line_and_element(analyst_client):
    """A JUEL method call cannot be translated: 400 with the element id and line of each."""
    response = _upload(analyst_client, "assignment/untranslatable.bpmn")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(error["element_id"], error["line"]) for error in errors] == [("pick_reviewer", 8), ("schedule_visit", 13)]
    assert "cannot be translated" in errors[0]["message"]
