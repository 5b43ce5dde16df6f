"""ISO 8601 durations read as business time: ``P5D`` is five working days, ``PT4H`` four working hours.

Only units with a fixed length in working time are accepted:

- days (``D``), a whole number: counted with :meth:`WorkingCalendar.add_working_days`;
- hours, minutes and seconds (``T…H``, ``T…M``, ``T…S``), decimals allowed (``PT1.5H``): counted with
  :meth:`WorkingCalendar.add_working_time`.

Years and months are rejected (a month has no fixed number of working days), and so are weeks, since it is
unclear whether ``P1W`` means seven working days or one working week; write ``P5D`` or ``P7D`` instead.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from .errors import DurationInvalidError

_NUMBER = r"\d+(?:[.,]\d+)?"
_PATTERN = re.compile(
    rf"P(?:(?P<years>{_NUMBER})Y)?(?:(?P<months>{_NUMBER})M)?(?:(?P<weeks>{_NUMBER})W)?(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?"
)
_REJECTED_UNITS = {
    "years": "years have no fixed number of working days; write the promise in days, e.g. P20D",
    "months": "months have no fixed number of working days; write the promise in days, e.g. P20D",
    "weeks": "weeks are ambiguous as business time; write P5D for one working week or P7D for seven working days",
}
_MICROSECONDS = {"hours": 3_600_000_000, "minutes": 60_000_000, "seconds": 1_000_000}


@dataclass(frozen=True)
class BusinessDuration:
    """Working days first, then working time: ``P1DT4H`` is one working day and then four working hours."""

    days: int = 0
    time: timedelta = timedelta()


def parse_business_duration(text):
    """The :class:`BusinessDuration` written as an ISO 8601 duration; raises DurationInvalidError otherwise."""
    if not isinstance(text, str):
        raise DurationInvalidError(f"a business duration must be an ISO 8601 text such as 'P5D', not {text!r}")
    return _parse(text)


@lru_cache(maxsize=512)
def _parse(text):
    cleaned = text.strip().upper()
    if cleaned.startswith("-"):
        raise DurationInvalidError(f"a business duration cannot be negative: {text!r}")
    match = _PATTERN.fullmatch(cleaned)
    if match is None or cleaned in ("P", "") or cleaned.endswith("T"):
        raise DurationInvalidError(f"{text!r} is not an ISO 8601 duration such as 'P5D', 'PT4H' or 'P1DT4H'")
    parts = match.groupdict()
    for unit, reason in _REJECTED_UNITS.items():
        if parts[unit] is not None:
            raise DurationInvalidError(f"{text!r}: {reason}")
    days = parts["days"] or "0"
    if not days.isdigit():
        raise DurationInvalidError(f"{text!r}: working days must be whole; write the fraction as hours, e.g. P1DT4H")
    microseconds = sum(
        Decimal(parts[unit].replace(",", ".")) * factor for unit, factor in _MICROSECONDS.items() if parts[unit]
    )
    return BusinessDuration(days=int(days), time=timedelta(microseconds=int(microseconds)))
