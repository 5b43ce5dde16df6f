"""Due and follow-up dates of human tasks: ISO 8601 moments and durations, without SpiffWorkflow.

Modeling tools write a task's due date as a moment (``2026-03-01T09:00:00+07:00``, ``2026-03-01``)
or as a duration counted from the moment the task is created (``P3D``, ``PT4H``, ``P1M``). A moment
written without an offset is read in the agency's time zone; a date alone is the start of that day.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration: calendar months (years count twelve) and an exact time span."""

    months: int
    span: timedelta

    def after(self, start):
        """``start`` plus this duration; a month step keeps the day, or the month's last day."""
        total = start.month - 1 + self.months
        year, month = start.year + total // 12, total % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return start.replace(year=year, month=month, day=day) + self.span


def parse_duration(text):
    """The ``Duration`` written in ``text`` (``P3D``, ``PT1H30M``, ``P1Y2M``), or None."""
    match = _DURATION.match((text or "").strip())
    if match is None:
        return None
    parts = {name: float(value) if value else 0 for name, value in match.groupdict().items()}
    span = timedelta(
        weeks=parts["weeks"], days=parts["days"], hours=parts["hours"], minutes=parts["minutes"],
        seconds=parts["seconds"],
    )
    return Duration(int(parts["years"]) * 12 + int(parts["months"]), span)


def parse_moment(text):
    """The datetime or date written in ``text`` (ISO 8601; naive when it names no offset), or None."""
    text = (text or "").strip()
    if not text or not text[:1].isdigit():
        return None
    try:
        return datetime.fromisoformat(text) if "T" in text.upper() or " " in text else date.fromisoformat(text)
    except ValueError:
        return None


def is_date_value(text):
    """Whether ``text`` is a moment or a duration a due date may be written as."""
    return parse_duration(text) is not None or parse_moment(text) is not None


def due_moment(value, *, start, zone):
    """The aware datetime ``value`` stands for: a moment, a date, or a duration after ``start``.

    ``value`` is a ``datetime``, a ``date`` or ISO 8601 text; ``zone()`` gives the time zone for
    values that name none. Raises ``ValueError`` with a readable message for anything else.
    """
    if isinstance(value, str):
        duration = parse_duration(value)
        if duration is not None:
            return duration.after(start)
        moment = parse_moment(value)
        if moment is None:
            raise ValueError(f"{value!r} is neither an ISO 8601 date-time nor a duration")
        value = moment
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone())
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=zone())
    raise ValueError(f"a date must be ISO 8601 text or a date, not {type(value).__name__}")
