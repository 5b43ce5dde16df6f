"""Changing an agency's business calendar: its weekly pattern and its closures.

Who may: the agency's supervisors and managers, and superusers (PermissionDeniedError for anyone else,
checked before anything is read or written). Anyone signed in may read a calendar; see
:mod:`engine.calendar_selectors`.

Each call is one transaction that locks the agency's ``AgencyCalendar`` row (created with the defaults on the
first change), so two changes to one agency's calendar queue up. The row's ``updated_at`` moves with every
change, closures included, and a ``calendar_changed`` history event records who changed what. The cached
calendars of :mod:`engine.calendars.for_agency` see the change at the next lookup.

Deadlines already computed (task due dates, timers) keep the moment they were given; a changed calendar
applies to the deadlines computed after it.
"""

import datetime

from django.db import transaction

from engine import history
from engine.agencies import STAFF_WHO_SEE_THE_WHOLE_AGENCY, membership_of
from engine.calendars import CalendarInvalidError, WorkingCalendar
from engine.calendars.hours import parse_intervals
from engine.exceptions import CalendarClosureExistsError, CalendarClosureNotFoundError, PermissionDeniedError
from engine.models import Agency, AgencyCalendar, CalendarClosure, ClosureKind
from engine.models.calendars import DEFAULT_TIMEZONE, calendar_options

CALENDAR_SETTINGS = ("timezone", "working_weekdays", "hours", "weekday_hours", "collective_leave")
CALENDAR_EDITORS = STAFF_WHO_SEE_THE_WHOLE_AGENCY  # supervisors and managers
NAME_MAX_LENGTH = CalendarClosure._meta.get_field("name").max_length


def calendar_may_change(actor, agency):
    """Whether ``actor`` may change ``agency``'s calendar: its supervisors and managers, and superusers."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_superuser:
        return True
    membership = membership_of(actor)
    return membership is not None and membership.agency_id == agency.pk and membership.role in CALENDAR_EDITORS


def calendar_update(*, agency, actor, **fields):
    """Change some of the agency's calendar settings (``CALENDAR_SETTINGS``); returns the ``AgencyCalendar``.

    Opening hours are stored in a canonical form (``"08:00-12:00, 13:00-16:00"``), weekdays sorted. A new time
    zone is also the agency's (``Agency.timezone``), so due dates written without an offset follow it.
    Raises CalendarInvalidError for an unknown setting or values no calendar can have.
    """
    unknown = sorted(set(fields) - set(CALENDAR_SETTINGS))
    if unknown:
        raise CalendarInvalidError(f"Unknown calendar settings: {', '.join(unknown)}.")
    _require_editor(actor, agency)
    with transaction.atomic():
        calendar = _locked_calendar(agency)
        before = _settings_of(calendar)
        for name, value in _cleaned_settings(fields).items():
            setattr(calendar, name, value)
        WorkingCalendar(**calendar.working_calendar_options())  # raises CalendarInvalidError
        after = _settings_of(calendar)
        changed = {name: {"from": before[name], "to": after[name]} for name in after if after[name] != before[name]}
        if not changed:
            return calendar
        calendar.save()
        if agency.timezone != calendar.timezone:
            Agency.objects.filter(pk=agency.pk).update(timezone=calendar.timezone)
            agency.timezone = calendar.timezone
        history.record_calendar_changed(agency, actor=actor, change="settings_updated", details={"changed": changed})
    return calendar


def closure_add(*, agency, actor, date, name, kind, hours=""):
    """Close the agency on ``date`` (a local date), all day, or with ``hours`` only open those hours.

    ``kind`` is a ``ClosureKind``: a regional holiday or the agency's own closure. Raises CalendarInvalidError
    for a bad date, name, kind or hours, and CalendarClosureExistsError when ``date`` already has a closure.
    """
    _require_editor(actor, agency)
    date, name, kind, hours = _checked_closure(date, name, kind, hours)
    with transaction.atomic():
        calendar = _locked_calendar(agency)
        existing = CalendarClosure.objects.filter(agency=agency, date=date).first()
        if existing is not None:
            raise CalendarClosureExistsError(
                f"The calendar of {agency.code} already has a closure on {date.isoformat()} ({existing.name}); "
                "remove it first."
            )
        closure = CalendarClosure.objects.create(agency=agency, date=date, name=name, kind=kind, hours=hours)
        calendar.save(update_fields=["updated_at"])
        history.record_calendar_changed(
            agency, actor=actor, change="closure_added", details=_closure_details(closure)
        )
    return closure


def closure_remove(*, agency, actor, closure_id):
    """Remove one of the agency's closures: the day follows its weekday and the national holidays again."""
    _require_editor(actor, agency)
    with transaction.atomic():
        calendar = _locked_calendar(agency)
        closure = CalendarClosure.objects.filter(agency=agency, pk=closure_id).first()
        if closure is None:
            raise CalendarClosureNotFoundError(f"The calendar of {agency.code} has no closure {closure_id}.")
        details = _closure_details(closure)
        closure.delete()
        calendar.save(update_fields=["updated_at"])
        history.record_calendar_changed(agency, actor=actor, change="closure_removed", details=details)


def _require_editor(actor, agency):
    if not calendar_may_change(actor, agency):
        raise PermissionDeniedError(
            f"Only supervisors and managers of {agency.code} may change its calendar."
        )


def _locked_calendar(agency):
    AgencyCalendar.objects.get_or_create(agency=agency, defaults={"timezone": agency.timezone or DEFAULT_TIMEZONE})
    return AgencyCalendar.objects.select_for_update().get(agency=agency)


def _settings_of(calendar):
    return {name: getattr(calendar, name) for name in CALENDAR_SETTINGS}


def _cleaned_settings(fields):
    cleaned = dict(fields)
    if "timezone" in cleaned and not isinstance(cleaned["timezone"], str):
        raise CalendarInvalidError(f"timezone must be a name such as 'Asia/Jakarta', not {cleaned['timezone']!r}")
    if "collective_leave" in cleaned and not isinstance(cleaned["collective_leave"], bool):
        raise CalendarInvalidError(f"collective_leave must be true or false, not {cleaned['collective_leave']!r}")
    if "hours" in cleaned:
        cleaned["hours"] = _hours_text(cleaned["hours"], allow_closed=False)
    if "working_weekdays" in cleaned or "weekday_hours" in cleaned:
        options = calendar_options(
            timezone="UTC",
            working_weekdays=cleaned.get("working_weekdays", []),
            hours="00:00-24:00",
            weekday_hours=cleaned.get("weekday_hours", {}),
        )
        if "working_weekdays" in cleaned:
            cleaned["working_weekdays"] = sorted(options["working_weekdays"])
        if "weekday_hours" in cleaned:
            cleaned["weekday_hours"] = {
                str(weekday): _hours_text(spec, allow_closed=False)
                for weekday, spec in sorted(options["weekday_hours"].items())
            }
    return cleaned


def _hours_text(spec, *, allow_closed):
    """Opening hours in canonical text; CalendarInvalidError when they are not hours (or empty, unless allowed)."""
    if not isinstance(spec, str):
        raise CalendarInvalidError(f"opening hours are text such as '08:00-16:00', not {spec!r}")
    intervals = parse_intervals(spec)
    if not intervals and not allow_closed:
        raise CalendarInvalidError("opening hours cannot be empty; use working_weekdays to close a weekday")
    return ", ".join(f"{_clock(start)}-{_clock(end, is_end=True)}" for start, end in intervals)


def _clock(moment, *, is_end=False):
    if is_end and moment == datetime.time(0):
        return "24:00"
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")


def _checked_closure(date, name, kind, hours):
    if isinstance(date, datetime.datetime) or not isinstance(date, datetime.date):
        raise CalendarInvalidError(f"a closure is on a date such as 2026-08-18, not {date!r}")
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise CalendarInvalidError("a closure needs a name, e.g. Hari Raya Galungan")
    if len(name) > NAME_MAX_LENGTH:
        raise CalendarInvalidError(f"a closure's name may be at most {NAME_MAX_LENGTH} characters long")
    if kind not in ClosureKind.values:
        raise CalendarInvalidError(f"a closure's kind is one of {', '.join(ClosureKind.values)}, not {kind!r}")
    hours = _hours_text(hours or "", allow_closed=True)
    return date, name, ClosureKind(kind), hours


def _closure_details(closure):
    return {
        "closure_id": closure.pk,
        "date": closure.date.isoformat(),
        "name": closure.name,
        "kind": closure.kind,
        "hours": closure.hours,
    }
