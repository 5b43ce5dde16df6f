"""A step worked by another agency: a hand-off between agencies, and analytics stay with the process's owner."""

import pytest

from engine.analytics import flow
from engine.analytics.scope import Scope
from engine.models import HumanTask, Role
from engine.services import human_task_complete, instance_start
from processes.services import definition_deploy
from tests.conftest import client_for, fixture_bytes, make_user

pytestmark = pytest.mark.django_db


def test_a_step_in_another_agencys_lane_is_an_agency_handoff(agency, other_agency, analyst, officer, outsider,
                                                             applicant, manager):
    definition = definition_deploy(content=fixture_bytes("analytics/cross_agency.bpmn"), filename="land.bpmn",
                                   actor=analyst, agency=agency)[0]
    instance = instance_start(definition=definition, data={}, actor=applicant)
    for element_id, actor in (("receive", officer), ("verify_title", outsider), ("hand_over", officer)):
        task = HumanTask.objects.get(instance=instance, element_id=element_id, status="ready")
        human_task_complete(task_id=task.pk, actor=actor, data={})

    report = flow.handoff_report(Scope(agency_ids=(agency.pk,)))
    assert report["handoffs"] == 2 and report["agency_handoffs"] == 2
    edges = {(edge["from_group"], edge["to_group"]): (edge["from_agency"], edge["to_agency"], edge["crosses_agency"])
             for edge in report["edges"]}
    assert edges == {("Front Office", "other/Verifier"): ("demo", "other", True),
                     ("other/Verifier", "Front Office"): ("other", "demo", True)}
    # The verifying agency's manager sees its officers' workload nowhere: the process belongs to demo.
    other_manager = make_user("other_manager", other_agency, Role.MANAGER)
    assert client_for(other_manager).get("/api/v1/analytics/handoffs/").json()["handoffs"] == 0
    assert client_for(manager).get("/api/v1/analytics/handoffs/").json()["agency_handoffs"] == 2
