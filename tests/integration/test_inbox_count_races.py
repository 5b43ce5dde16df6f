"""The inbox counters under concurrent writers on PostgreSQL: threads completing, claiming and starting tasks
of the same group (one counter key), and compactions racing them, leave the counts exact, without deadlock."""

import pytest

from engine import selectors
from engine.models import OPEN_TASK_STATUSES, HumanTask, InboxAudience, InboxCountDelta, Role
from engine.services import human_task_claim, human_task_complete, human_task_unclaim, instance_start
from engine.services.inbox_counts import inbox_counts_compact
from processes.services import definition_deploy
from tests.conftest import fixture_bytes, make_user

from .conftest import run_together

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
WORKERS = 4
TASKS_PER_WORKER = 6


@pytest.fixture
def counted(analyst, agency):
    content = fixture_bytes("inbox_counts/counted.bpmn")
    return definition_deploy(content=content, filename="counted.bpmn", actor=analyst, agency=agency)[0]


def _start(definition, actor, groups):
    instance = instance_start(definition=definition, actor=actor,
                              data={"groups": groups, "users": "", "due": "2099-01-01T00:00:00+00:00"})
    return HumanTask.objects.get(instance=instance, status__in=OPEN_TASK_STATUSES).pk


def _counts_match(users):
    return {user.username: (selectors.human_task_open_counts(user),
                            selectors.human_task_counts(selectors.human_task_count_parts(user))) for user in users}


def test_concurrent_work_on_one_group_keeps_the_counts_exact(counted, agency, applicant):
    """Workers claim, unclaim, complete (which opens the next task) and start tasks of one group at once,
    two compactions run alongside: no thread fails or hangs, and every user's counts equal the rows'."""
    workers = [make_user(f"worker{index}", agency, Role.OFFICER, ["Front Office"]) for index in range(WORKERS)]
    watchers = [make_user("watcher", agency, Role.OFFICER, ["Front Office", "Verifier"]),
                make_user("chief", agency, Role.SUPERVISOR), make_user("lane_less", agency, Role.OFFICER)]
    tasks = [[_start(counted, applicant, "Front Office") for _ in range(TASKS_PER_WORKER)] for _ in workers]
    before = selectors.human_task_open_counts(watchers[0])["total"]

    def work(worker, task_ids):
        for task_id in task_ids:
            human_task_claim(task_id=task_id, actor=worker)
            human_task_unclaim(task_id=task_id, actor=worker)
            human_task_claim(task_id=task_id, actor=worker)
            human_task_complete(task_id=task_id, actor=worker, data={})  # the lane-less "file" task opens
            _start(counted, applicant, "Front Office, Verifier")  # a new audience, created by racing threads
        return len(task_ids)

    def compact():
        return sum(inbox_counts_compact(keys=1000) for _ in range(3 * TASKS_PER_WORKER))

    outcomes = run_together(
        *[lambda worker=worker, task_ids=task_ids: work(worker, task_ids)
          for worker, task_ids in zip(workers, tasks, strict=True)],
        compact, compact,
    )
    assert all(ok for ok, _ in outcomes), outcomes

    for username, (from_counters, from_rows) in _counts_match(workers + watchers).items():
        assert from_counters == from_rows, username
    # Each completion opened a lane-less "file" task (officers of the agency see it) and each worker started
    # as many tasks of the group as it completed.
    assert selectors.human_task_open_counts(watchers[0])["total"] == before + WORKERS * TASKS_PER_WORKER
    assert selectors.human_task_open_counts(watchers[2])["total"] == WORKERS * TASKS_PER_WORKER
    assert InboxAudience.objects.filter(group_ids__contains=",").count() == 1
    inbox_counts_compact()
    keys = list(InboxCountDelta.objects.values_list("audience_id", "process_key", "status", "flagged_overdue"))
    assert len(keys) == len(set(keys))
    for username, (from_counters, from_rows) in _counts_match(workers + watchers).items():
        assert from_counters == from_rows, username


def test_racing_claims_of_one_task_count_it_once(counted, officer, second_officer, applicant, agency):
    """Two officers claiming the same task at once: one wins, and the task is counted once, as claimed."""
    watcher = make_user("watcher", agency, Role.OFFICER, ["Front Office"])
    for _ in range(5):
        task_id = _start(counted, applicant, "Front Office")
        outcomes = run_together(*[lambda actor=actor, task_id=task_id: human_task_claim(task_id=task_id, actor=actor)
                                  for actor in (officer, second_officer)])
        assert sum(ok for ok, _ in outcomes) == 1, outcomes
    from_counters = selectors.human_task_open_counts(watcher)
    assert from_counters == selectors.human_task_counts(selectors.human_task_count_parts(watcher))
    assert from_counters["by_status"] == {"ready": 0, "claimed": 5}
