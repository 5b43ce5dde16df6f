"""Working-time arithmetic for service levels ("selesai dalam 5 hari kerja").

Pure Python, no Django, no database, no SpiffWorkflow: a :class:`WorkingCalendar` says when an office is open,
and its methods turn promises in working days or hours into UTC deadlines and measure counted time. The rules
are in :mod:`engine.calendars.working_calendar`; the Indonesian holiday data in :mod:`engine.calendars.indonesia`.
"""

from .durations import BusinessDuration, parse_business_duration
from .errors import CalendarInvalidError, CalendarRangeError, DurationInvalidError
from .working_calendar import WorkingCalendar

__all__ = [
    "BusinessDuration",
    "CalendarInvalidError",
    "CalendarRangeError",
    "DurationInvalidError",
    "WorkingCalendar",
    "parse_business_duration",
]
