"""Reading agencies' business calendars: settings, closures, and which days of a range are working days.

Calendars are public information: anyone signed in may read any agency's. Changing one is for the agency's
supervisors and managers (:mod:`engine.services.calendars`).
"""

from datetime import timedelta

from .agencies import agency_of
from .calendars.for_agency import calendar_for_agency
from .models import Agency, AgencyCalendar, CalendarClosure
from .models.calendars import DEFAULT_TIMEZONE


def agency_by_code(code):
    """The agency with ``code``, or None."""
    return Agency.objects.filter(code=code).first()


def agency_calendar_settings(agency):
    """The agency's ``AgencyCalendar``; an unsaved one with the defaults (``pk`` None) when it has none."""
    try:
        return agency.calendar
    except AgencyCalendar.DoesNotExist:
        return _default_settings(agency)


def agency_calendar_list_for_user(user, *, agency_code=None):
    """Calendar settings to list for ``user``: the named agency's, else every agency's for superusers and
    the user's own agency's for staff (citizens get none unless they name an agency)."""
    agencies = Agency.objects.select_related("calendar").order_by("code")
    if agency_code:
        agencies = agencies.filter(code=agency_code)
    elif not user.is_superuser:
        own = agency_of(user)
        agencies = agencies.filter(pk=own.pk) if own is not None else agencies.none()
    return [agency_calendar_settings(agency) for agency in agencies]


def calendar_closure_list(agency, *, first=None, last=None):
    """The agency's closures by date, from ``first`` to ``last`` (local dates, both included) when given."""
    closures = CalendarClosure.objects.filter(agency=agency).select_related("agency").order_by("date")
    if first is not None:
        closures = closures.filter(date__gte=first)
    if last is not None:
        closures = closures.filter(date__lte=last)
    return closures


def calendar_days(agency, *, first, last):
    """Which days from ``first`` to ``last`` (local dates, both included) the agency works, and why not.

    ``{"timezone", "working_days": [date, ...], "closed_days": [{"date", "name"}], "shortened_days": [{"date", "name",
    "hours"}]}``: closed days are the named ones (holidays, cuti bersama, closures), not plain weekends;
    shortened days are working days with a closure's shorter hours. Raises CalendarRangeError for days outside
    the years the calendar covers.
    """
    calendar = calendar_for_agency(agency)
    shortened_closures = {
        closure.date: closure
        for closure in calendar_closure_list(agency, first=first, last=last).exclude(hours="")
    }
    working_days, closed_days, shortened_days = [], [], []
    day = first
    while day <= last:
        if calendar.is_working_day(day):
            working_days.append(day)
            closure = shortened_closures.get(day)
            if closure is not None and day in calendar.date_hours:
                shortened_days.append({"date": day, "name": closure.name, "hours": closure.hours})
        reason = calendar.closed_reason(day)
        if reason is not None:
            closed_days.append({"date": day, "name": reason})
        day += timedelta(days=1)
    return {
        "timezone": calendar.timezone,
        "working_days": working_days,
        "closed_days": closed_days,
        "shortened_days": shortened_days,
    }


def _default_settings(agency):
    return AgencyCalendar(agency=agency, timezone=agency.timezone or DEFAULT_TIMEZONE)
