"""Uploading BPMN through the REST API on PostgreSQL: bad files answer 400 with lines, attacks 400 at once."""

import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from processes.models import ProcessDefinition
from tests.conftest import fixture_bytes

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
URL = "/api/v1/process-definitions/"
XML_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "xml"


def _upload(client, content, name="process.bpmn"):
    return client.post(URL, {"file": SimpleUploadedFile(name, content, "application/xml")}, format="multipart")


@pytest.mark.parametrize(
    ("fixture", "line", "element_id"),
    [
        ("invalid/missing_target.bpmn", 5, "flow_nowhere"),
        ("invalid/bad_script.bpmn", 7, "steal"),
        ("invalid/not_xml.bpmn", 5, None),
    ],
)
def test_invalid_bpmn_answers_400_with_line_numbers(analyst_client, fixture, line, element_id):
    """An invalid BPMN upload answers 400 whose errors name the line (and element) and deploys nothing."""
    response = _upload(analyst_client, fixture_bytes(fixture))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "definition_invalid"
    assert any(error["line"] == line and error["element_id"] == element_id for error in body["errors"]), body
    assert not ProcessDefinition.objects.exists()


LOLS = b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(2, 10))


@pytest.mark.parametrize(
    "payload",
    [
        (XML_FIXTURES / "xxe_passwd.bpmn").read_bytes(),
        (XML_FIXTURES / "billion_laughs.bpmn").read_bytes(),
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</definitions>',
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>'
        b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>',
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol1 "'
        + b"lol" * 10
        + b'">'
        + LOLS
        + b']><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;</definitions>',
    ],
    ids=["xxe-fixture", "billion-laughs-fixture", "external-entity", "external-parameter-entity", "entity-bomb"],
)
def test_malicious_xml_answers_400_within_a_second(analyst_client, payload):
    """External entities and entity bombs answer 400 in under a second, leak no file, and deploy nothing."""
    started = time.perf_counter()
    response = _upload(analyst_client, payload)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400, response.content
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
    assert b"root:" not in response.content
    assert not ProcessDefinition.objects.exists()
