"""Working-time arithmetic: "5 hari kerja" deadlines, working hours and counted time on Indonesian calendars."""

import pickle
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from engine.calendars import (
    CalendarInvalidError,
    CalendarRangeError,
    DurationInvalidError,
    WorkingCalendar,
    parse_business_duration,
)

JAKARTA = ZoneInfo("Asia/Jakarta")
INDONESIA = WorkingCalendar.indonesia(years=range(2025, 2028))
PLAIN = WorkingCalendar()  # 08:00-16:00 Monday to Friday in Jakarta, no holidays


def wib(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


def _brute_force_deadline(calendar, start, days):
    """Deadline by walking one day at a time on a calendar closing at 16:00 WIB, to check the week skipping."""
    day, counted = calendar.next_working_moment(start).astimezone(JAKARTA).date(), 0
    while counted < days:
        day += timedelta(days=1)
        counted += calendar.is_working_day(day)
    return datetime.combine(day, time(16), tzinfo=JAKARTA)


# The acceptance case.


def test_independence_day_2026_is_a_monday_holiday_in_the_package():
    """The acceptance case rests on 17 August 2026 being a Monday national holiday with no cuti bersama around it."""
    national = holidays.country_holidays("ID", years=2026, categories=("public", "government"))
    assert date(2026, 8, 17) in national and date(2026, 8, 17).weekday() == 0
    assert not {date(2026, 8, 14), date(2026, 8, 18), date(2026, 8, 24)} & set(national)


def test_five_working_days_from_friday_before_monday_holiday():
    """5 hari kerja from Friday 14 Aug 2026 14:00 WIB, Monday 17 Aug a holiday, ends Monday 24 Aug 16:00 WIB."""
    # Day 0 is Friday 14 (receipt). Mon 17 is Hari Kemerdekaan, so day 1 is Tue 18, day 2 Wed 19, day 3 Thu 20,
    # day 4 Fri 21, skip the weekend, day 5 Mon 24 (Tue 25, Maulid Nabi, is not reached); close of business
    # 16:00 WIB = 09:00 UTC.
    due = INDONESIA.add_working_days(wib(2026, 8, 14, 14), 5)
    assert due == datetime(2026, 8, 24, 9, 0, tzinfo=UTC)
    assert due.tzinfo is UTC


def test_five_working_days_across_pancasila_day():
    """From Friday 29 May 2026 (Monday 1 June is Hari Lahir Pancasila) 5 working days end Monday 8 June 16:00 WIB."""
    # Day 1 Tue 2 Jun, 2 Wed 3, 3 Thu 4, 4 Fri 5, 5 Mon 8.
    assert INDONESIA.add_working_days(wib(2026, 5, 29, 10), 5) == wib(2026, 6, 8, 16)


# Days that are skipped.


def test_weekend_is_skipped():
    """3 working days from Thursday 8 Jan 2026 are Friday, Monday and Tuesday: due Tuesday 13 Jan 16:00."""
    assert PLAIN.add_working_days(wib(2026, 1, 8, 10), 3) == wib(2026, 1, 13, 16)


def test_collective_leave_is_skipped():
    """Around Idul Fitri 2026 the cuti bersama of 18, 20, 23 and 24 March are closed days like holidays."""
    # 18 Mar cuti bersama Nyepi, 19 Nyepi, 20 cuti bersama, 21-22 Idul Fitri (weekend), 23-24 cuti bersama.
    assert INDONESIA.closed_reason(date(2026, 3, 23)).startswith("Cuti Bersama")
    assert INDONESIA.add_working_days(wib(2026, 3, 17, 10), 1) == wib(2026, 3, 25, 16)


def test_collective_leave_can_be_left_open():
    """A service that works through cuti bersama counts 18 March 2026 as a working day."""
    calendar = WorkingCalendar.indonesia(years=2026, collective_leave=False)
    assert calendar.add_working_days(wib(2026, 3, 17, 10), 1) == wib(2026, 3, 18, 16)


def test_christmas_collective_leave_is_skipped():
    """24 Dec 2026 (cuti bersama) and 25 Dec (Natal) are closed: 1 working day from 23 Dec ends 28 Dec."""
    assert INDONESIA.add_working_days(wib(2026, 12, 23, 9), 1) == wib(2026, 12, 28, 16)


def test_regional_holiday_and_agency_closure_are_skipped():
    """A regional holiday on Thursday and an office closure on Friday push 2 working days from Wednesday to Tuesday."""
    calendar = WorkingCalendar.indonesia(
        years=2026,
        regional_holidays={date(2026, 1, 8): "Hari Jadi Kabupaten"},
        closures=[date(2026, 1, 9)],
    )
    assert calendar.add_working_days(wib(2026, 1, 7, 10), 2) == wib(2026, 1, 13, 16)
    assert calendar.closed_reason(date(2026, 1, 8)) == "Hari Jadi Kabupaten"
    assert calendar.closed_reason(date(2026, 1, 9)) == "Closed"


def test_closure_added_to_an_existing_calendar():
    """with_closed_dates returns a new calendar closed on more days and leaves the original alone."""
    closed = INDONESIA.with_closed_dates({date(2026, 8, 18): "Pindah kantor"})
    assert closed.add_working_days(wib(2026, 8, 14, 14), 1) == wib(2026, 8, 19, 16)
    assert INDONESIA.add_working_days(wib(2026, 8, 14, 14), 1) == wib(2026, 8, 18, 16)


# Where the count starts.


def test_start_after_closing_counts_from_next_opening():
    """A request at Wednesday 18:00 is received Thursday 08:00, so 1 working day ends Friday 16:00."""
    assert PLAIN.add_working_days(wib(2026, 1, 7, 18), 1) == wib(2026, 1, 9, 16)


def test_start_before_opening_counts_from_that_day():
    """A request at Wednesday 06:00 is received Wednesday 08:00, so 1 working day ends Thursday 16:00."""
    assert PLAIN.add_working_days(wib(2026, 1, 7, 6), 1) == wib(2026, 1, 8, 16)


def test_start_on_a_holiday():
    """A request on Independence Day is received Tuesday 18 Aug 08:00; 1 working day ends Wednesday 19 Aug."""
    assert INDONESIA.next_working_moment(wib(2026, 8, 17, 10)) == wib(2026, 8, 18, 8)
    assert INDONESIA.add_working_days(wib(2026, 8, 17, 10), 1) == wib(2026, 8, 19, 16)


def test_start_on_a_weekend_before_a_holiday():
    """Saturday 15 Aug 2026 is received Tuesday 18 Aug, so 5 working days end Wednesday 26 Aug 16:00."""
    # Day 0 Tue 18; 1 Wed 19, 2 Thu 20, 3 Fri 21, 4 Mon 24; Tue 25 is Maulid Nabi Muhammad; 5 Wed 26.
    assert INDONESIA.closed_reason(date(2026, 8, 25)) == "Maulid Nabi Muhammad"
    assert INDONESIA.add_working_days(wib(2026, 8, 15, 10), 5) == wib(2026, 8, 26, 16)


def test_zero_working_days_is_close_of_business_on_receipt_day():
    """0 hari kerja (same-day service) ends at today's closing, or the next working day's when received late."""
    assert PLAIN.add_working_days(wib(2026, 1, 7, 10), 0) == wib(2026, 1, 7, 16)
    assert PLAIN.add_working_days(wib(2026, 1, 9, 17), 0) == wib(2026, 1, 12, 16)


# Working hours.


def test_working_hours_across_a_weekend_and_a_holiday():
    """4 working hours from Friday 14 Aug 2026 14:00 are 2 on Friday and 2 on Tuesday: ends Tuesday 10:00."""
    assert INDONESIA.add_working_hours(wib(2026, 8, 14, 14), 4) == wib(2026, 8, 18, 10)


def test_working_hours_ending_at_closing_time_end_then():
    """8 working hours from Monday 08:00 end Monday 16:00, not Tuesday 08:00."""
    assert PLAIN.add_working_hours(wib(2026, 1, 5, 8), 8) == wib(2026, 1, 5, 16)


def test_working_hours_start_outside_hours_at_next_opening():
    """2 working hours asked for on Wednesday 18:00 end Thursday 10:00."""
    assert PLAIN.add_working_hours(wib(2026, 1, 7, 18), 2) == wib(2026, 1, 8, 10)


def test_working_hours_skip_a_lunch_break():
    """With a 12:00-13:00 break, 2 working hours from 11:00 end at 14:00."""
    calendar = WorkingCalendar(hours="08:00-12:00, 13:00-16:00")
    assert calendar.add_working_hours(wib(2026, 1, 6, 11), 2) == wib(2026, 1, 6, 14)
    assert calendar.add_working_hours(wib(2026, 1, 6, 11), 1.5) == wib(2026, 1, 6, 13, 30)


def test_longer_friday_hours():
    """With Friday open until 16:30, a 1-working-day promise from Thursday ends Friday 16:30."""
    calendar = WorkingCalendar(weekday_hours={4: "08:00-16:30"})
    assert calendar.add_working_days(wib(2026, 1, 8, 10), 1) == wib(2026, 1, 9, 16, 30)


def test_special_day_hours_shorten_a_day_and_open_a_saturday():
    """date_hours replaces a day's hours: a half-day closure ends the day at 12:00, a listed Saturday opens."""
    calendar = WorkingCalendar(date_hours={date(2026, 1, 9): "08:00-12:00", date(2026, 1, 10): "08:00-12:00"})
    assert calendar.add_working_hours(wib(2026, 1, 9, 11), 2) == wib(2026, 1, 10, 9)
    assert calendar.is_working_day(date(2026, 1, 10))


# Moments.


def test_is_working_time_includes_opening_and_excludes_closing():
    """08:00 on a working day is working time; 16:00, a Saturday and a holiday are not."""
    assert INDONESIA.is_working_time(wib(2026, 8, 18, 8))
    assert not INDONESIA.is_working_time(wib(2026, 8, 18, 16))
    assert not INDONESIA.is_working_time(wib(2026, 8, 15, 10))
    assert not INDONESIA.is_working_time(wib(2026, 8, 17, 10))


def test_next_working_moment_inside_hours_is_the_moment_itself():
    """A moment within working time is returned unchanged, in UTC."""
    assert INDONESIA.next_working_moment(wib(2026, 8, 18, 9, 30)) == datetime(2026, 8, 18, 2, 30, tzinfo=UTC)


# Counted time.


def test_working_time_between_over_a_weekend():
    """Friday 15:00 to Monday 09:00 counts 2 working hours."""
    assert PLAIN.working_time_between(wib(2026, 1, 9, 15), wib(2026, 1, 12, 9)) == timedelta(hours=2)


def test_working_time_between_over_a_holiday():
    """Friday 14 Aug 2026 12:00 to Tuesday 18 Aug 12:00 counts 4 + 0 + 4 = 8 working hours."""
    assert INDONESIA.working_time_between(wib(2026, 8, 14, 12), wib(2026, 8, 18, 12)) == timedelta(hours=8)


def test_working_time_between_is_negative_when_reversed():
    """Like a subtraction, the counted time is negative when the end comes first."""
    assert INDONESIA.working_time_between(wib(2026, 8, 18, 12), wib(2026, 8, 14, 12)) == -timedelta(hours=8)


def test_working_time_over_a_year_is_eight_hours_per_working_day():
    """A whole year counts 8 hours for each day the calendar says is a working day."""
    working_days = sum(INDONESIA.is_working_day(date(2026, 1, 1) + timedelta(days=n)) for n in range(365))
    counted = INDONESIA.working_time_between(wib(2026, 1, 1), wib(2027, 1, 1))
    assert counted == timedelta(hours=8 * working_days)
    assert 230 < working_days < 250


# Time zones.


def test_utc_input_gives_the_same_deadline_as_jakarta_input():
    """The same instant written in UTC or in WIB gives the same UTC deadline: Jakarta has no DST, UTC+7 all year."""
    in_utc = datetime(2026, 8, 14, 7, 0, tzinfo=UTC)
    assert INDONESIA.add_working_days(in_utc, 5) == INDONESIA.add_working_days(wib(2026, 8, 14, 14), 5)
    assert INDONESIA.add_working_hours(in_utc, 4) == datetime(2026, 8, 18, 3, 0, tzinfo=UTC)
    assert PLAIN.next_working_moment(datetime(2026, 1, 5, 0, 0, tzinfo=UTC)) == datetime(2026, 1, 5, 1, tzinfo=UTC)
    assert PLAIN.next_working_moment(datetime(2026, 7, 6, 0, 0, tzinfo=UTC)) == datetime(2026, 7, 6, 1, tzinfo=UTC)


def test_other_indonesian_zone_closes_at_its_own_local_time():
    """A WITA office (UTC+8) closes at 16:00 Makassar time, 08:00 UTC."""
    calendar = WorkingCalendar.indonesia(years=2026, timezone="Asia/Makassar")
    assert calendar.add_working_days(wib(2026, 8, 14, 14), 5) == datetime(2026, 8, 24, 8, 0, tzinfo=UTC)


def test_working_time_counts_real_hours_across_a_dst_change():
    """In a zone with DST, the day of the spring change counts 23 real hours when open all day."""
    calendar = WorkingCalendar(timezone="Europe/Berlin", working_weekdays=range(7), hours="00:00-24:00")
    berlin = ZoneInfo("Europe/Berlin")
    counted = calendar.working_time_between(datetime(2026, 3, 29, tzinfo=berlin), datetime(2026, 3, 30, tzinfo=berlin))
    assert counted == timedelta(hours=23)


def test_naive_datetimes_are_refused():
    """A deadline needs a place: naive datetimes raise ValueError."""
    with pytest.raises(ValueError, match="timezone-aware"):
        PLAIN.add_working_days(datetime(2026, 1, 7, 10), 1)


# Business durations.


def test_business_durations_match_days_and_hours():
    """P5D is 5 working days, PT4H 4 working hours, and PT90M the same as PT1.5H."""
    start = wib(2026, 8, 14, 14)
    assert INDONESIA.add_business_duration(start, "P5D") == INDONESIA.add_working_days(start, 5)
    assert INDONESIA.add_business_duration(start, "PT4H") == INDONESIA.add_working_hours(start, 4)
    assert INDONESIA.add_business_duration(start, "PT90M") == INDONESIA.add_business_duration(start, "PT1,5H")


def test_business_duration_days_then_hours():
    """P1DT4H from Friday 14 Aug 2026 14:00 is Tuesday 18 Aug 16:00 (P1D) plus 4 hours: Wednesday 19 Aug 12:00."""
    assert INDONESIA.add_business_duration(wib(2026, 8, 14, 14), "P1DT4H") == wib(2026, 8, 19, 12)


def test_parse_business_duration():
    """A duration splits into whole working days and working time."""
    parsed = parse_business_duration("P2DT1H30M")
    assert (parsed.days, parsed.time) == (2, timedelta(hours=1, minutes=30))


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P1Y2M3D", "P2W", "P1.5D", "-P1D", "P", "PT", "5D", "", "P1H", "PT1D"])
def test_invalid_durations_are_rejected(text):
    """Months, years, weeks, fractional days, negative and malformed durations raise ValueError."""
    with pytest.raises(ValueError):
        INDONESIA.add_business_duration(wib(2026, 8, 14, 14), text)


def test_month_duration_error_explains_why():
    """The error for P1M says months have no fixed number of working days and is a DurationInvalidError."""
    with pytest.raises(DurationInvalidError, match="no fixed number of working days"):
        parse_business_duration("P1M")


@pytest.mark.parametrize("days", [-1, 1.5, True, "5"])
def test_invalid_day_counts_are_rejected(days):
    """Working days are a whole number of at least zero."""
    with pytest.raises(ValueError):
        PLAIN.add_working_days(wib(2026, 1, 7, 10), days)


# The calendar itself.


def test_day_outside_the_loaded_years_raises():
    """A calendar loaded for 2026 refuses to count into 2027 rather than ignore its holidays."""
    calendar = WorkingCalendar.indonesia(years=2026)
    with pytest.raises(CalendarRangeError, match="2027"):
        calendar.add_working_days(wib(2026, 12, 30, 10), 5)


def test_calendar_is_hashable_and_compares_by_value():
    """Two calendars built alike are equal and hash alike, so they can key a cache."""
    assert WorkingCalendar.indonesia(years=2026) == WorkingCalendar.indonesia(years=2026)
    assert hash(WorkingCalendar.indonesia(years=2026)) == hash(WorkingCalendar.indonesia(years=2026))
    assert WorkingCalendar.indonesia(years=2026) != WorkingCalendar.indonesia(years=2026, closures=[date(2026, 1, 9)])


def test_calendar_survives_pickling():
    """A calendar pickles (for a cache) and comes back equal, with the same closed dates and arithmetic."""
    restored = pickle.loads(pickle.dumps(INDONESIA))
    assert restored == INDONESIA and restored.closed_dates == INDONESIA.closed_dates
    assert restored.add_working_days(wib(2026, 8, 14, 14), 5) == wib(2026, 8, 24, 16)


@pytest.mark.parametrize(
    "options",
    [
        {"timezone": "Asia/Nowhere"},
        {"hours": "16:00-08:00"},
        {"hours": "08:00-12:00, 11:00-16:00"},
        {"hours": "eight to four"},
        {"working_weekdays": []},
        {"working_weekdays": [7]},
        {"weekday_hours": {5: "08:00-12:00"}},
        {"closed_dates": [datetime(2026, 1, 1, tzinfo=UTC)]},
    ],
)
def test_impossible_calendars_are_refused(options):
    """Unknown zones, backwards or overlapping hours, no working day and bad dates raise CalendarInvalidError."""
    with pytest.raises(CalendarInvalidError):
        WorkingCalendar(**options)


def test_week_skipping_agrees_with_walking_day_by_day():
    """Deadlines of 0-40 working days from starts all over 2026 match a plain day-by-day count."""
    start = wib(2026, 1, 1, 3)
    for step in range(0, 24 * 360, 37):
        moment = start + timedelta(hours=step)
        days = step % 41
        assert INDONESIA.add_working_days(moment, days) == _brute_force_deadline(INDONESIA, moment, days), moment
