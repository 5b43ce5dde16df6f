"""The history simulator: it drives the engine's services on a simulated clock, reproducibly for a seed."""

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from engine.calendars.for_agency import calendar_for_agency
from engine.models import (
    OPEN_TASK_STATUSES,
    EventType,
    HistoryEvent,
    HumanTask,
    InboxCountDelta,
    InboxCountedTask,
    InstanceStatus,
    OpenTaskVariable,
    ProcessInstance,
)
from engine.services.inbox_counts import inbox_counts_rebuild
from engine.simulation.library import library_profiles
from engine.simulation.profile import FILENAME, SimulationProfileError, load_profile, parse_profile
from engine.simulation.run import Simulation
from engine.task_variables import carried_variables
from processes.bpmn_xml import parse_xml
from processes.library import LIBRARY_DIR, bpmn_files, deploy_folder
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

JAKARTA = ZoneInfo("Asia/Jakarta")
# Monday 2 to Friday 6 November 2026 (exclusive): four working days, no holiday.
START, END = datetime(2026, 11, 2, tzinfo=JAKARTA), datetime(2026, 11, 6, tzinfo=JAKARTA)

PERMIT_OFFICE = {
    "arrivals": {"per_working_day": 7},
    "staff": {"Front Office": 1, "Verifier": 2, "Head of Office": 1},
    "tasks": {
        "check_completeness": {
            "work_minutes": [10, 20, 40],
            "outcomes": [
                {"weight": 35, "data": {"documents_complete": False, "missing_documents": "Site plan"}},
                {"weight": 65, "data": {"documents_complete": True}},
            ],
        },
        "revise_documents": {"applicant_days": [0.5, 1, 6], "abandon": 0.2},
        "technical_review": {"work_minutes": [60, 120, 240]},
        "legal_review": {"work_minutes": [20, 40, 90]},
        "approve_permit": {"work_minutes": [5, 10, 20]},
    },
}


@pytest.fixture
def permit(agency):
    deploy_folder(LIBRARY_DIR / "permit_application", actor=None, agency=agency)
    return next(definition for definition, _ in library_profiles(agency) if definition.key == "permit_application")


_RUNS = {}  # seed -> outcome: the runs are plain data, shared by the tests that only read them


def simulated(agency, definition, seed):
    if seed not in _RUNS:
        _RUNS[seed] = simulate(agency, definition, seed)
    return _RUNS[seed]


def simulate(agency, definition, seed):
    """Run four days with ``seed``, read back what the engine recorded, and roll it all back."""
    with transaction.atomic():
        profile = parse_profile(PERMIT_OFFICE, definition.key)
        stats = Simulation(processes=[(definition, profile)], start=START, end=END, seed=seed,
                           citizens=15).run()
        outcome = {"stats": dict(stats), "events": _events(), "states": _states(), "work": _officer_work(),
                   "projections": _projections()}
        transaction.set_rollback(True)
    return outcome


def _events():
    """The history as (instance number, type, element, actor, moment): pks and tracking codes left out."""
    numbers = {}
    events = []
    for event in HistoryEvent.objects.filter(instance__isnull=False).select_related("actor").order_by("pk"):
        number = numbers.setdefault(event.instance_id, len(numbers))
        actor = event.actor.username if event.actor else None
        events.append((number, event.event_type, event.element_id, actor, event.occurred_at.isoformat()))
    return events


def _projections():
    """The inbox's counters and the open tasks' variables as the run left them, and as recomputed from the rows."""
    def counters():
        sums = Counter()
        for *key, tasks in InboxCountDelta.objects.values_list("audience_id", "process_key", "status",
                                                               "flagged_overdue", "tasks"):
            sums[tuple(key)] += tasks
        return (set(InboxCountedTask.objects.values_list("task_id", "audience_id", "status", "flagged_overdue")),
                {key: tasks for key, tasks in sums.items() if tasks})

    kept = counters()
    inbox_counts_rebuild()
    variables = set(OpenTaskVariable.objects.values_list("task_id", "name", "value", "due_at"))
    from_rows = {
        (task.pk, name, value, task.due_at)
        for task in HumanTask.objects.filter(status__in=OPEN_TASK_STATUSES).select_related("instance")
        for name, value in carried_variables(task.instance.data).items()
    }
    return {"counters": (kept, counters()), "variables": (variables, from_rows)}


def _states():
    """How many instances are completed, with an officer, or waiting for the applicant."""
    states = Counter()
    for instance in ProcessInstance.objects.order_by("pk"):
        lanes = {task.lane for task in HumanTask.objects.filter(instance=instance) if task.is_open}
        if instance.status == InstanceStatus.COMPLETED:
            states["completed"] += 1
        elif "Applicant" in lanes:
            states["waiting for the applicant"] += 1
        elif lanes:
            states["with an officer"] += 1
    return states


def _officer_work():
    """(officer, claimed at, completed at) of every task a simulated officer completed."""
    return [
        (task.completed_by.username, task.claimed_at, task.completed_at)
        for task in HumanTask.objects.filter(completed_by__username__startswith="sim.").exclude(lane="Applicant")
    ]


def test_a_seed_gives_the_same_history_and_another_seed_a_different_one(agency, permit):
    """Two runs with one seed write identical event sequences; another seed writes another history."""
    first, again, other = simulated(agency, permit, 1), simulate(agency, permit, 1), simulate(agency, permit, 2)
    assert first["stats"]["instances started"] >= 15
    assert first["events"] == again["events"]
    assert first["events"] != other["events"]


def test_a_short_run_leaves_instances_completed_open_and_waiting_for_the_applicant(agency, permit):
    """After four days some applications are done, some are with officers and some wait for the citizen."""
    outcome = simulated(agency, permit, 1)
    states = outcome["states"]
    assert states["completed"] > 0
    assert states["with an officer"] > 0
    assert states["waiting for the applicant"] > 0
    assert outcome["stats"]["tasks completed"] > states["completed"] * 4
    kinds = {event[1] for event in outcome["events"]}
    assert {EventType.INSTANCE_STARTED, EventType.TASK_CLAIMED, EventType.TASK_COMPLETED,
            EventType.INSTANCE_COMPLETED, EventType.CLOCK_PAUSED} <= kinds


def test_the_run_leaves_the_inbox_counters_and_task_variables_exact(agency, permit):
    """The simulator defers both to the end of each batch; what it leaves is what the rows say."""
    projections = simulated(agency, permit, 1)["projections"]
    kept, recounted = projections["counters"]
    assert len(kept[0]) > 5 and kept == recounted
    held, from_rows = projections["variables"]
    assert len(held) > 5 and held == from_rows


def test_officers_work_in_office_hours_one_task_at_a_time(agency, permit):
    """Every claim and completion by a simulated officer is in working time, and an officer's tasks never overlap."""
    calendar = calendar_for_agency(agency)
    work = simulated(agency, permit, 1)["work"]
    assert len(work) > 15
    by_officer = defaultdict(list)
    for officer, claimed_at, completed_at in work:
        assert calendar.is_working_time(claimed_at)
        assert calendar.is_working_time(completed_at) or calendar.working_time_between(claimed_at, completed_at)
        assert claimed_at < completed_at
        by_officer[officer].append((claimed_at, completed_at))
    for spans in by_officer.values():
        spans.sort()
        assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False))


def test_every_bundled_profile_names_elements_and_lanes_of_its_process():
    """Each simulation.json in the library parses, and its tasks and groups exist in the BPMN beside it."""
    checked = 0
    for path in bpmn_files(LIBRARY_DIR):
        profile_path = path.parent / FILENAME
        if not profile_path.is_file():
            continue
        tree = parse_xml(path.read_bytes())
        ids = {element.get("id") for element in tree.iter() if element.get("id")}
        names = {element.get("name") for element in tree.iter() if element.get("name")}
        profile = load_profile(profile_path, path.stem)
        assert set(profile.tasks) <= ids, path
        assert set(profile.staff) <= names, path
        assert set(profile.messages) <= names | ids, path
        assert profile.per_working_day or profile.per_day, path
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({"arrivals": {"per_hour": 3}}, "arrivals must be"),
        ({"tasks": {"x": {"work_minutes": [5, 1, 9]}}}, "low <= most likely <= high"),
        ({"tasks": {"x": {}}}, "either work_minutes"),
        ({"tasks": {"x": {"applicant_days": [1, 2, 3], "abandon": 2}}}, "probability"),
        ({"staff": {"Verifier": -1}}, "whole number"),
        ({"surprise": 1}, "unknown keys"),
    ],
)
def test_a_malformed_profile_is_refused_with_the_reason(profile, message):
    """A profile with impossible values is refused, saying which value and why."""
    with pytest.raises(SimulationProfileError, match=message):
        parse_profile(profile, "p")


def test_applicants_send_the_messages_the_process_waits_for_and_silence_lets_its_timer_fire(agency):
    """Awaited messages are correlated by the applicant after their delay; those who never answer run into
    the process's 14-day timer, which the simulated sweeper fires."""
    definition, _created = definition_deploy(
        content=fixture_bytes("messages/document_resubmission.bpmn"), filename="document_resubmission.bpmn",
        actor=None, agency=agency,
    )
    profile = parse_profile({
        "arrivals": {"per_working_day": 3},
        "staff": {"Front Office": 1},
        "tasks": {
            "check_documents": {
                "work_minutes": [10, 20, 30],
                "outcomes": [{"weight": 1, "data": {"documents_complete": False}}],
                "outcomes_on_repeat": [{"weight": 1, "data": {"documents_complete": True}}],
            },
            "issue_decision": {"work_minutes": [5, 10, 15]},
        },
        "messages": {"documents_resubmitted": {"applicant_days": [1, 2, 4], "abandon": 0.4}},
    }, definition.key)
    start = datetime(2026, 11, 2, tzinfo=JAKARTA)
    stats = Simulation(processes=[(definition, profile)], start=start, end=start + timedelta(days=28), seed=5,
                       citizens=10).run()
    assert stats["messages delivered"] > 0
    assert stats["timers fired"] > 0
    finished = Counter(
        HistoryEvent.objects.filter(event_type=EventType.ACTIVITY_COMPLETED,
                                    element_id__in=["issue_decision", "cancel_application"])
        .values_list("element_id", flat=True)
    )
    assert finished["issue_decision"] > 0 and finished["cancel_application"] > 0
