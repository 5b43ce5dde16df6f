"""The inbox counters: after any sequence of engine operations, every user's counts from the counters equal
the counts from the task rows (``engine.inbox_count_selectors`` against ``engine.inbox_selectors``)."""

import random
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from engine import selectors
from engine.agencies import agency_group
from engine.exceptions import EngineError
from engine.models import OPEN_TASK_STATUSES, HumanTask, InboxCountDelta, InboxCountedTask, OpenTaskVariable, Role
from engine.services import (
    human_task_assign,
    human_task_claim,
    human_task_complete,
    human_task_delegate,
    human_task_resolve,
    human_task_unclaim,
    instance_start,
    timers_fire_due,
)
from engine.services.inbox_counts import inbox_counts_compact, inbox_counts_rebuild, inbox_counts_refresh
from engine.services.steps import projections_deferred
from engine.task_variables import carried_variables
from processes.services import definition_deploy
from tests.conftest import fixture_bytes, make_user

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(timezone.datetime(2025, 3, 3, 9, 0))
# What a task of ``counted.bpmn`` is offered to: its agency's groups, another agency's, users, or nobody.
OURS = [("Front Office",), ("Verifier",), ("Clerks",), ("Front Office", "Verifier"), ("other/Verifier",),
        ("Clerks", "other/Verifier"), ()]
THEIRS = [("Front Office",), ("demo/Clerks",), ("Verifier", "demo/Front Office"), ()]


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def people(agency, other_agency):
    return [
        make_user("one_group", agency, Role.OFFICER, ["Front Office"]),
        make_user("two_groups", agency, Role.OFFICER, ["Verifier", "Clerks"]),
        make_user("three_groups", agency, Role.OFFICER, ["Front Office", "Verifier", "Clerks"]),
        make_user("no_group", agency, Role.OFFICER),
        make_user("chief", agency, Role.SUPERVISOR, ["Front Office"]),
        make_user("boss", agency, Role.MANAGER),
        make_user("their_officer", other_agency, Role.OFFICER, ["Verifier"]),
        make_user("their_chief", other_agency, Role.SUPERVISOR, ["Front Office"]),
        make_user("citizen"),
        User.objects.create_superuser("root", password="root-pw"),
    ]


@pytest.fixture
def processes(agency, other_agency):
    content = fixture_bytes("inbox_counts/counted.bpmn")
    ours = definition_deploy(content=content, filename="counted.bpmn",
                             actor=make_user("analyst", agency, Role.ANALYST), agency=agency)[0]
    theirs_content = content.replace(b'"counted"', b'"their_counted"')
    theirs = definition_deploy(content=theirs_content, filename="theirs.bpmn",
                               actor=make_user("their_analyst", other_agency, Role.ANALYST), agency=other_agency)[0]
    return ours, theirs


def _row_counts(user):
    return selectors.human_task_counts(selectors.human_task_count_parts(user))


def _assert_counters_exact(people):
    for user in people:
        assert selectors.human_task_open_counts(user) == _row_counts(user), user.username


class _Operations:
    """Random engine operations on random tasks by random people; refused ones change nothing."""

    def __init__(self, rng, people, processes, clock):
        self.rng, self.people, self.processes, self.clock = rng, people, processes, clock
        self.done = Counter()

    def open_task(self):
        ids = list(HumanTask.objects.filter(status__in=OPEN_TASK_STATUSES).values_list("pk", flat=True))
        return HumanTask.objects.get(pk=self.rng.choice(ids)) if ids else None

    def start(self):
        ours = self.rng.random() < 0.7
        definition = self.processes[0] if ours else self.processes[1]
        groups = self.rng.choice(OURS if ours else THEIRS)
        users = self.rng.choice([[], [], ["one_group"], ["no_group", "their_officer"]])
        due = timezone.now() + timedelta(hours=self.rng.choice([-2, 1, 3, 30]))
        instance_start(definition=definition, actor=self.people[-2],
                       data={"groups": ", ".join(groups), "users": ", ".join(users), "due": due.isoformat()})

    def worker(self, task):
        """Someone who may work ``task`` (mostly), or anyone (then the service refuses)."""
        workers = [user for user in self.people if selectors.human_task_workable_by(task, user)]
        return self.rng.choice(workers if workers and self.rng.random() < 0.9 else self.people)

    def claim(self, task):
        human_task_claim(task_id=task.pk, actor=self.worker(task))

    def unclaim(self, task):
        human_task_unclaim(task_id=task.pk, actor=task.assignee or self.rng.choice(self.people))

    def assign(self, task):
        chief = self.people[4] if task.agency.code == "demo" else self.people[7]
        human_task_assign(task_id=task.pk, actor=chief,
                          assignee_username=self.rng.choice([None, *[user.username for user in self.people[:4]]]))

    def delegate(self, task):
        human_task_delegate(task_id=task.pk, actor=task.assignee or self.rng.choice(self.people),
                            delegate_username=self.rng.choice(self.people[:4]).username)

    def resolve(self, task):
        human_task_resolve(task_id=task.pk, actor=task.assignee or self.rng.choice(self.people), data={})

    def complete(self, task):
        human_task_complete(task_id=task.pk, actor=task.assignee or self.worker(task), data={})

    def time_passes(self):
        """The clock moves: tasks fall due (counted overdue before their deadline fires), then maybe the
        sweep fires the deadlines (overdue flagged, escalation) and the boundary timers (tasks cancelled)."""
        self.clock.shift(timedelta(hours=self.rng.choice([1, 2, 6])))
        if self.rng.random() < 0.6:
            timers_fire_due()

    def compact(self):
        inbox_counts_compact(keys=self.rng.choice([1, 100]))

    def step(self):
        on_task = [self.claim, self.unclaim, self.assign, self.delegate, self.resolve, self.complete]
        choice = self.rng.random()
        task = self.open_task()
        if choice < 0.3 or task is None:
            operation = self.start
        elif choice < 0.4:
            operation = self.time_passes
        elif choice < 0.45:
            operation = self.compact
        else:
            operation = self.rng.choice(on_task)
        try:
            operation(task) if operation in on_task else operation()
        except EngineError:
            return  # refused: nothing changed
        self.done[operation.__name__] += 1


@pytest.mark.parametrize("seed", [1, 2])
def test_counters_match_the_rows_through_random_lifecycles(seed, people, processes, clock, settings):
    """Starting, claiming, unclaiming, assigning, delegating, resolving, completing, deadlines (flag and
    reassign), boundary timers (cancel) and compactions in random order: counts stay those of the rows."""
    settings.ENGINE_DEFAULT_ESCALATION = "reassign:Clerks" if seed % 2 else "notify"
    operations = _Operations(random.Random(seed), people, processes, clock)
    most_open = 0
    for _ in range(50):
        operations.step()
        _assert_counters_exact(people)
        most_open = max(most_open, InboxCountedTask.objects.count())
    clock.shift(timedelta(hours=6))  # every open review's boundary timer is due: cancelled
    timers_fire_due()
    _assert_counters_exact(people)
    assert InboxCountedTask.objects.count() == HumanTask.objects.filter(status__in=OPEN_TASK_STATUSES).count()
    assert most_open >= 5 and HumanTask.objects.filter(status="cancelled").exists()
    assert {"start", "claim", "complete", "time_passes"} <= set(operations.done), operations.done
    # The recount from the rows (SQL on PostgreSQL, Python elsewhere) gives what the writers kept.
    kept = _counters()
    inbox_counts_rebuild()
    assert _counters() == kept


def _variables_held():
    return set(OpenTaskVariable.objects.values_list("task_id", "name", "value", "created_at", "due_at", "priority"))


def _variables_from_rows():
    return {
        (task.pk, name, value, task.created_at, task.due_at, task.priority)
        for task in HumanTask.objects.filter(status__in=OPEN_TASK_STATUSES).select_related("instance")
        for name, value in carried_variables(task.instance.data).items()
    }


@pytest.mark.parametrize("seed", [3, 4])
def test_deferred_projections_are_exact_when_each_batch_ends(seed, people, processes, clock):
    """A batch writer (the simulator) runs many operations in one transaction with the counters and the
    open tasks' variables deferred: inside the batch they stay as they were, after it they are the rows'."""
    operations = _Operations(random.Random(seed), people, processes, clock)
    changed = 0
    for _ in range(8):
        counted, held = _counters(), _variables_held()
        with transaction.atomic(), projections_deferred():
            for _ in range(8):
                operations.step()
            assert set(InboxCountedTask.objects.values_list("task_id", "status")) == {
                (task_id, status) for task_id, _audience, _process, status, _flagged in counted[0]}
            assert _variables_held() == held
        _assert_counters_exact(people)
        assert _variables_held() == _variables_from_rows()
        changed += _counters()[0] != counted[0]
    assert changed >= 3 and {"start", "claim", "complete"} <= set(operations.done), operations.done


def test_a_deferred_batch_that_fails_leaves_counters_and_variables_as_they_were(people, processes, clock):
    instance_start(definition=processes[0], actor=people[-2],
                   data={"groups": "Front Office", "users": "", "due": NOW.isoformat()})
    counted, held = _counters(), _variables_held()
    with pytest.raises(RuntimeError), transaction.atomic(), projections_deferred():
        instance_start(definition=processes[0], actor=people[-2],
                       data={"groups": "Verifier", "users": "", "due": NOW.isoformat()})
        raise RuntimeError("the batch fails")
    assert _counters() == counted and _variables_held() == held
    _assert_counters_exact(people)


def _counters():
    """Every open task's counted key, and the summed deltas per key (zero sums left out)."""
    sums = Counter()
    for *key, tasks in InboxCountDelta.objects.values_list(
        "audience_id", "process_key", "status", "flagged_overdue", "tasks"
    ):
        sums[tuple(key)] += tasks
    counted = set(InboxCountedTask.objects.values_list("task_id", "audience_id", "process_key", "status",
                                                       "flagged_overdue"))
    return counted, {key: tasks for key, tasks in sums.items() if tasks}


def test_a_task_offered_to_two_of_my_groups_counts_once(people, processes, clock):
    """An officer in both groups a task is offered to counts it once; each single-group colleague once too."""
    instance_start(definition=processes[0], actor=people[-2],
                   data={"groups": "Front Office, Verifier", "users": "", "due": NOW.isoformat()})
    three_groups, one_group, two_groups = people[2], people[0], people[1]
    for user in (three_groups, one_group, two_groups):
        assert selectors.human_task_open_counts(user)["total"] == 1, user.username


def test_overdue_follows_the_clock_before_the_deadline_fires(people, processes, clock):
    """A task counts as overdue once its due date passed, whether or not its deadline timer fired yet."""
    officer = people[0]
    instance_start(definition=processes[0], actor=people[-2],
                   data={"groups": "Front Office", "users": "", "due": (NOW + timedelta(hours=1)).isoformat()})
    assert selectors.human_task_open_counts(officer)["overdue"] == 0
    clock.shift(timedelta(hours=2))
    assert selectors.human_task_open_counts(officer)["overdue"] == 1
    timers_fire_due()
    assert HumanTask.objects.get().overdue_at is not None
    assert selectors.human_task_open_counts(officer)["overdue"] == 1


def test_a_flagged_task_whose_due_date_moved_later_is_not_overdue(people, processes, clock):
    """Flagged overdue, then given a later due date: not overdue now (the answer is "due before now")."""
    officer = people[0]
    instance_start(definition=processes[0], actor=people[-2],
                   data={"groups": "Front Office", "users": "", "due": (NOW - timedelta(hours=1)).isoformat()})
    timers_fire_due()
    task = HumanTask.objects.get()
    assert task.overdue_at is not None
    HumanTask.objects.filter(pk=task.pk).update(due_at=NOW + timedelta(days=1))
    inbox_counts_refresh(task_ids=[task.pk])
    assert selectors.human_task_open_counts(officer)["overdue"] == 0 == _row_counts(officer)["overdue"]


def test_compaction_keeps_the_sums_and_folds_the_rows(people, processes, clock):
    """After a compaction there is one delta row per key, and the counts are the same."""
    for groups in ("Front Office", "Front Office", "Verifier", ""):
        instance = instance_start(definition=processes[0], actor=people[-2],
                                  data={"groups": groups, "users": "", "due": NOW.isoformat()})
        human_task_claim(task_id=HumanTask.objects.get(instance=instance).pk, actor=people[4])
    before = [selectors.human_task_open_counts(user) for user in people]
    assert inbox_counts_compact() > 0
    keys = InboxCountDelta.objects.values_list("audience_id", "process_key", "status", "flagged_overdue")
    assert len(keys) == len(set(keys))
    assert [selectors.human_task_open_counts(user) for user in people] == before


def test_rebuild_repairs_counters_from_the_rows(people, processes, clock):
    """Counters lost or wrong (a write that bypassed the services) are recomputed from the task rows."""
    for groups in ("Front Office", "Clerks, other/Verifier", ""):
        instance_start(definition=processes[0], actor=people[-2],
                       data={"groups": groups, "users": "one_group", "due": NOW.isoformat()})
    task = HumanTask.objects.filter(status="ready").first()
    HumanTask.objects.filter(pk=task.pk).update(status="claimed", assignee=people[1])  # bypasses the counters
    task.candidate_groups.add(agency_group(task.agency, "Verifier"))
    InboxCountDelta.objects.filter(pk=InboxCountDelta.objects.first().pk).delete()
    assert any(selectors.human_task_open_counts(user) != _row_counts(user) for user in people)
    assert inbox_counts_rebuild() == 3
    _assert_counters_exact(people)
