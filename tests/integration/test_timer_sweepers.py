"""Due timers fire exactly once with several sweepers at once: threads, OS processes, a racing officer."""

import re
import subprocess
import sys
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.utils import timezone

from engine.exceptions import TaskNotReadyError
from engine.models import EventType, HistoryEvent, HumanTask, ProcessInstance, Timer, TimerStatus
from engine.services import human_task_complete, instance_start, timer_fire, timers_fire_due
from processes.services import definition_deploy
from tests.conftest import ROOT, fixture_bytes

from .conftest import run_together, subprocess_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def timer_process(analyst):
    return definition_deploy(
        content=fixture_bytes("timers/timers.bpmn"),
        filename="timers.bpmn",
        actor=analyst,
        agency=analyst.membership.agency,
    )[0]


def _instances_with_due_timers(definition, actor, count):
    """Start ``count`` instances (each waits on its PT1H cooling-off timer) and make those timers overdue."""
    instances = [instance_start(definition=definition, data={"reminders": 0}, actor=actor) for _ in range(count)]
    timers = Timer.objects.filter(instance__in=instances, status=TimerStatus.PENDING)
    timer_ids = sorted(timers.values_list("pk", flat=True))
    assert len(timer_ids) == count
    Timer.objects.filter(pk__in=timer_ids).update(due_at=timezone.now() - timedelta(minutes=5))
    return instances, timer_ids


def _assert_each_fired_once(instances, timer_ids):
    statuses = dict(Timer.objects.filter(pk__in=timer_ids).values_list("pk", "status"))
    assert statuses == {timer_id: TimerStatus.FIRED for timer_id in timer_ids}
    for instance in instances:
        fired = HistoryEvent.objects.filter(instance=instance, event_type=EventType.TIMER_FIRED)
        assert list(fired.values_list("element_id", flat=True)) == ["cooling_off"], instance.pk
        assert HumanTask.objects.filter(instance=instance, element_id="review").count() == 1, instance.pk
        assert ProcessInstance.objects.get(pk=instance.pk).revision == 2, instance.pk  # started, fired once


def test_two_sweeper_threads_fire_each_due_timer_once(timer_process, applicant):
    """Two threads sweeping the same overdue timers in small batches fire each exactly once between them."""
    instances, timer_ids = _instances_with_due_timers(timer_process, applicant, 24)

    def sweep():
        fired = 0
        while True:
            fired_now = timers_fire_due(limit=2)
            fired += fired_now
            unclaimed = Timer.objects.filter(pk__in=timer_ids, status=TimerStatus.PENDING, claimed_at__isnull=True)
            if fired_now == 0 and not unclaimed.exists():
                return fired

    outcomes = run_together(sweep, sweep)
    assert all(ok for ok, _value in outcomes), outcomes
    counts = [value for _ok, value in outcomes]
    assert sum(counts) == len(timer_ids), counts
    _assert_each_fired_once(instances, timer_ids)


def _lock_timer_table(conninfo):
    """Hold an EXCLUSIVE lock on the timer table in a separate connection: sweepers' claims wait on it."""
    conn = psycopg.connect(conninfo)
    conn.execute(f"LOCK TABLE {Timer._meta.db_table} IN EXCLUSIVE MODE")
    return conn


def _waiting_on_locks(conninfo, count, timeout=30.0):
    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (waiting,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE %s",
                (f"%{Timer._meta.db_table}%",),
            ).fetchone()
            if waiting >= count:
                return True
            time.sleep(0.05)
    return False


def test_two_sweep_timers_processes_fire_each_due_timer_once(timer_process, applicant, subprocess_env):
    """Two `manage.py sweep_timers` processes started together fire each overdue timer exactly once."""
    instances, timer_ids = _instances_with_due_timers(timer_process, applicant, 30)
    conninfo = subprocess_database_url()
    env = dict(subprocess_env, ENGINE_TIMER_SWEEP_BATCH="2")
    # A barrier for processes: both sweepers block on their first claim until the table lock is released.
    lock = _lock_timer_table(conninfo)
    processes = []
    try:
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "sweep_timers"],
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        both_waiting = _waiting_on_locks(conninfo, 2)
    finally:
        lock.rollback()
        lock.close()
    outputs = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=60)
            outputs.append((process.returncode, stdout, stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert both_waiting, f"the two sweepers never waited on the claim together: {outputs}"
    counts = []
    for returncode, stdout, stderr in outputs:
        assert returncode == 0, stderr
        match = re.search(r"Fired (\d+) timer\(s\)\.", stdout)
        assert match, stdout
        counts.append(int(match.group(1)))
    assert sum(counts) == len(timer_ids), counts
    _assert_each_fired_once(instances, timer_ids)


def test_completing_a_task_while_its_deadline_fires_lets_exactly_one_win(timer_process, officer, applicant):
    """An officer completing the review while its P5D deadline fires: either the task or the timer wins, never both."""
    results = {"completed": 0, "deadline": 0}
    for _round in range(10):
        instance = instance_start(definition=timer_process, data={"reminders": 0}, actor=applicant)
        Timer.objects.filter(instance=instance).update(due_at=timezone.now() - timedelta(seconds=1))
        assert timers_fire_due() == 1  # the cooling-off period; the review and its two boundary timers appear
        review = HumanTask.objects.get(instance=instance, element_id="review")
        deadline = Timer.objects.get(instance=instance, element_id="review_deadline", status=TimerStatus.PENDING)
        Timer.objects.filter(pk=deadline.pk).update(due_at=timezone.now() - timedelta(seconds=1))

        complete, fire = run_together(
            lambda review=review: human_task_complete(task_id=review.pk, actor=officer, data={}),
            lambda deadline=deadline: timer_fire(timer_id=deadline.pk),
        )

        deadline.refresh_from_db()
        review.refresh_from_db()
        tasks = dict(HumanTask.objects.filter(instance=instance).values_list("element_id", "status"))
        if complete[0]:
            results["completed"] += 1
            assert fire == (True, False), fire
            assert deadline.status == TimerStatus.CANCELLED
            assert tasks == {"review": "completed", "final_check": "ready"}
        else:
            results["deadline"] += 1
            assert isinstance(complete[1], TaskNotReadyError), complete
            assert fire == (True, True), fire
            assert deadline.status == TimerStatus.FIRED
            assert tasks == {"review": "cancelled", "late_review": "ready"}
        assert not Timer.objects.filter(instance=instance, status=TimerStatus.PENDING).exists()
        assert ProcessInstance.objects.get(pk=instance.pk).revision == 3
    assert sum(results.values()) == 10, results


def test_a_timer_locked_by_another_sweeper_for_a_moment_is_still_fired(timer_process, applicant):
    """A due timer whose row another transaction holds for a moment is fired once that lock goes, not skipped."""
    (instance,), (timer_id,) = _instances_with_due_timers(timer_process, applicant, 1)
    conn = psycopg.connect(subprocess_database_url())
    try:
        # A concurrent claim (SELECT ... FOR UPDATE SKIP LOCKED) whose snapshot predates our claim's commit
        # locks this row too, though its re-check rejects it, and holds the lock until it commits.
        conn.execute(f"SELECT id FROM {Timer._meta.db_table} WHERE id = %s FOR UPDATE", (timer_id,))
        releaser = threading.Timer(0.3, conn.rollback)
        releaser.start()
        ((ok, fired),) = run_together(lambda: timer_fire(timer_id=timer_id))
        releaser.join()
    finally:
        conn.close()
    assert ok and fired is True, fired
    _assert_each_fired_once([instance], [timer_id])


def test_deploying_while_the_old_start_timer_fires_leaves_only_the_new_versions_timer(analyst):
    """A new version deployed while the old one's cycle start timer fires: only the new version's timer stays."""
    content = fixture_bytes("start_timer/start_timer.bpmn")
    for round_number in range(10):
        old, _ = definition_deploy(
            content=content.replace(b"Write report", b"Write report %d" % round_number),
            filename="old.bpmn",
            actor=analyst,
            agency=analyst.membership.agency,
        )
        timer = Timer.objects.get(definition=old, status=TimerStatus.PENDING)
        Timer.objects.filter(pk=timer.pk).update(due_at=timezone.now() - timedelta(seconds=1))
        newer = content.replace(b"Write report", b"Write the report %d" % round_number)

        fire, deploy = run_together(
            lambda timer_id=timer.pk: timer_fire(timer_id=timer_id),
            lambda content=newer: definition_deploy(
                content=content, filename="new.bpmn", actor=analyst, agency=analyst.membership.agency
            ),
        )

        assert fire[0] and deploy[0], (fire, deploy)
        new = deploy[1][0]
        pending = list(
            Timer.objects.filter(definition__key=old.key, status=TimerStatus.PENDING).values_list(
                "definition_id", flat=True
            )
        )
        assert pending == [new.pk], f"round {round_number}: pending start timers of definitions {pending}"
        timer.refresh_from_db()
        fired_events = HistoryEvent.objects.filter(definition=old, event_type=EventType.TIMER_FIRED).count()
        if fire[1]:  # the timer fired before the deploy: it stays FIRED and its instance started
            assert timer.status == TimerStatus.FIRED and fired_events == 1
            assert ProcessInstance.objects.filter(definition=old).count() == 1
        else:  # the deploy came first and cancelled it
            assert timer.status == TimerStatus.CANCELLED and fired_events == 0
            assert not ProcessInstance.objects.filter(definition=old).exists()
