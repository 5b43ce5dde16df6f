"""GET /api/v1/track/{code}/: what a citizen may see of an application, without logging in."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from engine.models import HumanTask
from engine.services import human_task_complete, instance_start
from processes.services import definition_deploy
from tests.conftest import library_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def application(analyst, applicant, agency):
    definition, _ = definition_deploy(
        content=library_bytes("permit_application/permit_application.bpmn"), filename="p.bpmn", actor=analyst,
        agency=agency,
    )
    return instance_start(
        definition=definition, data={"applicant_name": "Budi Santoso", "nik": "3578012345678901"}, actor=applicant
    )


def test_tracking_shows_service_stage_and_dates_without_login(application):
    """Anyone with the code sees the service, the stage in plain language and the dates."""
    response = APIClient().get(f"/api/v1/track/{application.tracking_code}/")
    assert response.status_code == 200
    body = response.json()
    assert body["service"]["name"] == "Permit application (Permohonan izin)"
    assert body["status"] == "running" and body["status_text"]["id"] == "Sedang diproses"
    assert [stage["name"] for stage in body["current_stages"]] == ["Check documents are complete"]
    assert body["current_stages"][0]["waiting_for"]["en"] == "Front Office"
    assert body["submitted_at"] and "promised_completion_at" in body


def test_tracking_never_shows_personal_data(application, officer):
    """Process data, names of people and completion data never appear in the tracking answer."""
    task = HumanTask.objects.get(instance=application)
    human_task_complete(task_id=task.pk, actor=officer, data={"documents_complete": False, "note": "KK missing"})
    text = APIClient().get(f"/api/v1/track/{application.tracking_code}/").content.decode()
    for secret in ("Budi", "3578012345678901", "KK missing", "officer", "applicant_name", "documents_complete"):
        assert secret not in text
    assert "Anda (pemohon)" in text


def test_tracking_code_is_forgiving_about_case_and_dashes(application):
    """The code typed in lower case without dashes finds the application."""
    typed = application.tracking_code.replace("-", "").lower()
    assert APIClient().get(f"/api/v1/track/{typed}/").status_code == 200


def test_unknown_code_is_404(application):
    """A code that matches nothing (or is malformed) answers 404."""
    assert APIClient().get("/api/v1/track/AAAA-BBBB-CCCC/").status_code == 404
    assert APIClient().get("/api/v1/track/not-a-code/").status_code == 404


def test_tracking_is_rate_limited(application, settings):
    """Past the configured rate, the endpoint answers 429."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"tracking": "3/minute"}}
    client = APIClient()
    codes = [client.get(f"/api/v1/track/AAAA-BBBB-CCC{n}/").status_code for n in range(5)]
    assert codes[:3] == [404, 404, 404] and codes[3:] == [429, 429]
