"""Each agency's business calendar: when its offices are open, and the days they close on top of the nation's.

``AgencyCalendar`` holds the weekly pattern (weekdays, opening hours, the time zone) and whether the agency
closes on cuti bersama; ``CalendarClosure`` holds dated exceptions: regional holidays (a provincial or regency
decree) and the agency's own closures, all day or, with ``hours``, a shortened day. Indonesia's national
holidays are not stored: they come from the ``holidays`` package (:mod:`engine.calendars.indonesia`).

Dates are the agency's local dates; opening hours are local wall-clock times; ``updated_at`` is a moment
(stored in UTC) that changes with every change to the calendar, so cached calendars know when to rebuild
(:mod:`engine.calendars.for_agency`). An agency without a row works Monday to Friday, 08:00-16:00, in its
own time zone.
"""

from django.core.exceptions import ValidationError
from django.db import models

from engine.calendars import CalendarInvalidError, WorkingCalendar
from engine.calendars.hours import parse_intervals

from .agencies import Agency

DEFAULT_TIMEZONE = "Asia/Jakarta"
DEFAULT_WORKING_WEEKDAYS = [0, 1, 2, 3, 4]
DEFAULT_HOURS = "08:00-16:00"


def default_working_weekdays():
    return list(DEFAULT_WORKING_WEEKDAYS)


def _weekday(value):
    if isinstance(value, bool):
        raise CalendarInvalidError(f"a weekday is a number from 0 (Monday) to 6 (Sunday), not {value!r}")
    try:
        weekday = int(value)
    except (TypeError, ValueError):
        raise CalendarInvalidError(f"a weekday is a number from 0 (Monday) to 6 (Sunday), not {value!r}") from None
    if not 0 <= weekday <= 6 or str(weekday) != str(value).strip():
        raise CalendarInvalidError(f"a weekday is a number from 0 (Monday) to 6 (Sunday), not {value!r}")
    return weekday


def calendar_options(*, timezone, working_weekdays, hours, weekday_hours):
    """The :class:`WorkingCalendar` keyword arguments for stored settings; CalendarInvalidError when malformed.

    ``working_weekdays`` is a list of weekday numbers, ``weekday_hours`` a JSON object whose keys are weekday
    numbers (``{"4": "08:00-16:30"}``); the opening hours themselves are checked by the calendar.
    """
    if not isinstance(working_weekdays, list | tuple | set | frozenset):
        raise CalendarInvalidError(f"working_weekdays must be a list of weekday numbers, not {working_weekdays!r}")
    if not isinstance(weekday_hours, dict):
        raise CalendarInvalidError(f"weekday_hours must be an object such as {{\"4\": \"08:00-16:30\"}}, "
                                   f"not {weekday_hours!r}")
    if not isinstance(hours, str) or not hours.strip():
        raise CalendarInvalidError(f"hours must be text such as '08:00-16:00', not {hours!r}")
    for spec in weekday_hours.values():
        if not isinstance(spec, str) or not spec.strip():
            raise CalendarInvalidError(f"weekday hours must be text such as '08:00-16:30', not {spec!r}")
    return {
        "timezone": timezone,
        "working_weekdays": frozenset(_weekday(day) for day in working_weekdays),
        "hours": hours,
        "weekday_hours": {_weekday(day): spec for day, spec in weekday_hours.items()},
    }


class AgencyCalendar(models.Model):
    """An agency's weekly opening pattern and time zone; at most one per agency."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="calendar")
    timezone = models.CharField(
        max_length=64, default=DEFAULT_TIMEZONE, help_text="IANA name: Asia/Jakarta, Asia/Makassar or Asia/Jayapura."
    )
    working_weekdays = models.JSONField(
        default=default_working_weekdays, help_text="Weekday numbers the office opens on, 0 = Monday."
    )
    hours = models.CharField(
        max_length=255, default=DEFAULT_HOURS, help_text="Opening hours, e.g. 08:00-16:00 or 08:00-12:00, 13:00-16:00."
    )
    weekday_hours = models.JSONField(
        default=dict, blank=True, help_text='Other hours on some weekdays, e.g. {"4": "08:00-11:30, 13:00-16:30"}.'
    )
    collective_leave = models.BooleanField(
        default=True, help_text="Closed on cuti bersama (the civil servants' collective leave days)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Calendar of {self.agency}"

    def working_calendar_options(self):
        """The :class:`WorkingCalendar` keyword arguments for these settings (CalendarInvalidError if malformed)."""
        return calendar_options(
            timezone=self.timezone,
            working_weekdays=self.working_weekdays,
            hours=self.hours,
            weekday_hours=self.weekday_hours,
        )

    def clean(self):
        try:
            WorkingCalendar(**self.working_calendar_options())
        except CalendarInvalidError as problem:
            raise ValidationError(str(problem))


class ClosureKind(models.TextChoices):
    REGIONAL_HOLIDAY = "regional_holiday", "Regional holiday"
    AGENCY_CLOSURE = "agency_closure", "Agency closure"


class CalendarClosure(models.Model):
    """A date an agency closes on (or, with ``hours``, opens only for those hours), beyond national holidays."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="calendar_closures")
    date = models.DateField(help_text="The agency's local date.")
    name = models.CharField(max_length=255, help_text="Why, e.g. Hari Raya Galungan or Pindah kantor.")
    kind = models.CharField(max_length=32, choices=ClosureKind, default=ClosureKind.AGENCY_CLOSURE)
    hours = models.CharField(
        max_length=255, blank=True, help_text="Blank: closed all day. Else the shortened hours, e.g. 08:00-12:00."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["agency", "date"], name="calendar_closure_agency_date_unique")]

    def __str__(self):
        return f"{self.date} {self.name} ({self.agency.code})"

    @property
    def is_whole_day(self):
        return not self.hours.strip()

    def clean(self):
        try:
            parse_intervals(self.hours)
        except CalendarInvalidError as problem:
            raise ValidationError({"hours": str(problem)})
