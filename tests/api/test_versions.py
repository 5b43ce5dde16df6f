"""Versions of a process through the API: list them, diff two, migrate running instances (dry run and real)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from engine.models import EventType, HistoryEvent, HumanTask, ProcessInstance, Role
from processes.services import definition_deploy
from tests.conftest import client_for, fixture_bytes, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/process-definitions/"
V1 = fixture_bytes("versions/licence_v1.bpmn")
V2 = fixture_bytes("versions/licence_v2.bpmn")


def _deploy(client, content):
    upload = SimpleUploadedFile("licence.bpmn", content, "application/xml")
    response = client.post(URL, {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def _start(client):
    response = client.post("/api/v1/process-instances/", {"process": "shop_licence"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _open_task(client, instance_id):
    tasks = client.get(f"/api/v1/process-instances/{instance_id}/").json()["open_tasks"]
    assert len(tasks) == 1, tasks
    return tasks[0]


def _complete_open_task(client, instance_id):
    task = _open_task(client, instance_id)
    assert client.post(f"/api/v1/tasks/{task['id']}/claim/").status_code == 200
    response = client.post(f"/api/v1/tasks/{task['id']}/complete/", {"data": {}}, format="json")
    assert response.status_code == 200, response.content
    return task


@pytest.fixture
def licence(analyst_client, officer_client):
    """v1 deployed; three instances waiting at register, check_docs and decide; then v2 deployed."""
    v1 = _deploy(analyst_client, V1)
    at_register = _start(officer_client)
    at_check = _start(officer_client)
    _complete_open_task(officer_client, at_check["id"])
    at_decide = _start(officer_client)
    _complete_open_task(officer_client, at_decide["id"])
    _complete_open_task(officer_client, at_decide["id"])
    v2 = _deploy(analyst_client, V2)
    return {"v1": v1, "v2": v2, "at_register": at_register["id"], "at_check": at_check["id"],
            "at_decide": at_decide["id"]}


def test_versions_lists_every_version_with_instance_counts(licence, officer_client):
    """GET versions/ lists v2 then v1 with checksum, deployer and running instances per version."""
    response = officer_client.get(f"{URL}{licence['v1']['id']}/versions/")
    assert response.status_code == 200, response.content
    versions = response.json()
    assert [(item["id"], item["version"], item["is_latest"]) for item in versions] == [
        (licence["v2"]["id"], 2, True), (licence["v1"]["id"], 1, False)]
    assert versions[1]["instance_counts"] == {"running": 3, "completed": 0, "error": 0, "cancelled": 0}
    assert versions[0]["instance_counts"]["running"] == 0
    assert versions[1]["sha256"] == licence["v1"]["sha256"] and versions[1]["deployed_by"] == "analyst"
    assert versions[0]["deployed_at"] >= versions[1]["deployed_at"]


def test_diff_lists_added_removed_and_changed_elements_and_flows(licence, officer_client):
    """GET diff/?to= names archive added, check_docs removed, decide renamed and rewired, and the flows."""
    response = officer_client.get(f"{URL}{licence['v1']['id']}/diff/", {"to": licence["v2"]["id"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["from"]["version"], body["to"]["version"], body["key"]) == (1, 2, "shop_licence")
    assert body["elements"]["added"] == [{"id": "archive", "type": "userTask", "name": "Archive the file"}]
    assert body["elements"]["removed"] == [{"id": "check_docs", "type": "userTask", "name": "Check documents"}]
    changed = {item["id"]: item["changes"] for item in body["elements"]["changed"]}
    assert set(changed) == {"decide", "register"}
    assert changed["decide"] == {"name": {"from": "Decide", "to": "Decide on the licence"},
                                 "outgoing": {"from": ["f_end"], "to": ["f_archive"]}}
    assert changed["register"] == {"outgoing": {"from": ["f_check"], "to": ["f_decide"]}}
    assert body["flows"]["added"] == [{"id": "f_archive", "source": "decide", "target": "archive", "condition": None}]
    assert body["flows"]["removed"] == [{"id": "f_check", "source": "register", "target": "check_docs",
                                         "condition": None}]
    assert body["flows"]["changed"] == [
        {"id": "f_decide", "changes": {"source": {"from": "check_docs", "to": "register"}}},
        {"id": "f_end", "changes": {"source": {"from": "decide", "to": "archive"}}},
    ]
    assert body["continues_as"] == {}


def test_diff_reports_condition_timer_script_and_catalog_changes(analyst_client):
    """Conditions, timer expressions, script text and catalog entries (priority) show up as changes."""
    base = fixture_bytes("versions/licence_v1.bpmn")
    v1 = _deploy(analyst_client, base)
    v2 = _deploy(analyst_client, base.replace(
        b'<bpmn:userTask id="decide" name="Decide" />',
        b'<bpmn:userTask id="decide" name="Decide" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        b'camunda:priority="80" />',
    ).replace(
        b'<bpmn:sequenceFlow id="f_end" sourceRef="decide" targetRef="end" />',
        b'<bpmn:sequenceFlow id="f_end" sourceRef="decide" targetRef="wait" />'
        b'<bpmn:intermediateCatchEvent id="wait" name="Cooling off"><bpmn:timerEventDefinition>'
        b'<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
        b'<bpmn:sequenceFlow id="f_count" sourceRef="wait" targetRef="count" />'
        b'<bpmn:scriptTask id="count" name="Count"><bpmn:script>decided = True</bpmn:script></bpmn:scriptTask>'
        b'<bpmn:sequenceFlow id="f_done" sourceRef="count" targetRef="end" />',
    ))
    v3 = _deploy(analyst_client, base.replace(
        b'<bpmn:userTask id="decide" name="Decide" />',
        b'<bpmn:userTask id="decide" name="Decide" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        b'camunda:priority="80" />',
    ).replace(
        b'<bpmn:sequenceFlow id="f_end" sourceRef="decide" targetRef="end" />',
        b'<bpmn:sequenceFlow id="f_end" sourceRef="decide" targetRef="wait" />'
        b'<bpmn:intermediateCatchEvent id="wait" name="Cooling off"><bpmn:timerEventDefinition>'
        b'<bpmn:timeDuration>"PT2H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
        b'<bpmn:sequenceFlow id="f_count" sourceRef="wait" targetRef="count" />'
        b'<bpmn:scriptTask id="count" name="Count"><bpmn:script>decided = False</bpmn:script></bpmn:scriptTask>'
        b'<bpmn:sequenceFlow id="f_done" sourceRef="count" targetRef="end" />',
    ))
    first = analyst_client.get(f"{URL}{v1['id']}/diff/", {"to": v2["id"]}).json()
    decide = next(item for item in first["elements"]["changed"] if item["id"] == "decide")
    assert decide["changes"]["catalog"] == {"from": None, "to": {"priority": {"text": "80", "value": 80}}}
    second = analyst_client.get(f"{URL}{v2['id']}/diff/", {"to": v3["id"]}).json()
    changed = {item["id"]: item["changes"] for item in second["elements"]["changed"]}
    assert changed == {
        "wait": {"timer": {"from": {"kind": "timeDuration", "expression": '"PT1H"'},
                           "to": {"kind": "timeDuration", "expression": '"PT2H"'}}},
        "count": {"script": {"from": "decided = True", "to": "decided = False"}},
    }
    assert second["elements"]["added"] == second["elements"]["removed"] == []


def test_diff_needs_a_version_of_the_same_process(licence, officer_client, analyst_client):
    """Without ?to= or with another process's definition the diff is 400; an unknown id is 404."""
    assert officer_client.get(f"{URL}{licence['v1']['id']}/diff/").status_code == 400
    other = _deploy(analyst_client, fixture_bytes("timers/timers.bpmn"))
    response = officer_client.get(f"{URL}{licence['v1']['id']}/diff/", {"to": other["id"]})
    assert response.status_code == 400 and "not 'shop_licence'" in response.json()["detail"]
    assert officer_client.get(f"{URL}{licence['v1']['id']}/diff/", {"to": 99999}).status_code == 404


def test_dry_run_says_which_instances_can_move_and_why_not(licence, analyst_client):
    """The dry run: register and decide can move; the one waiting at the removed check_docs cannot; nothing changes."""
    states = {row.pk: (row.state, row.revision) for row in ProcessInstance.objects.all()}
    response = analyst_client.post(f"{URL}{licence['v1']['id']}/migrate/",
                                   {"to": licence["v2"]["id"], "dry_run": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["dry_run"], body["movable"], body["migrated"]) == (True, 2, 0)
    verdicts = {item["instance_id"]: item for item in body["instances"]}
    assert [verdicts[licence[name]]["can_move"] for name in ("at_register", "at_check", "at_decide")] == [
        True, False, True]
    assert verdicts[licence["at_check"]]["reason"] == (
        "waiting at task 'Check documents' (check_docs) which version 2 removes")
    assert verdicts[licence["at_decide"]]["position"] == [{
        "element_id": "decide", "name": "Decide", "state": "ready", "target_element_id": "decide",
        "changes": ["name", "outgoing"]}]
    assert verdicts[licence["at_register"]]["reason"] is None
    assert {row.pk: (row.state, row.revision) for row in ProcessInstance.objects.all()} == states
    assert not HistoryEvent.objects.filter(event_type=EventType.INSTANCE_MIGRATED).exists()


def test_migration_moves_the_movable_and_the_moved_instance_completes_on_v2(licence, analyst_client, officer_client):
    """A real run moves two instances; the renamed open task keeps its row and claim, and the added task follows."""
    decide_task = _open_task(officer_client, licence["at_decide"])
    assert officer_client.post(f"/api/v1/tasks/{decide_task['id']}/claim/").status_code == 200
    untouched = ProcessInstance.objects.get(pk=licence["at_check"])
    response = analyst_client.post(f"{URL}{licence['v1']['id']}/migrate/",
                                   {"to": licence["v2"]["id"], "dry_run": False}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["movable"], body["migrated"]) == (2, 2)
    verdicts = {item["instance_id"]: item for item in body["instances"]}
    assert verdicts[licence["at_check"]]["migrated"] is False

    moved = officer_client.get(f"/api/v1/process-instances/{licence['at_decide']}/").json()
    assert moved["version"] == 2 and moved["definition_id"] == licence["v2"]["id"]
    task = _open_task(officer_client, licence["at_decide"])
    assert (task["id"], task["name"], task["status"], task["assignee"]) == (
        decide_task["id"], "Decide on the licence", "claimed", "officer")
    completed = officer_client.post(f"/api/v1/tasks/{task['id']}/complete/", {"data": {}}, format="json")
    assert completed.status_code == 200, completed.content
    archive = _complete_open_task(officer_client, licence["at_decide"])
    assert archive["element_id"] == "archive"
    assert officer_client.get(f"/api/v1/process-instances/{licence['at_decide']}/").json()["status"] == "completed"

    event = HistoryEvent.objects.get(instance_id=licence["at_decide"], event_type=EventType.INSTANCE_MIGRATED)
    assert event.actor_name == "analyst"
    assert event.details["from"] == {"definition": licence["v1"]["id"], "version": 1}
    assert event.details["to"] == {"definition": licence["v2"]["id"], "version": 2}
    assert event.details["tasks"] == [{"task": task["id"], "name": {"from": "Decide", "to": "Decide on the licence"}}]
    assert event.details["dropped_finished_elements"] == ["check_docs"]
    history = officer_client.get(f"/api/v1/process-instances/{licence['at_decide']}/history/").json()["results"]
    assert "instance_migrated" in [item["event_type"] for item in history]

    untouched_now = ProcessInstance.objects.get(pk=licence["at_check"])
    assert (untouched_now.definition_id, untouched_now.state, untouched_now.revision) == (
        untouched.definition_id, untouched.state, untouched.revision)
    assert not HistoryEvent.objects.filter(instance_id=licence["at_check"],
                                           event_type=EventType.INSTANCE_MIGRATED).exists()


def test_migrated_instance_at_the_start_follows_the_new_path(licence, analyst_client, officer_client):
    """The instance moved while at register goes register -> decide -> archive on v2 (check_docs is gone)."""
    analyst_client.post(f"{URL}{licence['v1']['id']}/migrate/",
                        {"to": licence["v2"]["id"], "instances": [licence["at_register"]], "dry_run": False},
                        format="json")
    steps = [_complete_open_task(officer_client, licence["at_register"])["element_id"] for _ in range(3)]
    assert steps == ["register", "decide", "archive"]
    assert ProcessInstance.objects.get(pk=licence["at_register"]).status == "completed"
    assert ProcessInstance.objects.get(pk=licence["at_decide"]).definition_id == licence["v1"]["id"]


def test_finished_and_foreign_instances_are_reported_not_moved(licence, analyst_client, officer_client):
    """Named instances that finished, run another version or another process get a reason each."""
    finished = _start(officer_client)["id"]
    for _ in range(3):
        _complete_open_task(officer_client, finished)
    other = _deploy(analyst_client, fixture_bytes("timers/timers.bpmn"))
    foreign = _start_other(officer_client, other)
    response = analyst_client.post(f"{URL}{licence['v1']['id']}/migrate/", {
        "to": licence["v2"]["id"], "instances": [foreign, 99999], "dry_run": True}, format="json")
    reasons = {item["instance_id"]: item["reason"] for item in response.json()["instances"]}
    assert reasons[foreign] == reasons[99999] == "it is not an instance of 'shop_licence' (different process key)"
    on_v2 = _start(officer_client)["id"]
    ProcessInstance.objects.filter(pk=finished).update(definition_id=licence["v1"]["id"])
    response = analyst_client.post(f"{URL}{licence['v1']['id']}/migrate/", {
        "to": licence["v2"]["id"], "instances": [finished, on_v2], "dry_run": False}, format="json")
    reasons = {item["instance_id"]: item["reason"] for item in response.json()["instances"]}
    assert reasons == {on_v2: "it runs version 2, not version 1", finished: "the instance is completed"}


def _start_other(client, definition):
    response = client.post("/api/v1/process-instances/", {"process": definition["key"]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_a_running_task_that_changed_type_blocks_the_move(licence, analyst_client):
    """v3 makes decide a manual task: the instance waiting there cannot move, the one at register can."""
    v3 = _deploy(analyst_client, V1.replace(b'<bpmn:userTask id="decide" name="Decide" />',
                                            b'<bpmn:manualTask id="decide" name="Decide" />'))
    body = analyst_client.post(f"{URL}{licence['v1']['id']}/migrate/", {"to": v3["id"]}, format="json").json()
    verdicts = {item["instance_id"]: item for item in body["instances"]}
    assert verdicts[licence["at_decide"]]["reason"] == (
        "a running task changed type: 'Decide' (decide) is a User Task here and a Manual Task in version 3")
    assert verdicts[licence["at_register"]]["can_move"] is True
    assert body["dry_run"] is True


def test_migration_to_another_process_or_the_same_version_is_400(licence, analyst_client):
    """Another process key, or the version the instances already run, answers 400 and moves nothing."""
    other = _deploy(analyst_client, fixture_bytes("timers/timers.bpmn"))
    response = analyst_client.post(f"{URL}{licence['v1']['id']}/migrate/", {"to": other["id"]}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "migration_invalid" and "different process key" in response.json()["detail"]
    same = analyst_client.post(f"{URL}{licence['v1']['id']}/migrate/", {"to": licence["v1"]["id"]}, format="json")
    assert same.status_code == 400
    assert analyst_client.post(f"{URL}{licence['v1']['id']}/migrate/", {"to": 99999}, format="json").status_code == 404
    assert analyst_client.post(f"{URL}{licence['v1']['id']}/migrate/", {}, format="json").status_code == 400


def test_only_analysts_of_the_agency_migrate(licence, other_agency, officer_client, supervisor):
    """Officers and supervisors get 403, another agency's analyst 403, anonymous 401; nothing moves."""
    url = f"{URL}{licence['v1']['id']}/migrate/"
    payload = {"to": licence["v2"]["id"], "dry_run": False}
    foreign_analyst = make_user("foreign_analyst", other_agency, Role.ANALYST)
    for client in (officer_client, client_for(supervisor), client_for(foreign_analyst)):
        response = client.post(url, payload, format="json")
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"
    assert APIClient().post(url, payload, format="json").status_code == 401
    assert APIClient().get(f"{URL}{licence['v1']['id']}/versions/").status_code == 401
    assert APIClient().get(f"{URL}{licence['v1']['id']}/diff/", {"to": licence["v2"]["id"]}).status_code == 401
    assert not ProcessInstance.objects.filter(definition_id=licence["v2"]["id"]).exists()
    assert HumanTask.objects.filter(instance_id=licence["at_decide"], name="Decide").exists()


def test_versions_of_a_process_deployed_by_a_command_have_no_deployer(agency, officer_client):
    """A version deployed by a command (no actor) lists deployed_by null; an unknown id is 404."""
    definition, _created = definition_deploy(content=V1, filename="licence.bpmn", actor=None, agency=agency)
    (version,) = officer_client.get(f"{URL}{definition.pk}/versions/").json()
    assert (version["deployed_by"], version["version"], version["agency"]) == (None, 1, "demo")
    assert officer_client.get(f"{URL}99999/versions/").status_code == 404
