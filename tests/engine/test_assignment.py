"""Projection of the element catalog onto new inbox rows: assignee, candidates, dates, priority, lane owners."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from engine.models import EventType, HistoryEvent, HumanTask, HumanTaskStatus
from engine.selectors import human_task_list_for_user
from engine.services import human_task_complete, human_task_unclaim, instance_start
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _deploy(analyst, relative):
    content = fixture_bytes(relative)
    return definition_deploy(content=content, filename=relative, actor=analyst, agency=analyst.membership.agency)[0]


def _open(instance, element_id):
    return HumanTask.objects.get(instance=instance, element_id=element_id, status__in=["ready", "claimed"])


def _events(task, event_type):
    return list(HistoryEvent.objects.filter(human_task=task, event_type=event_type))


def _groups(task):
    return sorted(group.name for group in task.candidate_groups.all())


def _users(task):
    return sorted(user.username for user in task.candidate_users.all())


@pytest.fixture
def camunda7(analyst):
    return _deploy(analyst, "assignment/camunda7_assignment.bpmn")


@pytest.fixture
def zeebe(analyst):
    return _deploy(analyst, "assignment/zeebe_assignment.bpmn")


@pytest.fixture
def lane_owners(analyst):
    return _deploy(analyst, "assignment/spiff_lane_owners.bpmn")


def test_camunda_assignee_claims_the_task_for_that_user_at_creation(clock, camunda7, officer, other_agency):
    """camunda:assignee="${reviewer}" starts the task CLAIMED by the reviewer, with a system task_assigned event."""
    instance = instance_start(definition=camunda7, data={"reviewer": "officer", "follow_up_on": None}, actor=officer)
    task = _open(instance, "review_renewal")
    assert (task.status, task.assignee, task.claimed_at) == (HumanTaskStatus.CLAIMED, officer, NOW)
    [assigned] = _events(task, EventType.TASK_ASSIGNED)
    assert (assigned.actor_name, assigned.details["assignee"]) == ("system", "officer")
    created = _events(task, EventType.TASK_CREATED)[0]
    assert created.occurred_at <= assigned.occurred_at and created.id < assigned.id


def test_camunda_candidates_replace_the_lane_and_unknown_users_are_warned(clock, camunda7, officer, other_agency):
    """Candidate users by username (unknown ones ignored with a warning), groups through the agency, even another's."""
    instance = instance_start(definition=camunda7, data={"reviewer": "officer", "follow_up_on": None}, actor=officer)
    task = _open(instance, "review_renewal")
    assert _users(task) == ["officer"]
    assert _groups(task) == ["demo/Clerks", "other/Verifier"]
    details = _events(task, EventType.TASK_CREATED)[0].details
    assert details["warnings"] == ["candidate user 'ghost_user' is not an active user; ignored"]
    assert "problems" not in details


def test_due_and_follow_up_dates_priority_from_literals_and_expressions(clock, camunda7, officer):
    """P3D counts from creation; the follow-up date comes from the data; the priority literal is kept."""
    data = {"reviewer": "officer", "follow_up_on": "2026-11-24T09:00:00"}
    task = _open(instance_start(definition=camunda7, data=data, actor=officer), "review_renewal")
    assert task.due_at == NOW + timedelta(days=3)
    assert task.follow_up_at == datetime(2026, 11, 24, 9, 0, tzinfo=JAKARTA)  # no offset: the agency's zone
    assert task.priority == 70


def test_failing_expressions_fall_back_to_the_lane_and_are_recorded(clock, camunda7, officer, head):
    """Missing variables never stop the step: lane group, no assignee, no due date, priority 50, problems noted."""
    instance = instance_start(definition=camunda7, data={"reviewer": "officer", "follow_up_on": None}, actor=officer)
    human_task_complete(task_id=_open(instance, "review_renewal").pk, actor=officer, data={})
    task = _open(instance, "approve_renewal")
    assert (task.status, task.assignee, task.due_at, task.priority) == (HumanTaskStatus.READY, None, None, 50)
    assert _groups(task) == ["demo/Head of Office"] and _users(task) == []
    problems = _events(task, EventType.TASK_CREATED)[0].details["problems"]
    assert any(problem.startswith("assignee '#{approver}' failed:") for problem in problems)
    assert any(problem.startswith("candidate groups '${approver_group}' failed:") for problem in problems)
    assert "the task is offered to its lane instead" in problems
    assert any(problem.startswith("due date '${decision_due}' failed:") for problem in problems)
    assert task in human_task_list_for_user(head)


def test_expression_results_are_used_when_the_data_has_them(clock, camunda7, officer, head, second_officer):
    """With the variables set, the assignee, group, due date and priority come from the data."""
    data = {"reviewer": "officer", "follow_up_on": None, "approver": "head", "approver_group": "Directors",
            "decision_due": "2026-12-10", "urgency": "90", "archivist": "second_officer"}
    instance = instance_start(definition=camunda7, data=data, actor=officer)
    human_task_complete(task_id=_open(instance, "review_renewal").pk, actor=officer, data={})
    task = _open(instance, "approve_renewal")
    assert (task.assignee, task.priority, _groups(task)) == (head, 90, ["demo/Directors"])
    assert task.due_at == datetime(2026, 12, 10, tzinfo=JAKARTA)
    human_task_complete(task_id=task.pk, actor=head, data={})
    archive = _open(instance, "archive_file")  # a manual task inside a sub-process
    assert (_users(archive), archive.priority) == (["second_officer"], 100)
    assert archive.due_at == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_assignee_of_the_wrong_type_is_a_problem_not_a_crash(clock, camunda7, officer):
    """An assignee expression giving a number leaves the task unassigned and says why."""
    instance = instance_start(definition=camunda7, data={"reviewer": 7, "follow_up_on": None}, actor=officer)
    task = _open(instance, "review_renewal")
    assert task.status == HumanTaskStatus.READY and task.assignee is None
    [problem] = _events(task, EventType.TASK_CREATED)[0].details["problems"]
    assert problem == "assignee '${reviewer}' failed: an assignee must be a username, not int"


def test_zeebe_assignment_schedule_and_priority(clock, zeebe, officer, second_officer, applicant, other_agency):
    """FEEL assignee from the data, literal groups, a date-only due date, a literal follow-up and priority 80."""
    data = {"applicant_user": "applicant", "due_on": "2026-11-30", "urgency": 250,
            "reviewers": {"groups": ["other/Verifier"]}}
    instance = instance_start(definition=zeebe, data=data, actor=officer)
    task = _open(instance, "check_documents")
    assert (task.status, task.assignee, task.priority) == (HumanTaskStatus.CLAIMED, applicant, 80)
    assert _groups(task) == ["demo/Clerks", "demo/Front Office"]
    assert task.due_at == datetime(2026, 11, 30, tzinfo=JAKARTA)
    assert task.follow_up_at == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    human_task_complete(task_id=task.pk, actor=applicant, data={})
    decide = _open(instance, "decide_renewal")
    assert _users(decide) == ["officer", "second_officer"] and _groups(decide) == ["other/Verifier"]
    assert decide.priority == 100  # =urgency gave 250: clamped


def test_unclaiming_a_model_assigned_task_offers_it_to_its_candidates(clock, zeebe, officer, applicant):
    """The assignee from the model can give the task back; it then waits for its candidate groups."""
    data = {"applicant_user": "officer", "due_on": None, "urgency": 1, "reviewers": {"groups": []}}
    task = _open(instance_start(definition=zeebe, data=data, actor=officer), "check_documents")
    human_task_unclaim(task_id=task.pk, actor=officer)
    task.refresh_from_db()
    assert task.status == HumanTaskStatus.READY and task.due_at is None
    assert task in human_task_list_for_user(officer)


def test_lane_owners_offer_the_lane_task_to_the_listed_users(clock, lane_owners, officer, second_officer):
    """SpiffArena's lane_owners {lane: [usernames]} replaces the lane group; other lanes keep their group."""
    instance = instance_start(definition=lane_owners, data={"reviewers": ["second_officer", "nobody"]}, actor=officer)
    review = _open(instance, "Activity_ReviewItem")
    assert _users(review) == ["second_officer"] and _groups(review) == []
    assert _events(review, EventType.TASK_CREATED)[0].details["warnings"] == [
        "lane owner of 'Reviewer' 'nobody' is not an active user; ignored"]
    assert review not in human_task_list_for_user(officer)
    human_task_complete(task_id=review.pk, actor=second_officer, data={})
    filing = _open(instance, "Activity_FileItem")
    assert _groups(filing) == ["demo/Front Office"] and _users(filing) == []


def test_lane_owners_naming_nobody_known_fall_back_to_the_lane_group(clock, lane_owners, officer):
    """When every listed owner is unknown, the lane's group gets the task."""
    instance = instance_start(definition=lane_owners, data={"reviewers": ["ghost"]}, actor=officer)
    assert _groups(_open(instance, "Activity_ReviewItem")) == ["demo/Reviewer"]
