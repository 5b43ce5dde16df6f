"""Permission boundaries of the task API: other group, other agency, anonymous, managers, supervisors."""

import pytest
from rest_framework.test import APIClient

from engine.models import HumanTask, Role
from engine.services import human_task_complete, instance_start
from processes.services import definition_deploy
from tests.conftest import client_for, library_bytes, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviews(analyst, agency, applicant, officer):
    """An application past its completeness check: technical and legal review open in the Verifier lane."""
    content = library_bytes("permit_application/permit_application.bpmn")
    definition = definition_deploy(content=content, filename="p.bpmn", actor=analyst, agency=agency)[0]
    instance = instance_start(definition=definition, data={}, actor=applicant)
    check = HumanTask.objects.get(instance=instance, element_id="check_completeness")
    human_task_complete(task_id=check.pk, actor=officer, data={"documents_complete": True})
    return HumanTask.objects.filter(instance=instance, status="ready").order_by("element_id")


def test_officer_of_another_group_cannot_see_or_claim(reviews, agency):
    """A Front Office clerk of the same agency sees no Verifier task and gets 404 when trying one."""
    clerk = client_for(make_user("clerk", agency, Role.OFFICER, ["Front Office"]))
    assert clerk.get("/api/v1/tasks/").json()["results"] == []
    task = reviews.first()
    assert clerk.get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    assert clerk.post(f"/api/v1/tasks/{task.pk}/claim/").status_code == 404


def test_officer_of_another_agency_sees_nothing(reviews, outsider):
    """An officer of another agency, in groups of the same names, sees and touches nothing of ours."""
    other = client_for(outsider)
    assert other.get("/api/v1/tasks/").json()["results"] == []
    task = reviews.first()
    assert other.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {}}, format="json").status_code == 404
    assert other.get(f"/api/v1/process-instances/{task.instance_id}/").status_code == 404


def test_anonymous_gets_401_everywhere(reviews):
    """Without credentials every task endpoint answers 401."""
    anonymous = APIClient()
    task = reviews.first()
    for response in (
        anonymous.get("/api/v1/tasks/"),
        anonymous.get(f"/api/v1/tasks/{task.pk}/"),
        anonymous.post(f"/api/v1/tasks/{task.pk}/claim/"),
        anonymous.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {}}, format="json"),
    ):
        assert response.status_code == 401


def test_manager_watches_but_cannot_work(reviews, manager):
    """A manager sees the agency's tasks but claiming one is refused with 403."""
    watcher = client_for(manager)
    assert len(watcher.get("/api/v1/tasks/").json()["results"]) == 2
    response = watcher.post(f"/api/v1/tasks/{reviews.first().pk}/claim/")
    assert response.status_code == 403 and response.json()["code"] == "not_a_candidate"


def test_supervisor_assigns_through_the_api_and_officers_cannot(reviews, supervisor, officer, second_officer):
    """POST assign works for the supervisor (200) and is refused for an officer (403)."""
    task = reviews.first()
    assert client_for(officer).post(f"/api/v1/tasks/{task.pk}/assign/", {"user": "second_officer"},
                                    format="json").status_code == 403
    response = client_for(supervisor).post(f"/api/v1/tasks/{task.pk}/assign/", {"user": "second_officer"},
                                           format="json")
    assert response.status_code == 200 and response.json()["assignee"] == "second_officer"
    bad = client_for(supervisor).post(f"/api/v1/tasks/{task.pk}/assign/", {"user": "nobody"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "assignee_invalid"


def test_delegation_round_trip_through_the_api(reviews, officer, second_officer):
    """Delegate, refused completion while delegated (409), resolve by the delegate, complete by the owner."""
    task = reviews.first()
    owner, delegate = client_for(officer), client_for(second_officer)
    assert owner.post(f"/api/v1/tasks/{task.pk}/claim/").status_code == 200
    delegated = owner.post(f"/api/v1/tasks/{task.pk}/delegate/", {"user": "second_officer"}, format="json")
    assert delegated.json()["delegation_state"] == "pending" and delegated.json()["owner"] == "officer"
    blocked = delegate.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {}}, format="json")
    assert blocked.status_code == 409 and blocked.json()["code"] == "task_delegated"
    resolved = delegate.post(f"/api/v1/tasks/{task.pk}/resolve/", {"data": {"opinion": "ok"}}, format="json")
    assert resolved.json()["assignee"] == "officer" and resolved.json()["delegation_state"] == "resolved"
    done = owner.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {}}, format="json")
    assert done.status_code == 200 and done.json()["completion_data"] == {"opinion": "ok"}
