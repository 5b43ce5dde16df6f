"""Agencies as tenants: who sees and works which task, cross-agency steps, and the task lifecycle."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.agencies import agency_group
from engine.analytics.elements import bottleneck_report
from engine.analytics.scope import Scope
from engine.exceptions import (
    PermissionDeniedError,
    TaskAssigneeInvalidError,
    TaskClaimedError,
    TaskDelegatedError,
    TaskNotReadyError,
    TaskPermissionError,
)
from engine.models import DelegationState, EventType, HistoryEvent, HumanTask, HumanTaskStatus, Role
from engine.selectors import human_task_list_for_user, instance_list_for_user
from engine.services import (
    human_task_assign,
    human_task_claim,
    human_task_complete,
    human_task_delegate,
    human_task_resolve,
    human_task_unclaim,
    instance_start,
)
from processes.services import definition_deploy
from tests.conftest import library_bytes, make_user

pytestmark = pytest.mark.django_db

CROSS_AGENCY = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="joint_review" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="Front Office"><bpmn:flowNodeRef>intake</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="other/Verifier"><bpmn:flowNodeRef>verify</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l3" name="Applicant"><bpmn:flowNodeRef>sign</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="intake" />
    <bpmn:userTask id="intake" name="Intake" />
    <bpmn:sequenceFlow id="f2" sourceRef="intake" targetRef="verify" />
    <bpmn:userTask id="verify" name="Verify at the other agency" />
    <bpmn:sequenceFlow id="f3" sourceRef="verify" targetRef="sign" />
    <bpmn:userTask id="sign" name="Applicant signs" />
    <bpmn:sequenceFlow id="f4" sourceRef="sign" targetRef="unassigned" />
    <bpmn:userTask id="unassigned" name="Anyone in the office" />
    <bpmn:sequenceFlow id="f5" sourceRef="unassigned" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def permit(analyst, agency):
    content = library_bytes("permit_application/permit_application.bpmn")
    return definition_deploy(content=content, filename="permit.bpmn", actor=analyst, agency=agency)[0]


@pytest.fixture
def joint(analyst, agency, other_agency):
    return definition_deploy(content=CROSS_AGENCY, filename="joint.bpmn", actor=analyst, agency=agency)[0]


def _open(instance, element_id):
    return HumanTask.objects.get(instance=instance, element_id=element_id, status__in=["ready", "claimed"])


def test_officer_of_another_agency_sees_nothing_of_ours(permit, applicant, officer, outsider):
    """Tasks stay in their agency: an officer of another agency with same-named groups sees none."""
    instance_start(definition=permit, data={}, actor=applicant)
    assert human_task_list_for_user(officer).count() == 1
    assert human_task_list_for_user(outsider).count() == 0
    task = HumanTask.objects.get()
    with pytest.raises(TaskPermissionError):
        human_task_claim(task_id=task.pk, actor=outsider)


def test_cross_agency_step_reaches_the_other_agency_group(joint, applicant, officer, outsider):
    """A lane naming 'other/Verifier' offers the task to that agency's group, and only there."""
    instance = instance_start(definition=joint, data={}, actor=applicant)
    human_task_complete(task_id=_open(instance, "intake").pk, actor=officer, data={})
    verify = _open(instance, "verify")
    assert [group.name for group in verify.candidate_groups.all()] == ["other/Verifier"]
    assert list(human_task_list_for_user(outsider)) == [verify]
    assert verify not in human_task_list_for_user(officer)
    human_task_complete(task_id=verify.pk, actor=outsider, data={"verified": True})
    assert instance in instance_list_for_user(outsider)


def test_applicant_lane_goes_to_the_citizen_who_applied(joint, applicant, officer, outsider):
    """The Applicant lane's task is offered to the instance's applicant alone, not to other citizens."""
    instance = instance_start(definition=joint, data={}, actor=applicant)
    other_citizen = make_user("other_citizen")
    human_task_complete(task_id=_open(instance, "intake").pk, actor=officer, data={})
    human_task_complete(task_id=_open(instance, "verify").pk, actor=outsider, data={})
    sign = _open(instance, "sign")
    assert list(sign.candidate_users.all()) == [applicant]
    assert list(human_task_list_for_user(applicant)) == [sign]
    assert human_task_list_for_user(other_citizen).count() == 0
    assert instance in instance_list_for_user(applicant)
    assert instance not in instance_list_for_user(other_citizen)


def test_task_without_lane_is_for_staff_of_its_agency(joint, applicant, officer, outsider, manager):
    """A task with no candidates is open to the agency's officers; managers see it but cannot work it."""
    instance = instance_start(definition=joint, data={}, actor=applicant)
    for element_id, actor in (("intake", officer), ("verify", outsider), ("sign", applicant)):
        human_task_complete(task_id=_open(instance, element_id).pk, actor=actor, data={})
    task = _open(instance, "unassigned")
    assert task in human_task_list_for_user(officer) and task in human_task_list_for_user(manager)
    assert task not in human_task_list_for_user(outsider)
    with pytest.raises(TaskPermissionError):
        human_task_claim(task_id=task.pk, actor=manager)
    human_task_claim(task_id=task.pk, actor=officer)


def test_supervisor_assigns_and_takes_back(permit, applicant, officer, second_officer, supervisor, outsider):
    """A supervisor assigns to a candidate (not to an outsider), reassigns, and unclaims; officers cannot assign."""
    instance_start(definition=permit, data={}, actor=applicant)
    task = HumanTask.objects.get()
    with pytest.raises(TaskPermissionError):
        human_task_assign(task_id=task.pk, actor=officer, assignee_username="second_officer")
    with pytest.raises(TaskAssigneeInvalidError):
        human_task_assign(task_id=task.pk, actor=supervisor, assignee_username="outsider")
    human_task_assign(task_id=task.pk, actor=supervisor, assignee_username="officer")
    human_task_assign(task_id=task.pk, actor=supervisor, assignee_username="second_officer")
    task.refresh_from_db()
    assert (task.status, task.assignee) == (HumanTaskStatus.CLAIMED, second_officer)
    human_task_unclaim(task_id=task.pk, actor=supervisor)
    task.refresh_from_db()
    assert (task.status, task.assignee) == (HumanTaskStatus.READY, None)
    events = HistoryEvent.objects.filter(human_task=task, event_type=EventType.TASK_ASSIGNED)
    assert [(event.actor_name, event.details["assignee"]) for event in events] == [
        ("supervisor", "officer"), ("supervisor", "second_officer")]


def test_delegate_resolve_then_owner_completes(permit, applicant, officer, second_officer):
    """Delegation hands the task over; it cannot be completed until the delegate resolves it to the owner."""
    instance = instance_start(definition=permit, data={}, actor=applicant)
    task = HumanTask.objects.get()
    human_task_claim(task_id=task.pk, actor=officer)
    human_task_delegate(task_id=task.pk, actor=officer, delegate_username="second_officer")
    task.refresh_from_db()
    assert (task.assignee, task.owner, task.delegation_state) == (second_officer, officer, DelegationState.PENDING)
    with pytest.raises(TaskDelegatedError):
        human_task_complete(task_id=task.pk, actor=second_officer, data={})
    with pytest.raises(TaskClaimedError):
        human_task_resolve(task_id=task.pk, actor=officer, data={})
    human_task_resolve(task_id=task.pk, actor=second_officer, data={"documents_complete": True})
    task.refresh_from_db()
    assert (task.assignee, task.delegation_state) == (officer, DelegationState.RESOLVED)
    human_task_complete(task_id=task.pk, actor=officer, data={})
    task.refresh_from_db()
    assert task.completion_data == {"documents_complete": True}
    assert {t.element_id for t in HumanTask.objects.filter(instance=instance, status="ready")} == {
        "technical_review", "legal_review"}
    kinds = list(HistoryEvent.objects.filter(human_task=task).values_list("event_type", "actor_name"))
    assert kinds[1:] == [("task_claimed", "officer"), ("task_delegated", "officer"),
                         ("task_resolved", "second_officer"), ("task_completed", "officer")]
    with pytest.raises(TaskNotReadyError):
        human_task_delegate(task_id=task.pk, actor=officer, delegate_username="second_officer")


def test_a_delegated_task_counts_the_delegates_time_as_working(permit, applicant, officer, second_officer):
    """Claimed after 1 h, delegated after 2, resolved after 5, completed after 6: the claim keeps its moment
    through the hand-overs, so the bottleneck report counts 1 h waiting and 5 h working."""
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        instance_start(definition=permit, data={}, actor=applicant)
        task = HumanTask.objects.get()
        for hours, step in ((1, lambda: human_task_claim(task_id=task.pk, actor=officer)),
                            (2, lambda: human_task_delegate(task_id=task.pk, actor=officer,
                                                            delegate_username="second_officer")),
                            (5, lambda: human_task_resolve(task_id=task.pk, actor=second_officer, data={})),
                            (6, lambda: human_task_complete(task_id=task.pk, actor=officer, data={}))):
            clock.move_to(start + timedelta(hours=hours))
            step()
    task.refresh_from_db()
    assert task.claimed_at == start + timedelta(hours=1)
    (row,) = [row for row in bottleneck_report(Scope(agency_ids=(task.agency_id,)))
              if row["element_id"] == task.element_id]
    assert row["waiting"]["total_seconds"] == 3600 and row["working"]["total_seconds"] == 5 * 3600


def test_only_analysts_deploy_and_only_for_their_agency(agency, other_agency, officer):
    """Officers cannot deploy; an analyst cannot deploy for another agency; keys belong to one agency."""
    content = library_bytes("permit_application/permit_application.bpmn")
    with pytest.raises(PermissionDeniedError):
        definition_deploy(content=content, filename="p.bpmn", actor=officer, agency=agency)
    analyst = make_user("analyst_here", agency, Role.ANALYST)
    with pytest.raises(PermissionDeniedError):
        definition_deploy(content=content, filename="p.bpmn", actor=analyst, agency=other_agency)
    definition_deploy(content=content, filename="p.bpmn", actor=analyst, agency=agency)
    other_analyst = make_user("analyst_there", other_agency, Role.ANALYST)
    from engine.exceptions import DefinitionInvalidError

    with pytest.raises(DefinitionInvalidError, match="belongs to agency 'demo'"):
        definition_deploy(content=content, filename="p.bpmn", actor=other_analyst, agency=other_agency)


def test_groups_are_named_per_agency(agency, other_agency):
    """The same lane name in two agencies gives two different groups."""
    assert agency_group(agency, "Verifier") != agency_group(other_agency, "Verifier")
    assert agency_group(agency, "Verifier") == agency_group(agency, "Verifier")
