"""The SpiffWorkflow seam in memory: no database, just the runtime object and plain values."""

import json
from datetime import UTC, datetime, timedelta

import time_machine

from engine.spiff import ProcessRuntime, parse_process
from processes.bpmn_xml import parse_xml
from tests.conftest import fixture_bytes, library_bytes


def _permit():
    return parse_process(parse_xml(library_bytes("permit_application/permit_application.bpmn")).getroot(),
                         "permit_application")


def _complete(runtime, element_id, data=None):
    task = next(task for task in runtime.ready_human_tasks() if task.element_id == element_id)
    return runtime.complete_human_task(task.task_id, data or {})


def _ready(runtime):
    return sorted(task.element_id for task in runtime.ready_human_tasks())


def test_start_stops_at_the_first_user_task_with_its_lane():
    """Starting runs the start event and stops at the first user task, which carries its lane."""
    runtime = ProcessRuntime.new(_permit(), {"applicant": "Budi"})
    result = runtime.start()
    assert result.error is None
    assert [activity.element_id for activity in result.finished] == ["application_received"]
    (task,) = runtime.ready_human_tasks()
    assert (task.element_id, task.lane, task.name) == ("check_completeness", "Front Office",
                                                      "Check documents are complete")


def test_gateway_loops_back_and_parallel_branches_both_open():
    """A 'no' at the gateway loops through the applicant; a 'yes' opens both review branches."""
    runtime = ProcessRuntime.new(_permit(), {})
    runtime.start()
    _complete(runtime, "check_completeness", {"documents_complete": False})
    assert _ready(runtime) == ["revise_documents"]
    _complete(runtime, "revise_documents")
    _complete(runtime, "check_completeness", {"documents_complete": True})
    assert _ready(runtime) == ["legal_review", "technical_review"]


def test_state_survives_a_json_round_trip_without_the_spec():
    """The stored state holds no spec and restores onto the parsed spec with the same tasks and timers."""
    process = _permit()
    runtime = ProcessRuntime.new(process, {"applicant": "Budi"})
    runtime.start()
    _complete(runtime, "check_completeness", {"documents_complete": True})
    state = json.loads(json.dumps(runtime.dump()))
    assert "spec" not in state and "subprocess_specs" not in state
    restored = ProcessRuntime.restore(process, state)
    assert _ready(restored) == ["legal_review", "technical_review"]
    assert restored.waiting_timers() == runtime.waiting_timers()
    assert restored.data["applicant"] == "Budi"


def test_boundary_timer_due_date_is_three_days_after_the_task_opened():
    """The non-interrupting P3D boundary timer waits with a due date three days after the review opened."""
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        runtime = ProcessRuntime.new(_permit(), {})
        runtime.start()
        _complete(runtime, "check_completeness", {"documents_complete": True})
        (timer,) = runtime.waiting_timers()
    assert (timer.element_id, timer.kind, timer.timer_type) == ("review_overdue", "boundary", "duration")
    assert timer.due_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def test_firing_a_non_interrupting_timer_keeps_the_task_open():
    """Firing the reminder runs its branch while the technical review stays ready."""
    runtime = ProcessRuntime.new(_permit(), {})
    runtime.start()
    _complete(runtime, "check_completeness", {"documents_complete": True})
    (timer,) = runtime.waiting_timers()
    result = runtime.fire_timer(timer.task_id)
    assert [a.element_id for a in result.finished] == ["review_overdue", "record_reminder", "reminder_recorded"]
    assert _ready(runtime) == ["legal_review", "technical_review"]
    assert runtime.data["reminders_sent"] == 1
    assert runtime.fire_timer(timer.task_id) is None


def test_whole_permit_runs_to_its_end():
    """Completing every task in turn ends the process with the script's result in the data."""
    runtime = ProcessRuntime.new(_permit(), {})
    runtime.start()
    _complete(runtime, "check_completeness", {"documents_complete": True})
    _complete(runtime, "technical_review")
    _complete(runtime, "legal_review")
    result = _complete(runtime, "approve_permit")
    assert [a.element_id for a in result.finished] == ["approve_permit", "issue_permit", "permit_issued"]
    assert runtime.is_completed and runtime.data["permit_issued"] is True
    assert runtime.waiting_timers() == []


def test_unquoted_and_quoted_durations_both_work():
    """Timer values written bare (P5D) and quoted ("PT1H") are both understood."""
    process = parse_process(parse_xml(fixture_bytes("timers/timers.bpmn")).getroot(), "timer_scenarios")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        runtime = ProcessRuntime.new(process, {"reminders": 0})
        runtime.start()
        (cooling_off,) = runtime.waiting_timers()
        assert cooling_off.due_at == start + timedelta(hours=1)
        runtime.fire_timer(cooling_off.task_id)
        due = {timer.element_id: timer.due_at for timer in runtime.waiting_timers()}
    assert due == {"review_deadline": start + timedelta(days=5), "review_reminder": start + timedelta(days=1)}


def test_script_failure_is_reported_with_its_element_not_raised():
    """A failing script gives a step error naming the element; the user task before it still completed."""
    process = parse_process(parse_xml(fixture_bytes("script_error/script_error.bpmn")).getroot(), "fee_calculation")
    runtime = ProcessRuntime.new(process, {"applicant": "Siti"})
    runtime.start()
    result = _complete(runtime, "enter_amount", {"amount": 10**9})
    assert result.error is not None and result.error.element_id == "compute_fee"
    assert "too large" in str(result.error)
    assert [a.element_id for a in result.finished] == ["enter_amount"]
