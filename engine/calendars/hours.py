"""Opening hours written by people (``"08:00-12:00, 13:00-16:00"``) turned into checked intervals.

An interval is a pair of local wall-clock times, start included and end excluded. An end of ``00:00`` (or
``"24:00"``) means midnight at the end of the day, so ``("00:00", "24:00")`` is a whole day.
"""

from datetime import time

from .errors import CalendarInvalidError

DAY_SECONDS = 24 * 3600


def _clock(value, *, is_end):
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise CalendarInvalidError(f"opening hours are local wall-clock times, without a time zone: {value!r}")
        return value
    if isinstance(value, str):
        text = value.strip()
        if is_end and text in ("24:00", "24:00:00"):
            return time(0)
        try:
            return time.fromisoformat(text)
        except ValueError:
            pass
    raise CalendarInvalidError(f"{value!r} is not a time of day such as '08:00'")


def _pairs(spec):
    if isinstance(spec, str):
        pieces = [piece for piece in spec.split(",") if piece.strip()]
        pairs = []
        for piece in pieces:
            start, separator, end = piece.partition("-")
            if not separator:
                raise CalendarInvalidError(f"{piece.strip()!r} is not an interval such as '08:00-16:00'")
            pairs.append((start, end))
        return pairs
    try:
        return [tuple(pair) for pair in spec]
    except TypeError:
        raise CalendarInvalidError(f"{spec!r} is not a list of (start, end) opening hours") from None


def seconds_of(clock, *, is_end):
    """Seconds since local midnight; an end at 00:00 counts as the midnight that closes the day."""
    seconds = clock.hour * 3600 + clock.minute * 60 + clock.second
    return DAY_SECONDS if is_end and seconds == 0 else seconds


def parse_intervals(spec):
    """Opening hours as a sorted tuple of ``(start, end)`` times; raises CalendarInvalidError when impossible.

    ``spec`` is a text such as ``"08:00-12:00, 13:00-16:00"`` or a sequence of pairs of ``"HH:MM"`` texts or
    :class:`datetime.time` objects. An empty spec means closed all day.
    """
    intervals = []
    for pair in _pairs(spec):
        if len(pair) != 2:
            raise CalendarInvalidError(f"{pair!r} is not a (start, end) pair of times")
        start, end = _clock(pair[0], is_end=False), _clock(pair[1], is_end=True)
        if seconds_of(start, is_end=False) >= seconds_of(end, is_end=True):
            raise CalendarInvalidError(f"opening hours must end after they start: {pair!r}")
        if start.microsecond or end.microsecond:
            raise CalendarInvalidError(f"opening hours are given to the second at most: {pair!r}")
        intervals.append((start, end))
    intervals.sort(key=lambda interval: seconds_of(interval[0], is_end=False))
    for previous, following in zip(intervals, intervals[1:], strict=False):
        if seconds_of(previous[1], is_end=True) > seconds_of(following[0], is_end=False):
            raise CalendarInvalidError(f"opening hours overlap: {previous!r} and {following!r}")
    return tuple(intervals)


def interval_seconds(intervals):
    """The same intervals as ``(start_second, end_second)`` pairs counted from local midnight."""
    return tuple((seconds_of(start, is_end=False), seconds_of(end, is_end=True)) for start, end in intervals)
