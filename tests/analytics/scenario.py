"""Two applications of the business licence run through the real engine, with time moved by hand.

T0 is Friday 14 August 2026, 14:00 in Jakarta (07:00 UTC). Both start at T0.

B: check_documents claimed T0+1h by officer, complete T0+1h30 (documents complete) -> review created;
   review claimed T0+115h by officer (Wednesday 19th, 09:00 WIB: past its one-working-day due date),
   completed T0+116h -> objection period (two working days) -> fired at T0+236h (Monday 24th, 10:00
   WIB): B completes, before its promise (Monday 24th, 16:00 WIB).
A: check_documents claimed T0+3h by second_officer, completed T0+5h with documents missing ->
   supply_documents for the applicant, who completes it at T0+29h (claimed on completion) ->
   check_documents again, claimed T0+30h by officer, completed T0+32h -> review, still unclaimed.
"""

from datetime import UTC, datetime, timedelta

from engine.models import HumanTask, ProcessInstance
from engine.services import human_task_claim, human_task_complete, instance_start, timers_fire_due
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

T0 = datetime(2026, 8, 14, 7, 0, tzinfo=UTC)
HOUR = 3600


def at(hours):
    return T0 + timedelta(hours=hours)


def _open(instance, element_id):
    return HumanTask.objects.get(instance=instance, element_id=element_id, status__in=["ready", "claimed"])


def deploy_licence(agency, analyst):
    content = fixture_bytes("service_levels/business_licence.bpmn")
    return definition_deploy(content=content, filename="licence.bpmn", actor=analyst, agency=agency)[0]


def run_scenario(clock, *, agency, analyst, officer, second_officer, applicant):
    """Runs A and B as above; returns (definition, A, B) with the clock left at T0+236h."""
    clock.move_to(T0)
    licence = deploy_licence(agency, analyst)
    instance_a = instance_start(definition=licence, data={}, actor=applicant)
    instance_b = instance_start(definition=licence, data={}, actor=applicant)

    clock.move_to(at(1))
    human_task_claim(task_id=_open(instance_b, "check_documents").pk, actor=officer)
    clock.move_to(at(1.5))
    human_task_complete(task_id=_open(instance_b, "check_documents").pk, actor=officer,
                        data={"documents_complete": True})
    clock.move_to(at(3))
    human_task_claim(task_id=_open(instance_a, "check_documents").pk, actor=second_officer)
    clock.move_to(at(5))
    human_task_complete(task_id=_open(instance_a, "check_documents").pk, actor=second_officer,
                        data={"documents_complete": False})
    clock.move_to(at(29))
    human_task_complete(task_id=_open(instance_a, "supply_documents").pk, actor=applicant, data={})
    clock.move_to(at(30))
    human_task_claim(task_id=_open(instance_a, "check_documents").pk, actor=officer)
    clock.move_to(at(32))
    human_task_complete(task_id=_open(instance_a, "check_documents").pk, actor=officer,
                        data={"documents_complete": True})
    clock.move_to(at(115))
    human_task_claim(task_id=_open(instance_b, "review").pk, actor=officer)
    clock.move_to(at(116))
    human_task_complete(task_id=_open(instance_b, "review").pk, actor=officer, data={})
    clock.move_to(at(236))
    timers_fire_due()
    return licence, ProcessInstance.objects.get(pk=instance_a.pk), ProcessInstance.objects.get(pk=instance_b.pk)
