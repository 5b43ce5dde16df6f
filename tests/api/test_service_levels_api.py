"""Service levels through the API: promised date on tracking and instance, overdue flag, notifications."""

from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from engine.models import HumanTask
from engine.services import instance_start, timers_fire_due
from processes.services import definition_deploy
from tests.conftest import client_for, fixture_bytes

pytestmark = pytest.mark.django_db
FRIDAY_BEFORE_HOLIDAY = datetime(2026, 8, 14, 7, 0, tzinfo=UTC)  # 14:00 in Jakarta


@pytest.fixture
def clock():
    with time_machine.travel(FRIDAY_BEFORE_HOLIDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def application(analyst, agency, applicant, clock):
    content = fixture_bytes("service_levels/business_licence.bpmn")
    definition = definition_deploy(content=content, filename="l.bpmn", actor=analyst, agency=agency)[0]
    return instance_start(definition=definition, data={}, actor=applicant)


def test_tracking_shows_the_promised_completion(application):
    """The citizen's tracking page gives the promised date: Monday 24 August 2026, 16:00 in Jakarta."""
    body = APIClient().get(f"/api/v1/track/{application.tracking_code}/").json()
    assert body["promised_completion_at"] == "2026-08-24T16:00:00+07:00"


def test_instance_detail_has_the_service_level_clock(application, officer):
    """The instance detail reports the level, the promise and the counted time."""
    body = client_for(officer).get(f"/api/v1/process-instances/{application.pk}/").json()
    assert body["service_level"]["service_level"] == "P5D"
    assert body["service_level"]["promised_at"] == "2026-08-24T16:00:00+07:00"
    assert body["service_level"]["breached"] is False


def test_overdue_task_is_flagged_in_the_inbox_and_supervisor_notified(application, officer, supervisor, clock):
    """Past its due date the task shows is_overdue in the inbox; the supervisor gets one notification."""
    clock.move_to(datetime(2026, 8, 18, 3, 1, tzinfo=UTC))  # Tuesday 10:01 in Jakarta
    timers_fire_due()
    (task,) = client_for(officer).get("/api/v1/tasks/", {"overdue": "true"}).json()["results"]
    assert task["is_overdue"] is True and task["overdue_at"]
    supervisor_client = client_for(supervisor)
    (notification,) = supervisor_client.get("/api/v1/notifications/").json()["results"]
    assert notification["task_id"] == HumanTask.objects.get().pk
    read = supervisor_client.post(f"/api/v1/notifications/{notification['id']}/read/")
    assert read.status_code == 200 and read.json()["read_at"]
    assert supervisor_client.get("/api/v1/notifications/", {"unread": "true"}).json()["results"] == []
    assert client_for(officer).get("/api/v1/notifications/").json()["results"] == []
    assert client_for(officer).post(f"/api/v1/notifications/{notification['id']}/read/").status_code == 404
