"""Errors of the working-time arithmetic.

Each is an :class:`engine.exceptions.EngineError` (so ``api/`` maps it like any other engine error) and a
``ValueError`` (so code that only knows "a bad value" still catches it). ``engine.exceptions`` imports nothing
from Django, so this package stays usable without settings.
"""

from engine.exceptions import EngineError


class CalendarInvalidError(EngineError, ValueError):
    """A working calendar was configured with impossible hours, weekdays, dates or a time zone."""


class CalendarRangeError(EngineError, ValueError):
    """The arithmetic reached a date outside the years whose holidays the calendar holds."""


class DurationInvalidError(EngineError, ValueError):
    """An ISO 8601 duration is malformed, negative, or uses units with no fixed number of working days."""
