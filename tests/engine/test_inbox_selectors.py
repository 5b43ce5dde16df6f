"""The inbox query's two shapes and the open-offer flag they rely on."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine import inbox_selectors
from engine.agencies import agency_group
from engine.models import HumanTask, HumanTaskCandidateGroup, HumanTaskCandidateUser, Role
from engine.services import human_task_claim, human_task_complete, human_task_delegate, instance_start, timers_fire_due
from processes.services import definition_deploy
from tests.conftest import fixture_bytes, library_bytes, make_user

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# (FEW_TASKS, MANY_TASKS) that make every officer's page take one shape.
SHAPES = {"ids": (10_000, 20_000), "per row": (0, 20_000), "probed": (0, 0)}

LANELESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="walk_in" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="serve" />
    <bpmn:userTask id="serve" name="Serve the visitor" />
    <bpmn:sequenceFlow id="f2" sourceRef="serve" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def permit(analyst, agency):
    content = library_bytes("permit_application/permit_application.bpmn")
    return definition_deploy(content=content, filename="permit.bpmn", actor=analyst, agency=agency)[0]


def _open_task(instance, element_id):
    return HumanTask.objects.get(instance=instance, element_id=element_id, status__in=["ready", "claimed"])


def test_offers_of_a_completed_task_are_closed(permit, applicant, officer):
    """Completing a task clears ``is_open`` on its offers; the next task's offers start open."""
    instance = instance_start(definition=permit, data={}, actor=applicant)
    check = _open_task(instance, "check_completeness")
    assert list(HumanTaskCandidateGroup.objects.filter(humantask=check).values_list("is_open", flat=True)) == [True]
    human_task_complete(task_id=check.pk, actor=officer, data={"documents_complete": True})
    assert not HumanTaskCandidateGroup.objects.filter(humantask=check, is_open=True).exists()
    review = _open_task(instance, "technical_review")
    assert HumanTaskCandidateGroup.objects.get(humantask=review).is_open


def test_offers_of_a_cancelled_task_are_closed(analyst, applicant):
    """A task the process moves on without (a boundary timer fired) has its offers closed."""
    with time_machine.travel(START, tick=False) as clock:
        content = fixture_bytes("timers/timers.bpmn")
        timers = definition_deploy(content=content, filename="t.bpmn", actor=analyst,
                                   agency=analyst.membership.agency)[0]
        instance = instance_start(definition=timers, data={"reminders": 0}, actor=applicant)
        clock.shift(timedelta(hours=2))
        timers_fire_due()
        review = _open_task(instance, "review")
        clock.shift(timedelta(days=6))
        timers_fire_due()
    review.refresh_from_db()
    assert review.status == "cancelled"
    assert HumanTaskCandidateGroup.objects.filter(humantask=review).exists()
    assert not HumanTaskCandidateGroup.objects.filter(humantask=review, is_open=True).exists()
    assert not HumanTaskCandidateUser.objects.filter(humantask=review, is_open=True).exists()


def test_a_stale_open_flag_shows_nothing_closed(permit, applicant, officer, monkeypatch):
    """``is_open`` is only a hint: an offer left open on a completed task does not bring it back."""
    instance = instance_start(definition=permit, data={}, actor=applicant)
    check = _open_task(instance, "check_completeness")
    human_task_complete(task_id=check.pk, actor=officer, data={"documents_complete": True})
    HumanTaskCandidateGroup.objects.filter(humantask=check).update(is_open=True)
    for few_tasks, many_tasks in SHAPES.values():
        monkeypatch.setattr(inbox_selectors, "FEW_TASKS", few_tasks)
        monkeypatch.setattr(inbox_selectors, "MANY_TASKS", many_tasks)
        assert check not in inbox_selectors.visible_tasks(officer, open_only=True, for_page=True)


def test_both_shapes_find_the_same_tasks(permit, analyst, agency, other_agency, applicant, officer, second_officer,
                                         supervisor, manager, outsider, monkeypatch):
    """Per row and as ids, every kind of user finds the same tasks, open or not."""
    walk_in = definition_deploy(content=LANELESS, filename="w.bpmn", actor=analyst, agency=agency)[0]
    head = make_user("head", agency, Role.OFFICER, ["Head of Office"])
    for _ in range(3):
        instance = instance_start(definition=permit, data={}, actor=applicant)
        check = _open_task(instance, "check_completeness")
        human_task_complete(task_id=check.pk, actor=officer, data={"documents_complete": True})
        instance_start(definition=walk_in, data={}, actor=applicant)
    review = _open_task(instance, "technical_review")
    human_task_claim(task_id=review.pk, actor=second_officer)
    human_task_delegate(task_id=review.pk, actor=second_officer, delegate_username="officer")
    _open_task(instance, "legal_review").candidate_groups.add(agency_group(other_agency, "Verifier"))
    users = [officer, second_officer, supervisor, manager, outsider, applicant, head, analyst]
    for user in users:
        for open_only in (True, False):
            found = {}
            for shape, (few_tasks, many_tasks) in SHAPES.items():
                monkeypatch.setattr(inbox_selectors, "FEW_TASKS", few_tasks)
                monkeypatch.setattr(inbox_selectors, "MANY_TASKS", many_tasks)
                tasks = inbox_selectors.visible_tasks(user, open_only=open_only, for_page=True)
                found[shape] = set(tasks.values_list("pk", flat=True))
            assert found["per row"] == found["ids"] == found["probed"], (user.username, open_only)
            everything = inbox_selectors.visible_tasks(user, open_only=open_only)
            assert set(everything.values_list("pk", flat=True)) == found["ids"], (user.username, open_only)


def test_an_officers_page_shape_follows_their_open_offers(permit, applicant, officer, monkeypatch):
    """Ids for a few offers, per row past FEW_TASKS, offers probed from MANY_TASKS on (closed offers not counted)."""
    for _ in range(3):
        instance_start(definition=permit, data={}, actor=applicant)
    rule = inbox_selectors._Rule(officer, open_only=True)
    monkeypatch.setattr(inbox_selectors, "MANY_TASKS", 4)
    assert rule.page_shape(few=3) == inbox_selectors.IDS
    assert rule.page_shape(few=2) == inbox_selectors.PER_ROW
    monkeypatch.setattr(inbox_selectors, "MANY_TASKS", 3)
    assert rule.page_shape(few=2) == inbox_selectors.PER_ROW_PROBED
    HumanTaskCandidateGroup.objects.filter(pk=HumanTaskCandidateGroup.objects.first().pk).update(is_open=False)
    assert rule.page_shape(few=1) == inbox_selectors.PER_ROW
