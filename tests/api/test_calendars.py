"""Calendars API: settings and closures per agency, who may read and change them, and working-day answers."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from engine.calendars.for_agency import calendar_cache_clear
from engine.models import CalendarClosure, EventType, HistoryEvent, Role
from tests.conftest import client_for, make_user

JAKARTA = ZoneInfo("Asia/Jakarta")
API = "/api/v1/calendars"
ACCEPTANCE = f"{API}/demo/working-days/?start=2026-08-14T14:00:00%2B07:00&days=5"


@pytest.fixture(autouse=True)
def _today():
    calendar_cache_clear()
    with time_machine.travel(datetime(2026, 8, 1, 10, 0, tzinfo=JAKARTA), tick=False):
        yield
    calendar_cache_clear()


@pytest.fixture
def other_supervisor(other_agency):
    return make_user("other_supervisor", other_agency, Role.SUPERVISOR)


def _closure(client, **fields):
    body = {"date": "2026-08-19", "name": "Pindah kantor", "kind": "agency_closure", **fields}
    return client.post(f"{API}/demo/closures/", body, format="json")


# Reading.


def test_anonymous_callers_are_refused(agency):
    """Every calendar endpoint needs a signed-in caller: 401."""
    anonymous = APIClient()
    for path in (f"{API}/", f"{API}/demo/", f"{API}/demo/closures/", ACCEPTANCE):
        assert anonymous.get(path).status_code == 401
    assert anonymous.patch(f"{API}/demo/", {"hours": "07:00-15:00"}, format="json").status_code == 401


def test_staff_list_their_own_agencys_calendar_with_the_defaults(officer):
    """GET calendars/: the caller's agency, Mon-Fri 08:00-16:00 in Jakarta until someone changes it."""
    response = client_for(officer).get(f"{API}/")
    assert response.status_code == 200
    assert response.data["count"] == 1
    calendar = response.data["results"][0]
    assert calendar["agency"] == "demo" and calendar["is_default"] is True
    assert calendar["timezone"] == "Asia/Jakarta"
    assert calendar["working_weekdays"] == [0, 1, 2, 3, 4] and calendar["hours"] == "08:00-16:00"
    assert calendar["collective_leave"] is True and calendar["weekday_hours"] == {}


def test_superusers_list_every_agency_and_may_name_one(agency, other_agency):
    """Superusers see all agencies' calendars; ?agency=code narrows to one."""
    root = client_for(User.objects.create_superuser("root", password="root-pw"))
    assert [item["agency"] for item in root.get(f"{API}/").data["results"]] == ["demo", "other"]
    assert [item["agency"] for item in root.get(f"{API}/?agency=other").data["results"]] == ["other"]


def test_staff_of_another_agency_may_read_a_calendar(agency, outsider, supervisor):
    """Calendars are public: another agency's officer reads the settings and the closures."""
    _closure(client_for(supervisor))
    client = client_for(outsider)
    assert client.get(f"{API}/demo/").data["agency"] == "demo"
    closures = client.get(f"{API}/demo/closures/").data["results"]
    assert [item["date"] for item in closures] == ["2026-08-19"]
    assert client.get(ACCEPTANCE).status_code == 200


def test_an_unknown_agency_is_not_found(officer):
    """A code no agency has: 404."""
    assert client_for(officer).get(f"{API}/nowhere/").status_code == 404
    assert client_for(officer).get(f"{API}/nowhere/working-days/?from=2026-08-01&to=2026-08-31").status_code == 404


# Changing settings.


def test_a_supervisor_changes_the_settings(supervisor):
    """PATCH stores canonical hours and answers the new settings; history records who changed what."""
    response = client_for(supervisor).patch(
        f"{API}/demo/",
        {"hours": "07:30-12:00,13:00-15:30", "weekday_hours": {"4": "07:30-11:00"}, "collective_leave": False},
        format="json",
    )
    assert response.status_code == 200, response.data
    assert response.data["hours"] == "07:30-12:00, 13:00-15:30"
    assert response.data["weekday_hours"] == {"4": "07:30-11:00"}
    assert response.data["is_default"] is False and response.data["collective_leave"] is False
    event = HistoryEvent.objects.get(event_type=EventType.CALENDAR_CHANGED)
    assert event.actor_name == "supervisor" and set(event.details["changed"]) == {
        "hours", "weekday_hours", "collective_leave",
    }


def test_a_manager_may_change_the_settings(manager):
    """Managers change their agency's calendar too."""
    response = client_for(manager).patch(f"{API}/demo/", {"working_weekdays": [0, 1, 2, 3, 4, 5]}, format="json")
    assert response.status_code == 200
    assert response.data["working_weekdays"] == [0, 1, 2, 3, 4, 5]


def test_officers_and_other_agencies_may_not_change_the_settings(agency, officer, outsider, other_supervisor):
    """An officer, or another agency's supervisor: 403, and nothing changes."""
    for user in (officer, outsider, other_supervisor):
        response = client_for(user).patch(f"{API}/demo/", {"hours": "07:00-15:00"}, format="json")
        assert response.status_code == 403
        assert response.data["code"] == "permission_denied"
    assert client_for(officer).get(f"{API}/demo/").data["hours"] == "08:00-16:00"


@pytest.mark.parametrize(
    "body",
    [{"hours": "16:00-08:00"}, {"working_weekdays": [9]}, {"timezone": "Mars/Olympus"}, {"opening": "08:00-16:00"}],
)
def test_impossible_settings_are_a_400(supervisor, body):
    """Values no calendar can have, or unknown settings: 400 with the reason."""
    response = client_for(supervisor).patch(f"{API}/demo/", body, format="json")
    assert response.status_code == 400, response.data


# Closures.


def test_closures_are_added_listed_and_removed(supervisor):
    """POST adds (201), GET lists by year, DELETE removes (204, then 404)."""
    client = client_for(supervisor)
    created = _closure(client, hours="08:00-12:00")
    assert created.status_code == 201, created.data
    assert created.data["whole_day"] is False and created.data["hours"] == "08:00-12:00"
    _closure(client, date="2027-01-04", name="Libur awal tahun", kind="regional_holiday")
    assert [item["date"] for item in client.get(f"{API}/demo/closures/?year=2026").data["results"]] == ["2026-08-19"]
    assert len(client.get(f"{API}/demo/closures/").data["results"]) == 2
    assert client.get(f"{API}/demo/closures/{created.data['id']}/").data["name"] == "Pindah kantor"
    assert client.delete(f"{API}/demo/closures/{created.data['id']}/").status_code == 204
    again = client.delete(f"{API}/demo/closures/{created.data['id']}/")
    assert again.status_code == 404 and again.data["code"] == "closure_not_found"
    assert CalendarClosure.objects.count() == 1


def test_a_second_closure_on_the_same_date_is_a_conflict(supervisor):
    """One closure per date: 409."""
    client = client_for(supervisor)
    assert _closure(client).status_code == 201
    response = _closure(client, name="Lagi")
    assert response.status_code == 409 and response.data["code"] == "closure_exists"


def test_malformed_closures_are_a_400(supervisor):
    """Bad dates, kinds and hours are refused."""
    client = client_for(supervisor)
    assert _closure(client, date="19-08-2026").status_code == 400
    assert _closure(client, kind="national_holiday").status_code == 400
    assert _closure(client, hours="12:00-08:00").data["code"] == "calendar_invalid"
    assert not CalendarClosure.objects.exists()


def test_officers_and_other_agencies_may_read_but_not_change_closures(supervisor, officer, other_supervisor):
    """Adding or removing a closure is for the agency's supervisors and managers: 403 for the others."""
    closure_id = _closure(client_for(supervisor)).data["id"]
    for user in (officer, other_supervisor):
        client = client_for(user)
        assert client.get(f"{API}/demo/closures/").status_code == 200
        assert _closure(client, date="2026-08-20").status_code == 403
        assert client.delete(f"{API}/demo/closures/{closure_id}/").status_code == 403
    assert CalendarClosure.objects.count() == 1


def test_another_agencys_supervisor_manages_their_own_calendar(other_supervisor):
    """The same supervisor who is refused on demo may change other."""
    client = client_for(other_supervisor)
    response = client.post(f"{API}/other/closures/", {"date": "2026-08-19", "name": "Tutup"}, format="json")
    assert response.status_code == 201 and response.data["agency"] == "other"


# Working days.


def test_five_working_days_from_friday_afternoon_skip_independence_day(officer):
    """The acceptance case: Friday 14 Aug 2026 14:00 WIB + 5 hari kerja, Monday 17 Aug a holiday: Mon 24 Aug 16:00."""
    response = client_for(officer).get(ACCEPTANCE)
    assert response.status_code == 200, response.data
    assert response.data == {
        "start": "2026-08-14T14:00:00+07:00",
        "days": 5,
        "due_at": "2026-08-24T16:00:00+07:00",
        "timezone": "Asia/Jakarta",
    }


def test_an_unencoded_plus_in_start_still_means_the_offset(officer):
    """start=...14:00:00+07:00 sent raw arrives as a space; it is read as the offset."""
    response = client_for(officer).get(f"{API}/demo/working-days/?start=2026-08-14T14:00:00+07:00&days=5")
    assert response.data["due_at"] == "2026-08-24T16:00:00+07:00"


def test_a_start_without_offset_is_read_in_the_agencys_zone_and_durations_count(officer):
    """A naive start is local time; duration=P1DT4H is a working day and then four working hours."""
    client = client_for(officer)
    assert client.get(f"{API}/demo/working-days/?start=2026-08-14T14:00&days=5").data["due_at"] == (
        "2026-08-24T16:00:00+07:00"
    )
    response = client.get(f"{API}/demo/working-days/?start=2026-08-14T14:00&duration=P1DT4H")
    assert response.data["duration"] == "P1DT4H" and response.data["due_at"] == "2026-08-19T12:00:00+07:00"


def test_a_closure_added_through_the_api_moves_the_deadline_at_once(supervisor, officer):
    """Closing Wednesday 19 Aug pushes the deadline past it (and past Maulid on the 25th) to Wednesday 26 Aug."""
    reader = client_for(officer)
    assert reader.get(ACCEPTANCE).data["due_at"] == "2026-08-24T16:00:00+07:00"
    assert _closure(client_for(supervisor)).status_code == 201
    assert reader.get(ACCEPTANCE).data["due_at"] == "2026-08-26T16:00:00+07:00"


def test_a_month_lists_working_days_and_named_closed_days(supervisor, officer):
    """from/to: August 2026 has 19 working days; the 17th and 25th are closed by name; a shortened day is listed."""
    _closure(client_for(supervisor), date="2026-08-20", name="Upacara", hours="08:00-12:00")
    response = client_for(officer).get(f"{API}/demo/working-days/?from=2026-08-01&to=2026-08-31")
    assert response.status_code == 200
    assert len(response.data["working_days"]) == 19
    assert "2026-08-17" not in response.data["working_days"] and "2026-08-18" in response.data["working_days"]
    assert response.data["closed_days"] == [
        {"date": "2026-08-17", "name": "Hari Kemerdekaan Republik Indonesia"},
        {"date": "2026-08-25", "name": "Maulid Nabi Muhammad"},
    ]
    assert response.data["shortened_days"] == [{"date": "2026-08-20", "name": "Upacara", "hours": "08:00-12:00"}]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?start=yesterday&days=5",
        "?start=2026-08-14T14:00:00%2B07:00",
        "?start=2026-08-14T14:00:00%2B07:00&days=-1",
        "?start=2026-08-14T14:00:00%2B07:00&duration=P1M",
        "?from=2026-08-31&to=2026-08-01",
        "?from=2026-01-01&to=2027-12-31",
        "?from=2026-08-01",
        "?from=2035-01-01&to=2035-01-31",
        "?start=2035-01-01T09:00:00%2B07:00&days=1",
    ],
)
def test_bad_working_day_questions_are_a_400(officer, query):
    """Missing or malformed parameters, too long a range, or years the calendar does not cover: 400."""
    response = client_for(officer).get(f"{API}/demo/working-days/{query}")
    assert response.status_code == 400, response.data
