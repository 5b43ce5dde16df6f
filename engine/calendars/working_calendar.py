"""A working calendar and the arithmetic of working time on it.

Every method takes timezone-aware datetimes in any zone and returns them in UTC; naive datetimes are refused,
because "09:00" means nothing for a deadline until it is known where. Opening hours, weekdays and closed dates
are read in the calendar's own zone (``Asia/Jakarta`` by default).

The rules, with a calendar open 08:00-16:00 Monday to Friday in Jakarta:

- **Working time** is the union of the opening intervals of every working day, start included, end excluded:
  08:00 is working time, 16:00 is not.
- **Receipt.** A request that arrives outside working time counts as received at the next opening
  (:meth:`WorkingCalendar.next_working_moment`): Friday 17:00 and Saturday 10:00 both count as Monday 08:00.
- **Working days** (:meth:`WorkingCalendar.add_working_days`, "selesai dalam 5 hari kerja"): the day of
  receipt is day 0; the count starts on the next working day, and the deadline is the close of business of the
  N-th working day after the day of receipt. A request received on Friday 14 August 2026 at 14:00, with Monday
  17 August a national holiday, is due in 5 working days at Monday 24 August 16:00 WIB (days 1-5 are Tuesday
  18 to Friday 21 and Monday 24). With N = 0 the deadline is the close of business on the day of receipt.
- **Working hours** (:meth:`WorkingCalendar.add_working_time`): only open time is counted, starting at the
  receipt; 4 working hours from Friday 14:00 end on Monday 10:00. A count that ends exactly at closing time
  ends then (8 hours from Monday 08:00 is Monday 16:00, not Tuesday 08:00).
- **Business durations** (:meth:`WorkingCalendar.add_business_duration`): ``P5D`` is 5 working days as
  above, ``PT4H`` is 4 working hours, and ``P1DT4H`` is 1 working day and then 4 working hours counted from that
  deadline (so it always ends after ``P1D``). ``PT0S`` means the next working moment.
- **Counted time** (:meth:`WorkingCalendar.working_time_between`) is the open time in ``[start, end)``.

Closed dates win over everything; a date in ``date_hours`` has those hours instead of its weekday's (shortened
hours in Ramadan, a half-day closure, a Saturday opening); other days follow their weekday. The arithmetic walks
day by day, never minute by minute, and skips whole weeks without a closed or special date, so 20 working days
cost a handful of steps; conversions of office hours to UTC are remembered per day.
"""

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from numbers import Real
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .durations import parse_business_duration
from .errors import CalendarInvalidError, CalendarRangeError
from .hours import interval_seconds, parse_intervals

DEFAULT_HOURS = ((time(8), time(16)),)
MONDAY_TO_FRIDAY = frozenset(range(5))
CLOSED = "Closed"
_SPANS_MEMO_SIZE = 20_000  # office days, about 55 years; cleared whole when full


def _aware_utc(moment, name="moment"):
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, not {moment!r}")
    return moment.astimezone(UTC)


def _plain_date(value):
    if isinstance(value, datetime) or not isinstance(value, date):
        raise CalendarInvalidError(f"closed and special days are dates, not {value!r}")
    return value


def _named_dates(dates):
    """``{date: name}`` from a mapping of dates to names or from a plain collection of dates."""
    if isinstance(dates, Mapping):
        return {_plain_date(day): str(name) for day, name in dates.items()}
    return {_plain_date(day): CLOSED for day in dates}


@dataclass(frozen=True)
class WorkingCalendar:
    """When an office is open: weekdays, hours, closed dates, in one time zone. Immutable and hashable.

    - ``timezone``: an IANA name; ``Asia/Jakarta`` (WIB), ``Asia/Makassar`` (WITA) or ``Asia/Jayapura`` (WIT).
    - ``working_weekdays``: Monday is 0; Monday to Friday by default.
    - ``hours``: the opening hours of every working weekday, 08:00-16:00 by default. Several intervals make a
      break: ``"08:00-12:00, 13:00-16:00"``.
    - ``weekday_hours``: other hours for some working weekdays, e.g. ``{4: "08:00-11:30, 13:00-16:30"}``.
    - ``closed_dates``: dates closed all day (holidays, cuti bersama, agency closures), as ``{date: name}`` or a
      plain collection of dates.
    - ``date_hours``: dates with their own hours, ``{date: hours}``; ``""`` closes the day, and a weekend date
      listed here opens that day.
    - ``covered_years``: ``(first, last)`` years whose closed dates are known; arithmetic that needs a day
      outside them raises :class:`CalendarRangeError` instead of silently ignoring holidays. ``None``: no limit.
    """

    timezone: str = "Asia/Jakarta"
    working_weekdays: frozenset[int] = MONDAY_TO_FRIDAY
    hours: tuple = DEFAULT_HOURS
    weekday_hours: Mapping = field(default_factory=dict, hash=False)
    closed_dates: Mapping = field(default_factory=dict, hash=False, repr=False)
    date_hours: Mapping = field(default_factory=dict, hash=False)
    covered_years: tuple[int, int] | None = None

    def __post_init__(self):
        self._set("_zone", self._load_zone())
        self._set("working_weekdays", frozenset(self.working_weekdays))
        if not self.working_weekdays <= frozenset(range(7)):
            raise CalendarInvalidError(f"weekdays are 0 (Monday) to 6 (Sunday), not {sorted(self.working_weekdays)}")
        self._set("hours", parse_intervals(self.hours))
        weekday_hours = {int(weekday): parse_intervals(spec) for weekday, spec in self.weekday_hours.items()}
        if not set(weekday_hours) <= self.working_weekdays:
            raise CalendarInvalidError("weekday_hours names a weekday that is not a working weekday")
        self._set("weekday_hours", MappingProxyType(weekday_hours))
        self._set("closed_dates", MappingProxyType(_named_dates(self.closed_dates)))
        date_hours = {_plain_date(day): parse_intervals(spec) for day, spec in self.date_hours.items()}
        self._set("date_hours", MappingProxyType(date_hours))
        self._set("_weekday_seconds", self._seconds_by_weekday())
        self._set("_date_seconds", {day.toordinal(): interval_seconds(spec) for day, spec in date_hours.items()})
        self._set("_closed", frozenset(day.toordinal() for day in self.closed_dates))
        self._set_covered_range()
        self._set("_spans_memo", {})
        self._set("_irregular_ordinals", tuple(sorted(self._closed | set(self._date_seconds))))
        self._set("_working_days_per_week", sum(1 for seconds in self._weekday_seconds if seconds))

    def __reduce__(self):
        """Pickle (for caches) by the fields, with plain dicts, since a mappingproxy cannot be pickled."""
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        plain = {name: dict(value) if isinstance(value, Mapping) else value for name, value in values.items()}
        return (_calendar_from_fields, (plain,))

    def _set(self, name, value):
        object.__setattr__(self, name, value)

    def _load_zone(self):
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise CalendarInvalidError(f"{self.timezone!r} is not a known time zone such as 'Asia/Jakarta'") from None

    def _seconds_by_weekday(self):
        seconds = tuple(
            interval_seconds(self.weekday_hours.get(weekday, self.hours)) if weekday in self.working_weekdays else ()
            for weekday in range(7)
        )
        if not any(seconds):
            raise CalendarInvalidError("a working calendar needs at least one weekday with opening hours")
        return seconds

    def _set_covered_range(self):
        if self.covered_years is None:
            self._set("_first_ordinal", date.min.toordinal())
            self._set("_last_ordinal", date.max.toordinal())
            return
        first, last = (int(year) for year in self.covered_years)
        if first > last:
            raise CalendarInvalidError(f"covered_years must run forwards, not {self.covered_years!r}")
        self._set("covered_years", (first, last))
        self._set("_first_ordinal", date(first, 1, 1).toordinal())
        self._set("_last_ordinal", date(last, 12, 31).toordinal())

    @classmethod
    def indonesia(cls, years=None, *, regional_holidays=(), closures=(), collective_leave=True, **options):
        """Calendar with Indonesia's national holidays and cuti bersama; see :func:`indonesia_calendar`."""
        from .indonesia import indonesia_calendar

        return indonesia_calendar(
            years,
            regional_holidays=regional_holidays,
            closures=closures,
            collective_leave=collective_leave,
            **options,
        )

    def with_closed_dates(self, dates):
        """A copy that is also closed on ``dates`` (``{date: name}`` or dates): an agency's own closures."""
        merged = dict(self.closed_dates)
        for day, name in _named_dates(dates).items():
            merged[day] = f"{merged[day]}; {name}" if day in merged and merged[day] != name else name
        return replace(self, closed_dates=merged)

    # Days.

    def _day_seconds(self, ordinal):
        """Opening intervals of a day, as seconds from local midnight; () when closed."""
        if ordinal < self._first_ordinal or ordinal > self._last_ordinal:
            first, last = self.covered_years or (date.min.year, date.max.year)
            day = date.fromordinal(ordinal) if 0 < ordinal <= date.max.toordinal() else f"day {ordinal}"
            raise CalendarRangeError(
                f"{day} is outside the years {first}-{last} whose holidays this calendar holds; "
                "build the calendar with more years"
            )
        if ordinal in self._closed:
            return ()
        special = self._date_seconds.get(ordinal)
        if special is not None:
            return special
        return self._weekday_seconds[(ordinal - 1) % 7]

    def is_working_day(self, day):
        """Whether the office opens at all on ``day`` (a date, read in the calendar's zone)."""
        return bool(self._day_seconds(_plain_date(day).toordinal()))

    def closed_reason(self, day):
        """Why ``day`` is closed (a holiday's name, "Closed"), or None when it is not a listed closed date."""
        return self.closed_dates.get(_plain_date(day))

    # Moments.

    def _instant(self, ordinal, seconds):
        """The UTC instant ``seconds`` of wall-clock time after local midnight of the day ``ordinal``."""
        midnight = datetime.combine(date.fromordinal(ordinal), time(), tzinfo=self._zone)
        return (midnight + timedelta(seconds=seconds)).astimezone(UTC)

    def _day_spans(self, ordinal):
        """Opening intervals of a day as ``(start, end)`` UTC instants, remembered per day.

        Time-zone conversion is the slow part of the arithmetic (microseconds each), and the same office days
        come back for every deadline, so the calendar keeps a bounded memo of them.
        """
        spans = self._spans_memo.get(ordinal)
        if spans is None:
            if len(self._spans_memo) >= _SPANS_MEMO_SIZE:
                self._spans_memo.clear()
            spans = tuple(
                (self._instant(ordinal, start), self._instant(ordinal, end))
                for start, end in self._day_seconds(ordinal)
            )
            self._spans_memo[ordinal] = spans
        return spans

    def _local_ordinal(self, moment):
        return moment.astimezone(self._zone).toordinal()

    def _open_spans(self, moment, until=None):
        """Yield ``(start, end)`` UTC open intervals from ``moment`` on, the first clipped to start at it.

        With ``until``, stop after the local day of ``until``, so no day past it is looked at.
        """
        ordinal = self._local_ordinal(moment)
        last_ordinal = None if until is None else self._local_ordinal(until)
        while last_ordinal is None or ordinal <= last_ordinal:
            for start, end in self._day_spans(ordinal):
                if end > moment:
                    yield max(start, moment), end
            ordinal += 1

    def is_working_time(self, moment):
        """Whether the office is open at ``moment`` (opening time included, closing time excluded)."""
        moment = _aware_utc(moment)
        ordinal = self._local_ordinal(moment)
        return any(start <= moment < end for start, end in self._day_spans(ordinal))

    def next_working_moment(self, moment):
        """``moment`` itself (in UTC) when it is working time, else the next opening."""
        moment = _aware_utc(moment)
        start, _ = next(self._open_spans(moment))
        return start

    # Arithmetic.

    def _working_day_after(self, ordinal, count):
        """The day ``count`` working days after the day ``ordinal`` (the same day when ``count`` is 0).

        Weeks without a closed or special date are skipped whole, so a year of days costs a few dozen steps.
        """
        irregular = self._irregular_ordinals
        index = bisect_right(irregular, ordinal)
        next_irregular = irregular[index] if index < len(irregular) else self._last_ordinal + 1
        week_end_limit = min(next_irregular, self._last_ordinal + 1)
        while count:
            if count > self._working_days_per_week and ordinal + 7 < week_end_limit:
                ordinal += 7
                count -= self._working_days_per_week
                continue
            ordinal += 1
            if self._day_seconds(ordinal):
                count -= 1
            if ordinal >= next_irregular:
                index = bisect_right(irregular, ordinal, lo=index)
                next_irregular = irregular[index] if index < len(irregular) else self._last_ordinal + 1
                week_end_limit = min(next_irregular, self._last_ordinal + 1)
        return ordinal

    def add_working_days(self, start, days):
        """Deadline of "``days`` hari kerja" from ``start``: close of business of the ``days``-th working day.

        The day of receipt (``start``, or the next opening when ``start`` is outside working time) is day 0 and
        is not counted, whatever the hour.
        """
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ValueError(f"working days must be a whole number of at least 0, not {days!r}")
        moment = _aware_utc(start, "start")
        ordinal = self._local_ordinal(moment)
        spans = self._day_spans(ordinal)
        remaining = days
        if not spans or spans[-1][1] <= moment:  # received at the next opening, on a later day
            remaining += 1
        ordinal = self._working_day_after(ordinal, remaining)
        return self._day_spans(ordinal)[-1][1]

    def add_working_time(self, start, duration):
        """The moment when ``duration`` (a timedelta) of working time has passed since ``start``."""
        if not isinstance(duration, timedelta) or duration < timedelta():
            raise ValueError(f"working time must be a timedelta of at least 0, not {duration!r}")
        remaining = duration
        for span_start, span_end in self._open_spans(_aware_utc(start, "start")):
            available = span_end - span_start
            if remaining <= available:
                return span_start + remaining
            remaining -= available
        raise AssertionError("_open_spans without a bound never ends")  # pragma: no cover

    def add_working_hours(self, start, hours):
        """The moment when ``hours`` working hours (a number, fractions allowed) have passed since ``start``."""
        if isinstance(hours, bool) or not isinstance(hours, Real) or not 0 <= hours < float("inf"):
            raise ValueError(f"working hours must be a number of at least 0, not {hours!r}")
        return self.add_working_time(start, timedelta(hours=float(hours)))

    def add_business_duration(self, start, iso_duration):
        """Deadline of an ISO 8601 duration read as business time: ``P5D``, ``PT4H``, ``P1DT4H``.

        Days are counted first with :meth:`add_working_days`, then the time part with :meth:`add_working_time`
        from that deadline. Years, months and weeks raise :class:`DurationInvalidError` (a ``ValueError``).
        """
        duration = parse_business_duration(iso_duration)
        moment = _aware_utc(start, "start")
        if duration.days:
            moment = self.add_working_days(moment, duration.days)
            if not duration.time:
                return moment
        return self.add_working_time(moment, duration.time)

    def working_time_between(self, start, end):
        """Working time in ``[start, end)`` as a timedelta; negative, like ``end - start``, when end is earlier."""
        start, end = _aware_utc(start, "start"), _aware_utc(end, "end")
        if end < start:
            return -self.working_time_between(end, start)
        total = timedelta()
        for span_start, span_end in self._open_spans(start, until=end):
            if span_start >= end:
                break
            total += min(span_end, end) - span_start
        return total


def _calendar_from_fields(values):
    return WorkingCalendar(**values)
