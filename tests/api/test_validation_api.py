"""The validation report over the API: 400 with every error, warnings with a deploy, dry run, stored report."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from processes.models import ProcessDefinition
from tests.conftest import fixture_bytes, library_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/process-definitions/"


def _file(fixture):
    return SimpleUploadedFile("model.bpmn", fixture_bytes(fixture), "application/xml")


def test_deploy_with_errors_is_400_with_every_error_and_the_warnings(analyst_client):
    """Errors block the deploy: 400 lists all five errors and the four warnings; nothing is stored."""
    response = analyst_client.post(URL, {"file": _file("validation/many_problems.bpmn")}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "definition_invalid"
    assert sorted(error["code"] for error in body["errors"]) == sorted([
        "script_invalid", "condition_invalid", "timer_invalid", "timer_invalid", "called_process_missing"])
    assert {warning["element_id"] for warning in body["warnings"]} == {"forgotten", "amount_gateway", "sign",
                                                                       "unchecked"}
    assert all(error["line"] and error["element_id"] for error in body["errors"])
    assert not ProcessDefinition.objects.filter(key="many_problems").exists()


def test_deploy_with_warnings_only_succeeds_and_returns_them(analyst_client):
    """Warnings do not block: 201 with `warnings`; the version keeps its report for /validation/."""
    response = analyst_client.post(URL, {"file": _file("validation/warnings_only.bpmn")}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {(warning["code"], warning["element_id"]) for warning in body["warnings"]} == {
        ("unreachable", "leftover"), ("gateway_without_default", "size"),
        ("task_without_candidates", "approve"), ("task_without_candidates", "leftover"),
    }
    stored = analyst_client.get(f"{URL}{body['id']}/validation/")
    assert stored.status_code == 200
    assert stored.json() == {"valid": True, "errors": [], "warnings": body["warnings"]}
    again = analyst_client.post(URL, {"file": _file("validation/warnings_only.bpmn")}, format="multipart")
    assert again.status_code == 200 and again.json()["warnings"] == body["warnings"]


def test_dry_run_returns_the_report_and_deploys_nothing(analyst_client):
    """POST validate/ answers 200 with the report, errors included, and creates no version."""
    response = analyst_client.post(f"{URL}validate/", {"file": _file("validation/many_problems.bpmn")},
                                   format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["valid"] is False and len(body["errors"]) == 5 and len(body["warnings"]) == 4
    assert ProcessDefinition.objects.count() == 0


def test_dry_run_of_a_valid_file_is_valid(analyst_client):
    """The bundled permit process is valid, with no warning."""
    upload = SimpleUploadedFile("permit.bpmn", library_bytes("permit_application/permit_application.bpmn"))
    response = analyst_client.post(f"{URL}validate/", {"file": upload}, format="multipart")
    assert response.json() == {"valid": True, "errors": [], "warnings": []}


def test_dry_run_is_for_analysts_only(officer_client):
    """An officer may not validate (nor deploy) models."""
    response = officer_client.post(f"{URL}validate/", {"file": _file("validation/warnings_only.bpmn")},
                                   format="multipart")
    assert response.status_code == 403


def test_dry_run_knows_the_agencys_deployed_processes(analyst_client):
    """A call to a process the agency deployed on its own is reported as not in the file."""
    content = fixture_bytes("validation/many_problems.bpmn")
    renamed = fixture_bytes("validation/warnings_only.bpmn").replace(b'id="grant_request"', b'id="archiving_process"')
    deployed = analyst_client.post(URL, {"file": SimpleUploadedFile("a.bpmn", renamed)}, format="multipart")
    assert deployed.status_code == 201
    response = analyst_client.post(f"{URL}validate/", {"file": SimpleUploadedFile("m.bpmn", content)},
                                   format="multipart")
    codes = {error["code"] for error in response.json()["errors"] if error["element_id"] == "archive"}
    assert codes == {"called_process_not_in_file"}


def test_diagram_of_a_drawn_model_uses_the_designers_positions(analyst_client):
    """A model with a BPMN DI drawing is served as drawn: the pool and the task at their DI positions."""
    deployed = analyst_client.post(URL, {"file": _file("diagram_di/collaboration.bpmn")}, format="multipart")
    assert deployed.status_code == 201, deployed.content
    response = analyst_client.get(f"{URL}{deployed.json()['id']}/diagram.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert b'<g id="pool_intake" class="participant">' in response.content
    assert b'<g id="check" class="userTask"><rect x="270" y="230"' in response.content
