"""Running the bundled public-service processes in tests: deploy the library, act as its staff.

``LibraryRun`` drives one application through the real API as the users ``setup_demo`` creates: each
step is completed by the user named for it, so a step offered to the wrong lane or agency fails.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model

from engine.models import EventType, HistoryEvent, HumanTask, ProcessInstance
from processes.library import deploy_library
from processes.library_staff import library_staff_ensure
from processes.models import ProcessDefinition
from tests.conftest import client_for

JAKARTA = ZoneInfo("Asia/Jakarta")
# A Monday at 09:00 in Jakarta; the first holidays after it are 16-17 February 2026 (Chinese New Year).
MONDAY_MORNING = datetime(2026, 2, 2, 9, 0, tzinfo=JAKARTA)


def deploy_bundled_library():
    """Deploy every bundled process for its agency, create the staff, and a citizen; returns the citizen."""
    _deployed, _unchanged, rejected = deploy_library(actor=None)
    assert rejected == []
    library_staff_ensure(password_suffix="-pw")
    citizen, _ = get_user_model().objects.get_or_create(username="warga")
    return citizen


def user(username):
    return get_user_model().objects.get(username=username)


class LibraryRun:
    """One application of a bundled process, started by a front-office officer for ``citizen``."""

    def __init__(self, key, data, *, citizen, started_by):
        self.definition = ProcessDefinition.objects.filter(key=key).order_by("-version").first()
        response = client_for(user(started_by)).post(
            "/api/v1/process-instances/",
            {"process": key, "applicant": citizen.username, "data": data},
            format="json",
        )
        assert response.status_code == 201, response.content
        self.instance = ProcessInstance.objects.get(pk=response.json()["id"])
        self.citizen = citizen

    def open_task(self, element_id):
        tasks = list(HumanTask.objects.filter(instance=self.instance, status__in=["ready", "claimed"]))
        matching = [task for task in tasks if task.element_id == element_id]
        assert matching, f"no open task {element_id}; open: {[task.element_id for task in tasks]}"
        return matching[0]

    def complete(self, element_id, username, data=None):
        """Complete the open task ``element_id`` as ``username`` through the API (403 fails the test)."""
        task = self.open_task(element_id)
        actor = self.citizen if username is None else user(username)
        response = client_for(actor).post(f"/api/v1/tasks/{task.pk}/complete/", {"data": data or {}}, format="json")
        assert response.status_code == 200, (element_id, username, response.status_code, response.content)
        return task

    def refresh(self):
        self.instance.refresh_from_db()
        return self.instance

    def open_element_ids(self):
        return sorted(
            HumanTask.objects.filter(instance=self.instance, status__in=["ready", "claimed"])
            .values_list("element_id", flat=True)
        )

    def path(self):
        """Element ids in the order they completed (history), gateways and events included."""
        return list(
            HistoryEvent.objects.filter(instance=self.instance, event_type=EventType.ACTIVITY_COMPLETED)
            .order_by("occurred_at", "id")
            .values_list("element_id", flat=True)
        )

    def completed_by(self, element_id):
        return [
            task.completed_by.username
            for task in HumanTask.objects.filter(instance=self.instance, element_id=element_id, status="completed")
        ]

    def tracking(self, client):
        response = client.get(f"/api/v1/track/{self.instance.tracking_code}/")
        assert response.status_code == 200
        return response.json()
