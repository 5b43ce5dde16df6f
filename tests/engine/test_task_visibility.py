"""Who may see and work one task, decided in Python over its offers: the same answers as the inbox's query."""

import pytest

from engine.agencies import agency_group
from engine.inbox_selectors import visible_tasks
from engine.models import HumanTask, HumanTaskCandidateGroup, HumanTaskCandidateUser, Role
from engine.selectors import human_task_visible_to, human_task_workable_by
from engine.services import human_task_complete, instance_start
from engine.services.service_levels import _escalate
from processes.services import definition_deploy
from tests.conftest import library_bytes, make_user

pytestmark = pytest.mark.django_db

USERS = ("officer", "clerk", "supervisor", "manager", "analyst", "applicant", "outsider")
# Per task shape, the users who may see it and those who may work it (claim, complete).
EXPECTED = {
    "verifier_group": ({"officer", "supervisor", "manager"}, {"officer", "supervisor"}),
    "clerk_only": ({"clerk", "supervisor", "manager"}, {"clerk", "supervisor"}),
    "nobody": ({"officer", "clerk", "supervisor", "manager"}, {"officer", "clerk", "supervisor"}),
    "other_agency_group": ({"outsider", "supervisor", "manager"}, {"outsider", "supervisor"}),
}


@pytest.fixture
def people(agency, officer, supervisor, manager, analyst, applicant, outsider):
    clerk = make_user("clerk", agency, Role.OFFICER, ["Front Office"])
    return {"officer": officer, "clerk": clerk, "supervisor": supervisor, "manager": manager, "analyst": analyst,
            "applicant": applicant, "outsider": outsider}


@pytest.fixture
def shaped_tasks(agency, other_agency, analyst, applicant, people):
    """Four open Verifier-lane tasks of the demo agency, their offers rewritten into four shapes (the one
    offered to nobody loses its lane too: only a lane-less task is offered to nobody, and the inbox relies on it)."""
    content = library_bytes("permit_application/permit_application.bpmn")
    definition = definition_deploy(content=content, filename="p.bpmn", actor=analyst, agency=agency)[0]
    tasks = []
    for _ in range(2):
        instance = instance_start(definition=definition, data={}, actor=applicant)
        check = HumanTask.objects.get(instance=instance, element_id="check_completeness")
        human_task_complete(task_id=check.pk, actor=people["officer"], data={"documents_complete": True})
        tasks.extend(HumanTask.objects.filter(instance=instance, status="ready").order_by("element_id"))
    shapes = dict(zip(EXPECTED, tasks, strict=True))
    HumanTaskCandidateGroup.objects.filter(humantask__in=tasks[1:]).delete()
    HumanTask.objects.filter(pk=shapes["nobody"].pk).update(lane="")
    HumanTaskCandidateUser.objects.create(humantask=shapes["clerk_only"], user=people["clerk"])
    HumanTaskCandidateGroup.objects.create(
        humantask=shapes["other_agency_group"], group=agency_group(other_agency, "Verifier")
    )
    return shapes


def test_visible_and_workable_follow_the_rules_and_agree_with_the_inbox(people, shaped_tasks):
    """For each task shape and each kind of user, the answers are the expected ones, and seeing matches the inbox."""
    for shape, task in shaped_tasks.items():
        may_see, may_work = EXPECTED[shape]
        for name in USERS:
            user = people[name]
            fresh = HumanTask.objects.get(pk=task.pk)
            assert human_task_visible_to(fresh, user) == (name in may_see), (shape, name)
            assert human_task_workable_by(fresh, user) == (name in may_work), (shape, name)
            in_inbox = visible_tasks(user).filter(pk=task.pk).exists()
            assert in_inbox == (name in may_see), (shape, name)


def test_an_assignee_and_a_delegating_owner_see_the_task_offered_to_others(people, shaped_tasks):
    """The analyst is nobody's candidate, but as the assignee (or the owner) may see it and work it."""
    task = HumanTask.objects.get(pk=shaped_tasks["verifier_group"].pk)
    task.assignee = people["analyst"]
    assert human_task_visible_to(task, people["analyst"]) and human_task_workable_by(task, people["analyst"])
    task.assignee, task.owner = None, people["analyst"]
    assert human_task_visible_to(task, people["analyst"]) and human_task_workable_by(task, people["analyst"])


def test_the_offers_are_read_again_after_an_escalation_changes_them(people, shaped_tasks, head):
    """Checked once, then reassigned to the Head of Office: the same task object answers for the new offer."""
    task = HumanTask.objects.get(pk=shaped_tasks["verifier_group"].pk)
    assert human_task_workable_by(task, people["officer"]) and not human_task_workable_by(task, head)
    _escalate(task, "reassign:Head of Office")
    assert human_task_workable_by(task, head) and not human_task_workable_by(task, people["officer"])


def test_a_user_object_reads_its_groups_again_when_they_change(people, shaped_tasks, agency):
    """The user's group ids are kept on the user object; leaving or joining a group through it is seen at once."""
    officer, task = people["officer"], shaped_tasks["verifier_group"]
    verifier = agency_group(agency, "Verifier")
    assert human_task_workable_by(task, officer)
    officer.groups.remove(verifier)
    assert not human_task_workable_by(HumanTask.objects.get(pk=task.pk), officer)
    officer.groups.add(verifier)
    assert human_task_workable_by(HumanTask.objects.get(pk=task.pk), officer)
