"""Two officers acting on the same task at the same moment, on PostgreSQL with real row locks."""

import pytest

from engine.exceptions import TaskClaimedError, TaskNotReadyError
from engine.models import EventType, HistoryEvent, HumanTask, HumanTaskStatus, ProcessInstance, Timer
from engine.services import human_task_claim, human_task_complete, instance_start

from .conftest import run_together

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROUNDS = 10


def _events(task, event_type):
    return HistoryEvent.objects.filter(human_task=task, event_type=event_type).count()


def test_racing_completions_complete_the_task_once(permit, officer, second_officer, applicant):
    """Two threads completing one task at once: one succeeds, one is refused, the process moves on once."""
    for round_number in range(ROUNDS):
        instance = instance_start(definition=permit, data={"round": round_number}, actor=applicant)
        task = HumanTask.objects.get(instance=instance, element_id="check_completeness")
        revision = ProcessInstance.objects.get(pk=instance.pk).revision
        # Even rounds: the same officer twice (a double click); odd rounds: two different officers.
        actors = (officer, officer) if round_number % 2 == 0 else (officer, second_officer)
        outcomes = run_together(
            *[
                lambda actor=actor, index=index, task_id=task.pk: human_task_complete(
                    task_id=task_id, actor=actor, data={"documents_complete": True, "thread": index}
                )
                for index, actor in enumerate(actors)
            ]
        )

        winners = [index for index, (ok, _value) in enumerate(outcomes) if ok]
        assert len(winners) == 1, f"round {round_number}: {outcomes}"
        ((loser_ok, error),) = [outcome for outcome in outcomes if not outcome[0]]
        assert isinstance(error, (TaskNotReadyError, TaskClaimedError)), f"round {round_number}: {error!r}"

        task.refresh_from_db()
        assert task.status == HumanTaskStatus.COMPLETED
        assert task.completed_by == actors[winners[0]]
        assert task.completion_data == {"documents_complete": True, "thread": winners[0]}
        assert _events(task, EventType.TASK_COMPLETED) == 1
        assert _events(task, EventType.TASK_CLAIMED) == 1
        assert (
            HistoryEvent.objects.filter(
                instance=instance, event_type=EventType.ACTIVITY_COMPLETED, element_id="check_completeness"
            ).count()
            == 1
        )

        instance.refresh_from_db()
        assert instance.revision == revision + 1
        open_tasks = list(
            HumanTask.objects.filter(instance=instance, status="ready").values_list("element_id", flat=True)
        )
        assert sorted(open_tasks) == ["legal_review", "technical_review"]
        assert HumanTask.objects.filter(instance=instance).count() == 3
        assert Timer.objects.filter(instance=instance, status="pending").count() == 1


def test_racing_claims_give_the_task_to_one_officer(permit, officer, second_officer, applicant):
    """Two officers claiming one task at once: exactly one holds it, the other gets TaskClaimedError."""
    for round_number in range(ROUNDS):
        instance = instance_start(definition=permit, data={}, actor=applicant)
        task = HumanTask.objects.get(instance=instance, element_id="check_completeness")
        actors = (officer, second_officer)
        outcomes = run_together(
            *[lambda actor=actor, task_id=task.pk: human_task_claim(task_id=task_id, actor=actor) for actor in actors]
        )

        winners = [index for index, (ok, _value) in enumerate(outcomes) if ok]
        assert len(winners) == 1, f"round {round_number}: {outcomes}"
        ((_ok, error),) = [outcome for outcome in outcomes if not outcome[0]]
        assert isinstance(error, TaskClaimedError), f"round {round_number}: {error!r}"
        task.refresh_from_db()
        assert task.status == HumanTaskStatus.CLAIMED and task.assignee == actors[winners[0]]
        assert _events(task, EventType.TASK_CLAIMED) == 1
