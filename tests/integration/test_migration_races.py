"""A migration racing a task completion on PostgreSQL: the instance row lock orders them, either way is whole."""

import pytest

from engine.models import EventType, HistoryEvent, HumanTask, ProcessInstance
from engine.services import human_task_claim, human_task_complete, instance_start
from engine.services.instance_migration import instances_migrate
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

from .conftest import run_together

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROUNDS = 12


def _deploy(analyst, name):
    content = fixture_bytes(f"versions/{name}")
    return definition_deploy(content=content, filename=name, actor=analyst, agency=analyst.membership.agency)[0]


def test_completion_racing_migration_ends_in_one_consistent_state(analyst, officer):
    """Each round: decide is completed while the instance is migrated. Completion first: the instance ends on
    v1 and the migration reports it finished. Migration first: the completion runs on v2 and opens archive."""
    v1 = _deploy(analyst, "licence_v1.bpmn")
    instances = []
    for _round in range(ROUNDS):
        instance = instance_start(definition=v1, data={}, actor=officer)
        for _step in range(2):
            task = HumanTask.objects.get(instance=instance, status="ready")
            human_task_complete(task_id=task.pk, actor=officer, data={})
        instances.append(instance)
    v2 = _deploy(analyst, "licence_v2.bpmn")
    for instance in instances:
        decide = HumanTask.objects.get(instance=instance, element_id="decide", status="ready")
        human_task_claim(task_id=decide.pk, actor=officer)
        outcomes = run_together(
            lambda task_id=decide.pk: human_task_complete(task_id=task_id, actor=officer, data={}),
            lambda instance_id=instance.pk: instances_migrate(
                source=v1, target=v2, actor=analyst, instance_ids=[instance_id], dry_run=False),
        )
        assert all(ok for ok, _value in outcomes), outcomes
        (verdict,) = outcomes[1][1]
        instance.refresh_from_db()
        completed = HistoryEvent.objects.filter(instance=instance, event_type=EventType.TASK_COMPLETED,
                                                element_id="decide")
        assert completed.count() == 1
        if verdict.migrated:
            assert (instance.definition_id, instance.status) == (v2.pk, "running")
            assert list(HumanTask.objects.filter(instance=instance, status="ready").values_list(
                "element_id", flat=True)) == ["archive"]
        else:
            assert verdict.reason == "the instance is completed"
            assert (instance.definition_id, instance.status) == (v1.pk, "completed")
            assert not HistoryEvent.objects.filter(instance=instance, event_type=EventType.INSTANCE_MIGRATED).exists()
    assert ProcessInstance.objects.filter(definition=v2).count() + ProcessInstance.objects.filter(
        definition=v1, status="completed").count() == ROUNDS
