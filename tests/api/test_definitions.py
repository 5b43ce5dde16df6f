"""POST/GET /api/v1/process-definitions/: deploy, versions, errors with line numbers, diagram."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import client_for, fixture_bytes, library_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/process-definitions/"


def _upload(client, content, name="process.bpmn"):
    return client.post(URL, {"file": SimpleUploadedFile(name, content, "application/xml")}, format="multipart")


def test_deploy_returns_key_version_and_name(analyst_client):
    """A valid upload answers 201 with id, key, version 1 and the process name."""
    response = _upload(analyst_client, library_bytes("permit_application/permit_application.bpmn"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["key"], body["version"], body["name"]) == (
        "permit_application", 1, "Permit application (Permohonan izin)")
    assert isinstance(body["id"], int)


def test_identical_content_returns_the_existing_version_and_changes_make_a_new_one(analyst_client):
    """The same file again gives 200 and the same id; a changed file gives version 2."""
    content = library_bytes("permit_application/permit_application.bpmn")
    first = _upload(analyst_client, content).json()
    again = _upload(analyst_client, content)
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    changed = _upload(analyst_client, content.replace(b"Legal review", b"Legal check"))
    assert changed.status_code == 201 and changed.json()["version"] == 2
    listed = analyst_client.get(URL, {"key": "permit_application"}).json()
    assert sorted(item["version"] for item in listed["results"]) == [1, 2]


def test_running_instances_stay_on_their_version(analyst_client, officer_client):
    """An instance started on v1 keeps v1 after v2 is deployed; new starts get v2."""
    content = library_bytes("permit_application/permit_application.bpmn")
    _upload(analyst_client, content)
    old = officer_client.post("/api/v1/process-instances/", {"process": "permit_application"}).json()
    _upload(analyst_client, content.replace(b"Legal review", b"Legal check"))
    new = officer_client.post("/api/v1/process-instances/", {"process": "permit_application"}).json()
    assert officer_client.get(f"/api/v1/process-instances/{old['id']}/").json()["version"] == 1
    assert new["version"] == 2


@pytest.mark.parametrize(
    ("fixture", "line", "element_id"),
    [
        ("invalid/missing_target.bpmn", 5, "flow_nowhere"),
        ("invalid/bad_script.bpmn", 7, "steal"),
        ("invalid/not_xml.bpmn", 5, None),
    ],
)
def test_invalid_bpmn_gets_400_with_line_and_element(analyst_client, fixture, line, element_id):
    """Invalid files answer 400 with errors that name the line (and the element where known)."""
    response = _upload(analyst_client, fixture_bytes(fixture))
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert any(error["line"] == line and error["element_id"] == element_id for error in errors), errors


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</definitions>',
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1 else b"&lol;" * 10)
                   for i in range(1, 10))
        + b']><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;</definitions>',
    ],
    ids=["external-entity", "billion-laughs"],
)
def test_malicious_xml_is_refused_fast(analyst_client, payload):
    """External entities and entity expansion bombs answer 400 within a second and leak nothing."""
    started = time.perf_counter()
    response = _upload(analyst_client, payload)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    assert elapsed < 1.0
    assert b"root:" not in response.content


def test_deploying_needs_the_analyst_permission(officer_client):
    """An officer without the add-definition permission gets 403."""
    response = _upload(officer_client, library_bytes("permit_application/permit_application.bpmn"))
    assert response.status_code == 403


def test_anonymous_is_refused(client):
    """Without a token or session the API answers 401/403."""
    assert client.get(URL).status_code in (401, 403)


def test_diagram_is_svg_with_element_ids(analyst_client):
    """The diagram endpoint returns SVG whose groups carry the BPMN element ids."""
    definition = _upload(analyst_client, library_bytes("permit_application/permit_application.bpmn")).json()
    response = analyst_client.get(f"{URL}{definition['id']}/diagram.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b'id="check_completeness"' in response.content and b"<svg" in response.content


def test_token_from_drf_create_token_authenticates(analyst):
    """`manage.py drf_create_token USER` prints a token that the API accepts."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("drf_create_token", "analyst", stdout=out)
    token = out.getvalue().split()[2]
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(URL).status_code == 200
    assert client_for(analyst).get(URL).status_code == 200
