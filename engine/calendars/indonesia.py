"""Working calendars for Indonesian offices: national holidays and cuti bersama, plus local closures.

Where the dates come from: the ``holidays`` package (``holidays.Indonesia``), which follows the yearly SKB
3 Menteri (the joint decree of the Minister of Religious Affairs, the Minister of Manpower and the Minister of
State Apparatus Empowerment and Bureaucratic Reform) and the Keppres on cuti bersama for ASN, with its sources
cited in the package. Two of its categories are used:

- ``public``: hari libur nasional (national holidays), including one-off days such as election days;
- ``government``: cuti bersama (collective leave) of civil servants (ASN). Version 0.109 holds them up to 2027,
  e.g. 16 February, 18, 20, 23 and 24 March, 15 and 28 May and 24 December 2026.

Cuti bersama binds government offices, which is who runs public services; pass ``collective_leave=False`` for a
service that works on those days. Holidays on the lunar calendars (Idul Fitri, Idul Adha, Imlek, Waisak, ...)
are estimates for years after the last decree the package knows, and such years have no cuti bersama at all:
upgrade ``holidays`` when a new SKB is published, and until then add the days as closures. Regional holidays
(a provincial or regency decree, e.g. Galungan and Kuningan in Bali) and agency closures are not in the
package; pass them as ``regional_holidays`` and ``closures``.
"""

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from .errors import CalendarInvalidError
from .working_calendar import WorkingCalendar, _named_dates


@lru_cache(maxsize=32)
def _national_closed_dates(first_year, last_year, collective_leave):
    categories = (holidays.PUBLIC, holidays.GOVERNMENT) if collective_leave else (holidays.PUBLIC,)
    calendar = holidays.country_holidays(
        "ID", years=range(first_year, last_year + 1), categories=categories, language="id"
    )
    return tuple(sorted(calendar.items()))


def indonesia_holidays(years, *, collective_leave=True):
    """``{date: name}`` of Indonesia's national holidays (and cuti bersama) in ``years``, names in Indonesian.

    ``years`` is a year or a collection of years; the whole span from the first to the last is loaded.
    """
    first_year, last_year = _year_span(years)
    return dict(_national_closed_dates(first_year, last_year, bool(collective_leave)))


def _year_span(years):
    if isinstance(years, int):
        years = (years,)
    span = [int(year) for year in years]
    if not span:
        raise CalendarInvalidError("an Indonesian calendar needs at least one year of holidays")
    return min(span), max(span)


def _default_years(timezone):
    this_year = datetime.now(ZoneInfo(timezone)).year
    return range(this_year - 1, this_year + 3)


def indonesia_calendar(years=None, *, regional_holidays=(), closures=(), collective_leave=True, **options):
    """A :class:`WorkingCalendar` closed on Indonesia's holidays in ``years``, plus regional ones and closures.

    - ``years``: a year or a collection of years (the span from first to last is loaded); by default from last
      year to two years ahead, in the calendar's zone. Arithmetic that needs a day outside these years raises
      :class:`CalendarRangeError`, so a missing year never silently drops holidays.
    - ``regional_holidays`` and ``closures``: ``{date: name}`` or a collection of dates.
    - ``collective_leave``: also close on cuti bersama (default).
    - ``options``: any other :class:`WorkingCalendar` field, e.g. ``timezone="Asia/Makassar"``,
      ``hours="08:00-12:00, 13:00-16:00"`` or ``weekday_hours={4: "08:00-16:30"}``.
    """
    if years is None:
        years = _default_years(options.get("timezone", "Asia/Jakarta"))
    first_year, last_year = _year_span(years)
    national = indonesia_holidays(range(first_year, last_year + 1), collective_leave=collective_leave)
    calendar = WorkingCalendar(closed_dates=national, covered_years=(first_year, last_year), **options)
    return calendar.with_closed_dates(_named_dates(regional_holidays)).with_closed_dates(_named_dates(closures))
