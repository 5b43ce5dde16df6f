"""The migration seam in memory (engine.spiff.migration): plans on the bundled permit process, no database."""

import re

from engine.spiff import ProcessRuntime, parse_process, plan_migration
from processes.bpmn_xml import parse_xml
from tests.conftest import fixture_bytes, library_bytes

PERMIT = library_bytes("permit_application/permit_application.bpmn")
# The legal review is dropped: the split's second branch goes straight to the join.
WITHOUT_LEGAL = (
    re.sub(rb'<bpmn:userTask id="legal_review".*?</bpmn:userTask>', b"", PERMIT, flags=re.S)
    .replace(b'<bpmn:sequenceFlow id="flow_legal_done" sourceRef="legal_review" targetRef="join_reviews" />', b"")
    .replace(b'targetRef="legal_review" />', b'targetRef="join_reviews" />')
    .replace(b"<bpmn:incoming>flow_legal_done</bpmn:incoming>", b"<bpmn:incoming>flow_to_legal</bpmn:incoming>")
)


def _parsed(content):
    return parse_process(parse_xml(content).getroot(), "permit_application")


def _runtime_after(*steps):
    runtime = ProcessRuntime.new(_parsed(PERMIT), {})
    runtime.start()
    for element_id, data in steps:
        task = next(task for task in runtime.ready_human_tasks() if task.element_id == element_id)
        assert runtime.complete_human_task(task.task_id, data).error is None
    return runtime


def _run_to_the_end(runtime):
    done = []
    while runtime.ready_human_tasks():
        task = runtime.ready_human_tasks()[0]
        assert runtime.complete_human_task(task.task_id, {"documents_complete": True}).error is None
        done.append(task.element_id)
    return done


def test_a_waiting_parallel_branch_on_a_removed_task_blocks():
    """Both reviews open, the legal review removed: cannot move, and the reason names the task and version."""
    runtime = _runtime_after(("check_completeness", {"documents_complete": True}))
    state = runtime.dump()
    plan = plan_migration(_parsed(PERMIT), _parsed(WITHOUT_LEGAL), state, target_label="version 2")
    assert not plan.can_move and plan.state is None
    assert plan.blockers == ["waiting at task 'Legal review' (legal_review) which version 2 removes"]
    assert runtime.dump() == state


def test_a_finished_removed_task_leaves_the_tree_and_the_join_still_fires():
    """Legal review done, then removed: it is dropped from the tree, and finishing the technical review
    passes the join on version 2 and runs to the end."""
    runtime = _runtime_after(("check_completeness", {"documents_complete": True}), ("legal_review", {}))
    plan = plan_migration(_parsed(PERMIT), _parsed(WITHOUT_LEGAL), runtime.dump(), target_label="version 2")
    assert plan.can_move, plan.blockers
    assert plan.dropped_finished == ["legal_review"]
    moved = ProcessRuntime.restore(_parsed(WITHOUT_LEGAL), plan.state)
    assert _run_to_the_end(moved) == ["technical_review", "approve_permit"]
    assert moved.is_completed and moved.data["permit_issued"] is True


def test_a_loop_through_the_revision_moves_and_keeps_its_data_and_task_id():
    """After a revision round the open check keeps its task id and the process data on the new version."""
    runtime = _runtime_after(("check_completeness", {"documents_complete": False, "note": "stamp missing"}),
                             ("revise_documents", {}))
    (before,) = runtime.ready_human_tasks()
    renamed = PERMIT.replace(b'name="Approve permit"', b'name="Approve or refuse the permit"')
    plan = plan_migration(_parsed(PERMIT), _parsed(renamed), runtime.dump(), target_label="version 2")
    assert plan.can_move and plan.dropped_finished == []
    moved = ProcessRuntime.restore(_parsed(renamed), plan.state)
    (after,) = moved.ready_human_tasks()
    assert (after.task_id, after.element_id) == (before.task_id, "check_completeness")
    assert moved.data["note"] == "stamp missing"
    assert _run_to_the_end(moved) == ["check_completeness", "technical_review", "legal_review", "approve_permit"]


def test_a_state_that_does_not_fit_the_source_is_reported_not_raised():
    """A state of another process is a blocker with a reason, not an exception."""
    other = parse_process(parse_xml(fixture_bytes("versions/licence_v1.bpmn")).getroot(), "shop_licence")
    runtime = ProcessRuntime.new(other, {})
    runtime.start()
    plan = plan_migration(_parsed(PERMIT), _parsed(PERMIT), runtime.dump(), target_label="version 2")
    assert not plan.can_move and plan.state is None
    assert len(plan.blockers) == 1 and plan.blockers[0].startswith("its stored state does not load on its own version")
