"""Agencies' business calendars: defaults, closures and settings through the services, and the cached lookup."""

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User

from engine.calendars import CalendarInvalidError
from engine.calendars.for_agency import calendar_cache_clear, calendar_for_agency, calendar_for_definition
from engine.exceptions import CalendarClosureExistsError, CalendarClosureNotFoundError, PermissionDeniedError
from engine.models import Agency, AgencyCalendar, CalendarClosure, ClosureKind, EventType, HistoryEvent, Role
from engine.services.calendars import calendar_update, closure_add, closure_remove
from tests.conftest import make_user

JAKARTA = ZoneInfo("Asia/Jakarta")
MAKASSAR = ZoneInfo("Asia/Makassar")
RECEIVED = datetime(2026, 8, 14, 14, 0, tzinfo=JAKARTA)  # Friday; Monday 17 August is Independence Day
DUE_IN_FIVE_DAYS = datetime(2026, 8, 24, 16, 0, tzinfo=JAKARTA)


@pytest.fixture(autouse=True)
def _today():
    calendar_cache_clear()
    with time_machine.travel(datetime(2026, 8, 1, 10, 0, tzinfo=JAKARTA), tick=False):
        yield
    calendar_cache_clear()


def wib(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


# Defaults.


def test_an_agency_without_settings_works_monday_to_friday_8_to_4_with_national_holidays(agency):
    """No AgencyCalendar: Mon-Fri 08:00-16:00 in Jakarta, national holidays and cuti bersama closed."""
    calendar = calendar_for_agency(agency)
    assert calendar.timezone == "Asia/Jakarta"
    assert calendar.working_weekdays == frozenset(range(5))
    assert calendar.is_working_time(wib(2026, 8, 18, 8)) and not calendar.is_working_time(wib(2026, 8, 18, 16))
    assert calendar.closed_reason(date(2026, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"
    assert not calendar.is_working_day(date(2026, 12, 24))  # cuti bersama Natal
    assert calendar.add_working_days(RECEIVED, 5) == DUE_IN_FIVE_DAYS
    assert not AgencyCalendar.objects.exists()


def test_the_default_calendar_follows_the_agencys_own_time_zone(db):
    """An agency in Makassar without settings counts in WITA."""
    agency = Agency.objects.create(code="makassar", name="Kantor Makassar", timezone="Asia/Makassar")
    received = datetime(2026, 8, 14, 14, 0, tzinfo=MAKASSAR)
    assert calendar_for_agency(agency).add_working_days(received, 5) == datetime(2026, 8, 24, 16, tzinfo=MAKASSAR)


def test_the_calendar_covers_last_year_to_three_years_ahead(agency):
    """Deadlines months or years out never reach the range error; the span is counted from today."""
    calendar = calendar_for_agency(agency)
    assert calendar.covered_years == (2025, 2029)
    assert calendar.add_working_days(RECEIVED, 400).year == 2028


def test_the_calendar_of_a_definition_is_its_agencys(agency):
    """calendar_for_definition reads definition.agency."""
    assert calendar_for_definition(SimpleNamespace(agency=agency)) is calendar_for_agency(agency)


# Closures and the cache.


def test_a_closure_makes_a_day_non_working_at_once(agency, supervisor):
    """A cached calendar is rebuilt when a closure is added, and again when it is removed."""
    before = calendar_for_agency(agency)
    assert calendar_for_agency(agency) is before  # nothing changed: the cached calendar
    closure = closure_add(
        agency=agency, actor=supervisor, date=date(2026, 8, 19), name="Pindah kantor", kind=ClosureKind.AGENCY_CLOSURE
    )
    during = calendar_for_agency(agency)
    assert not during.is_working_day(date(2026, 8, 19))
    assert during.closed_reason(date(2026, 8, 19)) == "Pindah kantor"
    assert during.add_working_days(RECEIVED, 5) == wib(2026, 8, 26, 16)  # 18, 20, 21, 24 and (after Maulid) 26
    closure_remove(agency=agency, actor=supervisor, closure_id=closure.pk)
    assert calendar_for_agency(agency).add_working_days(RECEIVED, 5) == DUE_IN_FIVE_DAYS


def test_a_closure_written_outside_the_services_also_takes_effect(agency):
    """The cache is keyed on what is stored, so a closure saved by the admin (no service) counts at once."""
    assert calendar_for_agency(agency).is_working_day(date(2026, 8, 20))
    closure = CalendarClosure.objects.create(agency=agency, date=date(2026, 8, 20), name="Rapat kerja")
    assert not calendar_for_agency(agency).is_working_day(date(2026, 8, 20))
    closure.name = "Rapat kerja tahunan"
    closure.save()
    assert calendar_for_agency(agency).closed_reason(date(2026, 8, 20)) == "Rapat kerja tahunan"
    closure.delete()
    assert calendar_for_agency(agency).is_working_day(date(2026, 8, 20))


def test_a_regional_holiday_closes_the_day_under_its_name(agency, manager):
    """Regional holidays (a provincial decree) close like agency closures."""
    closure_add(
        agency=agency, actor=manager, date=date(2026, 9, 2), name="Hari Raya Galungan",
        kind=ClosureKind.REGIONAL_HOLIDAY,
    )
    assert calendar_for_agency(agency).closed_reason(date(2026, 9, 2)) == "Hari Raya Galungan"


def test_a_closure_with_hours_shortens_the_day(agency, supervisor):
    """hours="08:00-12:00": the office opens that morning only, and a deadline on that day ends at noon."""
    closure_add(
        agency=agency, actor=supervisor, date=date(2026, 8, 20), name="Upacara", kind=ClosureKind.AGENCY_CLOSURE,
        hours=" 08:00 - 12:00 ",
    )
    calendar = calendar_for_agency(agency)
    assert calendar.is_working_day(date(2026, 8, 20))
    assert calendar.working_time_between(wib(2026, 8, 20), wib(2026, 8, 21)) == timedelta(hours=4)
    assert calendar.add_working_days(RECEIVED, 3) == wib(2026, 8, 20, 12)
    assert CalendarClosure.objects.get().hours == "08:00-12:00"  # stored in canonical form


def test_a_closure_with_hours_never_opens_a_weekend_or_a_holiday(agency, supervisor):
    """Shortened hours on a Saturday or a national holiday leave the day closed."""
    for day in (date(2026, 8, 22), date(2026, 8, 17)):
        closure_add(agency=agency, actor=supervisor, date=day, name="Jam singkat", kind="agency_closure",
                    hours="08:00-12:00")
    calendar = calendar_for_agency(agency)
    assert not calendar.is_working_day(date(2026, 8, 22))
    assert not calendar.is_working_day(date(2026, 8, 17))


def test_a_date_takes_one_closure(agency, supervisor):
    """A second closure on the same date is refused; remove the first one instead."""
    closure_add(agency=agency, actor=supervisor, date=date(2026, 8, 19), name="A", kind="agency_closure")
    with pytest.raises(CalendarClosureExistsError):
        closure_add(agency=agency, actor=supervisor, date=date(2026, 8, 19), name="B", kind="regional_holiday")


def test_removing_an_unknown_or_another_agencys_closure_is_not_found(agency, other_agency, supervisor):
    """closure_remove only finds the agency's own closures."""
    other_supervisor = make_user("other_supervisor", other_agency, Role.SUPERVISOR)
    theirs = closure_add(agency=other_agency, actor=other_supervisor, date=date(2026, 8, 19), name="X",
                         kind="agency_closure")
    with pytest.raises(CalendarClosureNotFoundError):
        closure_remove(agency=agency, actor=supervisor, closure_id=theirs.pk)
    with pytest.raises(CalendarClosureNotFoundError):
        closure_remove(agency=agency, actor=supervisor, closure_id=999_999)
    assert CalendarClosure.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"date": datetime(2026, 8, 19, 9, tzinfo=JAKARTA)}, "date"),
        ({"name": "  "}, "name"),
        ({"kind": "national_holiday"}, "kind"),
        ({"hours": "12:00-08:00"}, "end after"),
    ],
)
def test_a_malformed_closure_is_refused(agency, supervisor, fields, problem):
    """Dates, names, kinds and hours are checked before anything is written."""
    values = {"date": date(2026, 8, 19), "name": "Tutup", "kind": "agency_closure", "hours": "", **fields}
    with pytest.raises(CalendarInvalidError, match=problem):
        closure_add(agency=agency, actor=supervisor, **values)
    assert not CalendarClosure.objects.exists()


# Settings.


def test_settings_change_the_calendar_and_are_recorded(agency, supervisor):
    """Friday hours, no cuti bersama: the calendar follows, and a calendar_changed event says what changed."""
    calendar_for_agency(agency)
    calendar_update(
        agency=agency, actor=supervisor, weekday_hours={4: "08:00-11:30,13:00-16:30"}, collective_leave=False
    )
    calendar = calendar_for_agency(agency)
    assert calendar.add_working_days(wib(2026, 8, 20, 9), 1) == wib(2026, 8, 21, 16, 30)
    assert calendar.is_working_day(date(2026, 12, 24))
    stored = AgencyCalendar.objects.get(agency=agency)
    assert stored.weekday_hours == {"4": "08:00-11:30, 13:00-16:30"}
    event = HistoryEvent.objects.get(event_type=EventType.CALENDAR_CHANGED)
    assert event.actor == supervisor and event.instance is None and event.definition is None
    assert event.details["agency"] == "demo" and event.details["change"] == "settings_updated"
    assert event.details["changed"]["collective_leave"] == {"from": True, "to": False}


def test_a_new_time_zone_is_also_the_agencys(agency, manager):
    """Moving the calendar to WITA moves the agency's zone, and deadlines close at 16:00 WITA."""
    calendar_update(agency=agency, actor=manager, timezone="Asia/Makassar")
    agency.refresh_from_db()
    assert agency.timezone == "Asia/Makassar"
    received = datetime(2026, 8, 14, 14, 0, tzinfo=MAKASSAR)
    assert calendar_for_agency(agency).add_working_days(received, 5) == datetime(2026, 8, 24, 16, tzinfo=MAKASSAR)


def test_an_unchanged_setting_writes_nothing(agency, supervisor):
    """Sending the values the calendar already has records no event."""
    calendar_update(agency=agency, actor=supervisor, hours="08:00-16:00", working_weekdays=[4, 3, 2, 1, 0])
    assert not HistoryEvent.objects.filter(event_type=EventType.CALENDAR_CHANGED).exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"hours": "16:00-08:00"},
        {"hours": ""},
        {"working_weekdays": [0, 7]},
        {"working_weekdays": []},
        {"weekday_hours": {"5": "08:00-12:00"}},  # Saturday is not a working weekday
        {"weekday_hours": {"Friday": "08:00-12:00"}},
        {"timezone": "Asia/Bandung"},
        {"collective_leave": "yes"},
        {"opening": "08:00-16:00"},
    ],
)
def test_impossible_settings_are_refused(agency, supervisor, fields):
    """Values no calendar can have raise CalendarInvalidError and change nothing."""
    with pytest.raises(CalendarInvalidError):
        calendar_update(agency=agency, actor=supervisor, **fields)
    assert calendar_for_agency(agency).hours == ((time(8), time(16)),)
    assert not HistoryEvent.objects.filter(event_type=EventType.CALENDAR_CHANGED).exists()


# Who may change a calendar.


def test_officers_and_other_agencies_may_not_change_a_calendar(agency, other_agency, officer, outsider):
    """Only the agency's supervisors and managers (and superusers) change its calendar."""
    other_supervisor = make_user("other_supervisor", other_agency, Role.SUPERVISOR)
    applicant = make_user("citizen")
    for actor in (officer, outsider, other_supervisor, applicant):
        with pytest.raises(PermissionDeniedError):
            calendar_update(agency=agency, actor=actor, hours="07:30-15:30")
        with pytest.raises(PermissionDeniedError):
            closure_add(agency=agency, actor=actor, date=date(2026, 8, 19), name="X", kind="agency_closure")
    assert not AgencyCalendar.objects.exists() and not CalendarClosure.objects.exists()


def test_officers_may_not_remove_a_closure(agency, supervisor, officer):
    """Removing is changing: an officer is refused and the closure stays."""
    closure = closure_add(agency=agency, actor=supervisor, date=date(2026, 8, 19), name="X", kind="agency_closure")
    with pytest.raises(PermissionDeniedError):
        closure_remove(agency=agency, actor=officer, closure_id=closure.pk)
    assert CalendarClosure.objects.filter(pk=closure.pk).exists()


def test_a_superuser_may_change_any_calendar(agency):
    """Superusers are not members of an agency but may change every calendar."""
    root = User.objects.create_superuser("root", password="root-pw")
    calendar_update(agency=agency, actor=root, hours="07:30-15:30")
    assert calendar_for_agency(agency).is_working_time(wib(2026, 8, 18, 7, 30))


# Admin.


def test_the_admin_lists_calendars_and_closures(admin_client, agency):
    """Both models are registered; their change lists render."""
    AgencyCalendar.objects.create(agency=agency)
    CalendarClosure.objects.create(agency=agency, date=date(2026, 8, 19), name="Pindah kantor")
    assert admin_client.get("/admin/engine/agencycalendar/").status_code == 200
    assert admin_client.get("/admin/engine/calendarclosure/").status_code == 200


def test_the_admin_refuses_impossible_hours(admin_client, agency):
    """The admin form runs the models' clean(): hours that end before they start are not saved."""
    response = admin_client.post(
        "/admin/engine/agencycalendar/add/",
        {"agency": agency.pk, "timezone": "Asia/Jakarta", "working_weekdays": "[0, 1, 2, 3, 4]",
         "hours": "16:00-08:00", "weekday_hours": "{}", "collective_leave": "on"},
    )
    assert response.status_code == 200 and "must end after they start" in response.content.decode()
    assert not AgencyCalendar.objects.exists()
    response = admin_client.post(
        "/admin/engine/calendarclosure/add/",
        {"agency": agency.pk, "date": "2026-08-19", "name": "Tutup", "kind": "agency_closure", "hours": "noon"},
    )
    assert response.status_code == 200 and not CalendarClosure.objects.exists()
