"""Due dates of timer start events, computed with SpiffWorkflow's ISO 8601 parsing."""

from datetime import timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.exceptions import DefinitionInvalidError

from .script_engine import SCRIPT_ENGINE


def _value_of(expression):
    value = SCRIPT_ENGINE.environment.evaluate(expression, {})
    if not isinstance(value, str):
        raise ValueError(f"a timer expression must give an ISO 8601 text, not {value!r}")
    return value


def first_occurrence(timer_type, expression, now):
    """(due_at, remaining_cycles, interval) of a start timer's first occurrence.

    remaining_cycles counts the occurrences left after this one (-1: unbounded); interval is the
    cycle's duration (None for date and duration timers).
    """
    try:
        value = _value_of(expression)
        if timer_type == "date":
            return TimerEventDefinition.get_datetime(value), 0, None
        if timer_type == "duration":
            duration = TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(value), now
            )
            return now + duration, 0, None
        cycles, start, interval = TimerEventDefinition.parse_iso_recurring_interval(value)
        remaining = -1 if cycles < 0 else cycles - 1
        return start, remaining, interval
    except DefinitionInvalidError:
        raise
    except Exception as error:  # noqa: BLE001 - any parse failure is the model's error
        raise DefinitionInvalidError(
            f"Invalid timer expression {expression!r}: {error}",
            [{"message": f"Invalid timer expression {expression!r}: {error}", "line": None, "element_id": None}],
        )


def cycle_interval(expression):
    """The interval between occurrences of a cycle timer."""
    _cycles, _start, interval = TimerEventDefinition.parse_iso_recurring_interval(_value_of(expression))
    return interval if interval > timedelta(0) else timedelta(seconds=1)


_PARSERS = {
    "date": TimerEventDefinition.get_datetime,
    "duration": TimerEventDefinition.parse_iso_duration,
    "cycle": TimerEventDefinition.parse_iso_recurring_interval,
}


def timer_text_problem(timer_type, text):
    """Why ``text`` is not a valid ISO 8601 value for a date, duration or cycle timer; None when it is."""
    try:
        _PARSERS[timer_type](text)
    except Exception as error:  # noqa: BLE001 - SpiffWorkflow reports bad values with assorted errors
        return str(error) or type(error).__name__
    return None
