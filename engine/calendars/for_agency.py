"""An agency's :class:`WorkingCalendar`, built from what it stores and cached in this process.

The one module of :mod:`engine.calendars` that reads the database: the rest stays free of Django.

What the calendar holds: Indonesia's national holidays (and cuti bersama unless the agency turned them off),
the agency's regional holidays and closures (``CalendarClosure``), and its weekly pattern
(``AgencyCalendar``). An agency with no ``AgencyCalendar`` works Monday to Friday, 08:00-16:00, in its own
time zone (``Agency.timezone``, ``Asia/Jakarta`` unless set), with the national holidays and cuti bersama.

Years: from last year to three years ahead of today (in the calendar's zone), so a deadline a few months out
never reaches :class:`CalendarRangeError`; the span moves on by itself at new year.

Caching: every lookup (outside ``engine.reference_data.reference_data_pinned()``) reads the settings row
and the closures of the covered years (two small indexed queries), and keys the cache on exactly what they
hold, plus ``updated_at``. So a change takes effect at once, whichever way it was made (API, admin, shell,
another process), and building the calendar, the costly part, happens once per change.
A shortened day (a closure with ``hours``) never opens a day the office is closed on: on a weekday it does
not work, or a national holiday, the day stays closed.
"""

from datetime import date
from zoneinfo import ZoneInfo

from django.utils import timezone as django_timezone

from engine.models import AgencyCalendar, CalendarClosure, ClosureKind
from engine.models.calendars import DEFAULT_HOURS, DEFAULT_TIMEZONE, DEFAULT_WORKING_WEEKDAYS, calendar_options
from engine.reference_data import pinned

from .errors import CalendarInvalidError
from .indonesia import indonesia_calendar

YEARS_BEHIND = 1
YEARS_AHEAD = 3
_CACHE = {}  # agency id -> (key, WorkingCalendar); one entry per agency


def calendar_for_agency(agency):
    """The agency's working calendar, rebuilt only when its settings, closures or covered years changed.

    Inside ``engine.reference_data.reference_data_pinned()`` it is read once per agency.
    """
    return pinned("calendar", agency.pk, lambda: _calendar_read(agency))


def _calendar_read(agency):
    stored = AgencyCalendar.objects.filter(agency_id=agency.pk).first()
    options = _options(agency, stored)
    years = covered_years(options["timezone"])
    closures = tuple(
        CalendarClosure.objects.filter(
            agency_id=agency.pk, date__gte=date(years[0], 1, 1), date__lte=date(years[1], 12, 31)
        )
        .order_by("date")
        .values_list("date", "name", "kind", "hours")
    )
    key = (
        stored.updated_at if stored else None,
        options["timezone"],
        tuple(sorted(options["working_weekdays"])),
        options["hours"],
        tuple(sorted(options["weekday_hours"].items())),
        options["collective_leave"],
        years,
        closures,
    )
    cached = _CACHE.get(agency.pk)
    if cached is not None and cached[0] == key:
        return cached[1]
    calendar = build_calendar(options, closures=closures, years=years)
    _CACHE[agency.pk] = (key, calendar)
    return calendar


def calendar_for_definition(definition):
    """The working calendar of the agency a process definition belongs to."""
    return calendar_for_agency(definition.agency)


def calendar_cache_clear():
    """Forget every cached calendar (tests; the cache never serves a stale one anyway)."""
    _CACHE.clear()


def covered_years(timezone_name):
    """``(first, last)``: last year to three years ahead, counted in ``timezone_name``."""
    try:
        this_year = django_timezone.localtime(django_timezone.now(), ZoneInfo(timezone_name)).year
    except (ValueError, KeyError, TypeError) as problem:
        raise CalendarInvalidError(f"{timezone_name!r} is not a known time zone: {problem}") from None
    return (this_year - YEARS_BEHIND, this_year + YEARS_AHEAD)


def build_calendar(options, *, closures, years):
    """The calendar for settings ``options`` and ``closures`` (``(date, name, kind, hours)`` rows) in ``years``.

    ``options`` holds ``timezone``, ``working_weekdays``, ``hours``, ``weekday_hours`` and
    ``collective_leave``, as :func:`engine.models.calendars.calendar_options` checks them.
    """
    regional, agency_closures, shortened = {}, {}, {}
    for day, name, kind, hours in closures:
        if hours.strip():
            if day.weekday() in options["working_weekdays"]:
                shortened[day] = hours
        elif kind == ClosureKind.REGIONAL_HOLIDAY:
            regional[day] = name
        else:
            agency_closures[day] = name
    return indonesia_calendar(
        range(years[0], years[1] + 1),
        regional_holidays=regional,
        closures=agency_closures,
        collective_leave=options["collective_leave"],
        timezone=options["timezone"],
        working_weekdays=options["working_weekdays"],
        hours=options["hours"],
        weekday_hours=options["weekday_hours"],
        date_hours=shortened,
    )


def _options(agency, stored):
    if stored is None:
        checked = calendar_options(
            timezone=agency.timezone or DEFAULT_TIMEZONE,
            working_weekdays=DEFAULT_WORKING_WEEKDAYS,
            hours=DEFAULT_HOURS,
            weekday_hours={},
        )
        return {**checked, "collective_leave": True}
    return {**stored.working_calendar_options(), "collective_leave": stored.collective_leave}

