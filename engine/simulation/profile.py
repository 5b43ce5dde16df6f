"""A process's simulation profile: ``simulation.json`` beside its BPMN file in the library.

It describes the office around the process, in terms a manager can check::

    {
      "arrivals": {"per_working_day": 40},          # or {"per_day": 40}: online, around the clock
      "start_data": {"district": {"one_of": [["Menteng", 3], ["Gambir", 1]]}},
      "staff": {"Front Office": 2, "Verifier": 3},  # officers per group (lane or candidate group)
      "tasks": {
        "check_completeness": {
          "work_minutes": [10, 20, 60],             # officer's handling time: low, most likely, high
          "outcomes": [                             # the form data that steers the gateways, by weight
            {"weight": 20, "data": {"documents_complete": false}},
            {"weight": 80, "data": {"documents_complete": true}}
          ],
          "outcomes_on_repeat": [...]               # optional: from the second visit of the same task on
        },
        "revise_documents": {"applicant_days": [1, 3, 14], "abandon": 0.05, "data": {}}
      },
      "messages": {"documents_resubmitted": {"applicant_days": [1, 2, 10], "abandon": 0.05, "data": {}}}
    }

Times are triangular distributions ``[low, most likely, high]``: officers' ``work_minutes`` count working
time only (the agency calendar: work stops at closing time and goes on the next working day); applicants'
``applicant_days`` are calendar days. ``abandon`` is the chance the applicant never answers: the instance then
waits for them to the end of the simulation. Data values are literals or one of ``{"one_of": [[value,
weight], ...]}``, ``{"between": [low, high]}`` (a whole number), ``{"counter": "PREFIX-{n:06d}"}`` (unique),
``{"today": true}`` (the simulated date, ``YYYY-MM-DD``) and ``{"days_ago": [[low, high, weight], ...]}`` (a date
a whole number of days before the simulated date, from one of the weighted ranges).

Two more keys: ``"started_by": "Petugas Loket"`` at the top starts each application as an officer of that
group, for the applicant (a counter service; default: the applicant starts it online); ``"ready_after_days"``
on an officer's task holds it back until the applicant turns up (collecting a card: the officer can only hand
it over then), with ``abandon`` the chance they never do.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from engine.exceptions import EngineError

FILENAME = "simulation.json"


class SimulationProfileError(EngineError):
    """A simulation profile is missing, malformed or names something impossible."""


@dataclass(frozen=True)
class Triangle:
    low: float
    mode: float
    high: float

    def sample(self, rng):
        return rng.triangular(self.low, self.high, self.mode)


@dataclass(frozen=True)
class TaskProfile:
    work_minutes: Triangle | None = None
    applicant_days: Triangle | None = None
    ready_after_days: Triangle | None = None
    abandon: float = 0.0
    outcomes: tuple = ()  # ((weight, data), ...)
    outcomes_on_repeat: tuple = ()

    @property
    def by_applicant(self):
        return self.applicant_days is not None


@dataclass(frozen=True)
class MessageProfile:
    applicant_days: Triangle
    abandon: float = 0.0
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessProfile:
    process_key: str
    per_working_day: float = 0.0
    per_day: float = 0.0
    start_data: dict = field(default_factory=dict)
    started_by: str = ""
    staff: dict = field(default_factory=dict)
    tasks: dict = field(default_factory=dict)
    messages: dict = field(default_factory=dict)


def load_profile(path, process_key):
    """The profile in ``path`` for the process ``process_key``; ``SimulationProfileError`` says what is wrong."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SimulationProfileError(f"{path}: cannot be read as JSON: {error}")
    return parse_profile(raw, process_key, where=str(path))


def parse_profile(raw, process_key, *, where="profile"):
    _require(isinstance(raw, dict), where, "must be a JSON object")
    unknown = set(raw) - {"about", "arrivals", "start_data", "started_by", "staff", "tasks", "messages"}
    _require(not unknown, where, f"unknown keys {sorted(unknown)}")
    arrivals = raw.get("arrivals", {})
    _require(isinstance(arrivals, dict) and set(arrivals) <= {"per_working_day", "per_day"}, where,
             "arrivals must be {'per_working_day': N} or {'per_day': N}")
    staff = raw.get("staff", {})
    _require(isinstance(staff, dict), where, "staff must map group names to numbers of officers")
    for group, count in staff.items():
        _require(isinstance(count, int) and not isinstance(count, bool) and count >= 0, where,
                 f"staff[{group!r}] must be a whole number of officers")
    tasks = raw.get("tasks", {})
    _require(isinstance(tasks, dict), where, "tasks must map task ids to their profile")
    messages = raw.get("messages", {})
    _require(isinstance(messages, dict), where, "messages must map message names to their profile")
    start_data = raw.get("start_data", {})
    _require(isinstance(start_data, dict), where, "start_data must be a JSON object")
    return ProcessProfile(
        process_key=process_key,
        per_working_day=_rate(arrivals.get("per_working_day", 0), where),
        per_day=_rate(arrivals.get("per_day", 0), where),
        start_data=start_data,
        started_by=str(raw.get("started_by", "")),
        staff=dict(staff),
        tasks={task_id: _task(value, f"{where}: tasks.{task_id}") for task_id, value in tasks.items()},
        messages={name: _message(value, f"{where}: messages.{name}") for name, value in messages.items()},
    )


def _require(condition, where, message):
    if not condition:
        raise SimulationProfileError(f"{where}: {message}")


def _rate(value, where):
    _require(isinstance(value, int | float) and not isinstance(value, bool) and value >= 0, where,
             "arrival rates must be numbers of at least 0")
    return float(value)


def _triangle(value, where, name):
    _require(
        isinstance(value, list) and len(value) == 3
        and all(isinstance(item, int | float) and not isinstance(item, bool) for item in value),
        where, f"{name} must be [low, most likely, high]",
    )
    low, mode, high = value
    _require(0 <= low <= mode <= high, where, f"{name} must satisfy 0 <= low <= most likely <= high")
    return Triangle(float(low), float(mode), float(high))


def _probability(value, where):
    _require(isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1, where,
             "abandon must be a probability between 0 and 1")
    return float(value)


def _outcomes(value, where, name):
    _require(isinstance(value, list) and value, where, f"{name} must be a non-empty list")
    parsed = []
    for item in value:
        _require(isinstance(item, dict) and isinstance(item.get("data", {}), dict), where,
                 f"each of {name} is {{'weight': W, 'data': {{...}}}}")
        weight = item.get("weight", 1)
        _require(isinstance(weight, int | float) and not isinstance(weight, bool) and weight > 0, where,
                 f"weights in {name} must be positive numbers")
        parsed.append((float(weight), item.get("data", {})))
    return tuple(parsed)


def _task(value, where):
    _require(isinstance(value, dict), where, "must be a JSON object")
    known = {"work_minutes", "applicant_days", "ready_after_days", "abandon", "outcomes", "outcomes_on_repeat", "data"}
    unknown = set(value) - known
    _require(not unknown, where, f"unknown keys {sorted(unknown)}")
    _require(("work_minutes" in value) != ("applicant_days" in value), where,
             "needs either work_minutes (an officer's task) or applicant_days (the applicant's)")
    outcomes = _outcomes(value["outcomes"], where, "outcomes") if "outcomes" in value else ()
    if "data" in value:
        _require(not outcomes and isinstance(value["data"], dict), where, "give data or outcomes, not both")
        outcomes = ((1.0, value["data"]),)
    return TaskProfile(
        work_minutes=_triangle(value["work_minutes"], where, "work_minutes") if "work_minutes" in value else None,
        applicant_days=(
            _triangle(value["applicant_days"], where, "applicant_days") if "applicant_days" in value else None
        ),
        ready_after_days=(
            _triangle(value["ready_after_days"], where, "ready_after_days") if "ready_after_days" in value else None
        ),
        abandon=_probability(value.get("abandon", 0), where),
        outcomes=outcomes,
        outcomes_on_repeat=(
            _outcomes(value["outcomes_on_repeat"], where, "outcomes_on_repeat")
            if "outcomes_on_repeat" in value else ()
        ),
    )


def _message(value, where):
    _require(isinstance(value, dict) and "applicant_days" in value, where, "needs applicant_days")
    data = value.get("data", {})
    _require(isinstance(data, dict), where, "data must be a JSON object")
    return MessageProfile(
        applicant_days=_triangle(value["applicant_days"], where, "applicant_days"),
        abandon=_probability(value.get("abandon", 0), where),
        data=data,
    )


def choose_outcome(outcomes, rng):
    """The data of one outcome, drawn by weight (``{}`` when there are none)."""
    if not outcomes:
        return {}
    total = sum(weight for weight, _ in outcomes)
    point = rng.random() * total
    for weight, data in outcomes:
        point -= weight
        if point < 0:
            return data
    return outcomes[-1][1]


def sample_data(template, rng, counters, today):
    """``template`` with its sampled values drawn (``counters`` numbers the ``counter`` values)."""
    return {key: _sample_value(value, rng, counters, key, today) for key, value in template.items()}


def _sample_value(value, rng, counters, key, today):
    if not isinstance(value, dict) or len(value) != 1:
        return value
    (kind, spec), = value.items()
    if kind == "one_of":
        return choose_outcome(tuple((float(weight), item) for item, weight in spec), rng)
    if kind == "between":
        low, high = spec
        return rng.randint(int(low), int(high))
    if kind == "counter":
        counters[key] = counters.get(key, 0) + 1
        return spec.format(n=counters[key])
    if kind == "today":
        return today.isoformat()
    if kind == "days_ago":
        low, high = choose_outcome(tuple((float(weight), (low, high)) for low, high, weight in spec), rng)
        return (today - timedelta(days=rng.randint(int(low), int(high)))).isoformat()
    return value
