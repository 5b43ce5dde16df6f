"""processes.definition_diff: the element-by-element comparison of two deployed versions."""

import pytest

from processes.definition_diff import definition_diff
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
LICENCE = fixture_bytes("service_levels/business_licence.bpmn")


def _deploy(analyst, content):
    return definition_deploy(content=content, filename="p.bpmn", actor=analyst, agency=analyst.membership.agency)[0]


def test_service_levels_conditions_and_process_promise_are_compared(analyst):
    """A shorter promise, a shorter task service level and a changed condition each appear, nothing else."""
    v1 = _deploy(analyst, LICENCE)
    v2 = _deploy(analyst, LICENCE.replace(b'value="5 hari kerja"', b'value="3 hari kerja"')
                 .replace(b'value="4 jam"', b'value="2 jam"')
                 .replace(b"documents_complete == False", b"documents_complete != True"))
    diff = definition_diff(v1, v2)
    assert diff["process"]["changes"] == {"service_level": {"from": "P5D", "to": "P3D"}}
    changed = {item["id"]: item["changes"] for item in diff["elements"]["changed"]}
    assert changed == {
        "check_documents": {"service_level": {"from": {"due": "PT4H", "escalation": "notify"},
                                              "to": {"due": "PT2H", "escalation": "notify"}}},
        "complete": {"conditions": {"from": {"f_no": "documents_complete == False"},
                                    "to": {"f_no": "documents_complete != True"}}},
    }
    assert diff["flows"]["changed"] == [{"id": "f_no", "changes": {
        "condition": {"from": "documents_complete == False", "to": "documents_complete != True"}}}]
    assert diff["elements"]["added"] == diff["elements"]["removed"] == []


def test_identical_processes_have_an_empty_diff(analyst):
    """Two versions that differ only in layout whitespace compare as equal."""
    v1 = _deploy(analyst, LICENCE)
    v2 = _deploy(analyst, LICENCE.replace(b"<bpmn:startEvent", b"\n    <bpmn:startEvent"))
    diff = definition_diff(v1, v2)
    assert diff == {
        "process": {"changes": {}},
        "elements": {"added": [], "removed": [], "changed": []},
        "flows": {"added": [], "removed": [], "changed": []},
    }
