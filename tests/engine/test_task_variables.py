"""The open tasks' process variables (``OpenTaskVariable``): their canonical form, and kept exact by every step."""

import importlib
import math
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engine.models import HumanTask, OpenTaskVariable, ProcessInstance
from engine.services import human_task_complete, instance_start, timers_fire_due
from engine.services.instance_migration import instances_migrate
from engine.task_variables import MAX_VALUE_LENGTH, canonical_value, carried_variables
from processes.services import definition_deploy
from tests.conftest import fixture_bytes, library_bytes

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LICENCE = fixture_bytes("versions/licence_v1.bpmn")


# --- The canonical form --------------------------------------------------------------------------------------


def test_equal_json_values_have_one_text_and_different_ones_differ():
    """5 and 5.0 are one value (as in jsonb); true, "true", 1 and null are four."""
    assert canonical_value(5) == canonical_value(5.0) == "5"
    assert canonical_value(-0.0) == canonical_value(0) == "0"
    assert canonical_value(1e20) == canonical_value(10**20)
    # A float past 2**53 is the decimal of its JSON text, as jsonb reads it, not its binary value.
    assert canonical_value(float(2**60)) == "1152921504606847000" != canonical_value(2**60)
    assert canonical_value(5.5) == "5.5" and canonical_value(0.1) == "0.1"
    texts = [canonical_value(value) for value in (True, "true", 1, None, "null", False, 0, "")]
    assert len(set(texts)) == len(texts)
    assert canonical_value("Sūrabaya \"✓\"\n") == '"Sūrabaya \\"✓\\"\\n"'


def test_what_the_table_does_not_carry():
    """Lists, objects, numbers that are not finite and texts longer than the limit are not carried."""
    assert canonical_value([1]) is None and canonical_value({"a": 1}) is None
    assert canonical_value(math.inf) is None and canonical_value(math.nan) is None
    longest = "x" * (MAX_VALUE_LENGTH - 2)  # with its two quotes
    assert canonical_value(longest) == f'"{longest}"' and canonical_value(longest + "x") is None
    assert canonical_value(1e300) is None  # 301 digits as an integer


def test_carried_variables_are_the_top_level_plain_ones_with_identifier_names():
    data = {"district": "Gubeng", "urgent": True, "amount": 5.0, "none": None, "items": [1], "form": {"a": 1},
            "not-a-name": "x", "_private": 1}
    assert carried_variables(data) == {
        "district": '"Gubeng"', "urgent": "true", "amount": "5", "none": "null", "_private": "1"
    }
    assert carried_variables(None) == {} and carried_variables([1]) == {}


# --- Kept exact by the steps ---------------------------------------------------------------------------------


def _from_scratch():
    """The rows the table should hold now: each open task's instance's carried variables, with its sort keys."""
    rows = set()
    for task in HumanTask.objects.filter(status__in=["ready", "claimed"]).select_related("instance"):
        for name, value in carried_variables(task.instance.data).items():
            rows.add((task.pk, name, value, task.created_at, task.due_at, task.priority))
    return rows


def _held():
    return set(OpenTaskVariable.objects.values_list("task_id", "name", "value", "created_at", "due_at", "priority"))


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def licence(analyst, agency):
    return definition_deploy(content=LICENCE, filename="licence.bpmn", actor=analyst, agency=agency)[0]


@pytest.mark.django_db
def test_a_started_instance_puts_its_plain_variables_on_its_open_task(licence, applicant, clock):
    instance_start(definition=licence, data={"district": "Gubeng", "urgent": True, "items": [1, 2]}, actor=applicant)
    held = _held()
    assert {(name, value) for _task, name, value, *_keys in held} == {("district", '"Gubeng"'), ("urgent", "true")}
    assert held == _from_scratch()


@pytest.mark.django_db
def test_completing_a_task_moves_the_rows_to_the_next_task_with_the_new_data(licence, applicant, officer, clock):
    """The completed task loses its rows; the next one carries the data as the completion left it."""
    instance = instance_start(definition=licence, data={"district": "Gubeng", "urgent": True}, actor=applicant)
    first = HumanTask.objects.get(instance=instance, status="ready")
    clock.shift(timedelta(minutes=5))
    human_task_complete(task_id=first.pk, actor=officer, data={"district": "Genteng", "floors": 5.0, "urgent": None})
    second = HumanTask.objects.get(instance=instance, status="ready")
    assert not OpenTaskVariable.objects.filter(task=first).exists()
    assert dict(OpenTaskVariable.objects.filter(task=second).values_list("name", "value")) == {
        "district": '"Genteng"', "floors": "5", "urgent": "null"}
    assert _held() == _from_scratch()


@pytest.mark.django_db
def test_the_last_task_completed_leaves_no_rows(licence, applicant, officer, clock):
    instance = instance_start(definition=licence, data={"district": "Gubeng"}, actor=applicant)
    while (task := HumanTask.objects.filter(instance=instance, status="ready").first()) is not None:
        human_task_complete(task_id=task.pk, actor=officer, data={"round": task.pk})
    assert ProcessInstance.objects.get(pk=instance.pk).status == "completed"
    assert not OpenTaskVariable.objects.exists()


@pytest.mark.django_db
def test_a_completion_that_changes_no_variable_moves_the_rows_without_reading_them(licence, applicant, officer, clock):
    """Data unchanged: the completed task's rows are deleted and the next task's inserted, the table not read."""
    instance = instance_start(definition=licence, data={"district": "Gubeng", "urgent": True}, actor=applicant)
    table = OpenTaskVariable._meta.db_table
    while (task := HumanTask.objects.filter(instance=instance, status="ready").first()) is not None:
        with CaptureQueriesContext(connection) as queries:
            human_task_complete(task_id=task.pk, actor=officer, data={})
        assert not [query for query in queries if query["sql"].startswith("SELECT") and table in query["sql"]]
        assert not OpenTaskVariable.objects.filter(task=task).exists()
        assert _held() == _from_scratch()
    assert ProcessInstance.objects.get(pk=instance.pk).status == "completed"


@pytest.mark.django_db
def test_a_parallel_review_completed_with_new_data_rewrites_its_sibling_rows(analyst, applicant, officer, clock):
    """One of two open reviews completes and changes ``district`` and adds ``floors``: its rows go, the
    other review's ``district`` row carries the new value and it gains ``floors``; ``urgent`` is left."""
    permit = definition_deploy(content=library_bytes("permit_application/permit_application.bpmn"),
                               filename="permit.bpmn", actor=analyst, agency=analyst.membership.agency)[0]
    instance = instance_start(definition=permit, data={"district": "Gubeng", "urgent": True}, actor=applicant)
    check = HumanTask.objects.get(instance=instance, status="ready")
    human_task_complete(task_id=check.pk, actor=officer, data={"documents_complete": True})
    legal, technical = HumanTask.objects.filter(instance=instance, status__in=["ready", "claimed"]).order_by(
        "element_id")
    assert (legal.element_id, technical.element_id) == ("legal_review", "technical_review")
    urgent_row = OpenTaskVariable.objects.get(task=legal, name="urgent").pk
    human_task_complete(task_id=technical.pk, actor=officer, data={"district": "Genteng", "floors": 3})
    assert not OpenTaskVariable.objects.filter(task=technical).exists()
    assert dict(OpenTaskVariable.objects.filter(task=legal).values_list("name", "value")) == {
        "district": '"Genteng"', "urgent": "true", "floors": "3", "documents_complete": "true"}
    assert OpenTaskVariable.objects.get(task=legal, name="urgent").pk == urgent_row
    assert _held() == _from_scratch()


@pytest.mark.django_db
def test_a_task_cancelled_by_a_boundary_timer_loses_its_rows(analyst, applicant, clock):
    """The deadline on ``review`` cancels it and opens ``late_review``: the rows follow."""
    definition = definition_deploy(content=fixture_bytes("timers/timers.bpmn"), filename="t.bpmn", actor=analyst,
                                   agency=analyst.membership.agency)[0]
    instance = instance_start(definition=definition, data={"reminders": 0, "district": "Gubeng"}, actor=applicant)
    clock.shift(timedelta(hours=1, seconds=1))
    timers_fire_due()
    review = HumanTask.objects.get(instance=instance, status="ready")
    assert OpenTaskVariable.objects.filter(task=review, name="district").exists()
    clock.shift(timedelta(days=30))
    timers_fire_due()
    review.refresh_from_db()
    assert review.status == "cancelled" and not OpenTaskVariable.objects.filter(task=review).exists()
    assert HumanTask.objects.filter(instance=instance, status="ready").exists()
    assert _held() == _from_scratch()


@pytest.mark.django_db
def test_moving_to_a_version_with_another_priority_updates_the_rows_sort_keys(licence, analyst, officer, clock):
    """Instance migration re-offers the open task with the target's priority: the rows carry it."""
    instance = instance_start(definition=licence, data={"district": "Gubeng"}, actor=officer)
    for _step in range(2):
        task = HumanTask.objects.get(instance=instance, status="ready")
        human_task_complete(task_id=task.pk, actor=officer, data={})
    v2 = definition_deploy(content=LICENCE.replace(
        b'<bpmn:userTask id="decide" name="Decide" />',
        b'<bpmn:userTask id="decide" name="Decide" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        b'camunda:candidateGroups="Clerks" camunda:priority="90" />'), filename="licence.bpmn", actor=analyst,
        agency=analyst.membership.agency)[0]
    (verdict,) = instances_migrate(source=licence, target=v2, actor=analyst, dry_run=False)
    assert verdict.migrated
    assert set(OpenTaskVariable.objects.values_list("priority", flat=True)) == {90}
    assert _held() == _from_scratch()


@pytest.mark.django_db
def test_a_script_changing_the_data_of_an_open_task_rewrites_only_that_row(analyst, applicant, clock):
    """The reminder (a non-interrupting timer) counts up ``reminders`` while ``review`` stays open: that row
    gets the new value, the unchanged ``district`` row is left as it was (same id)."""
    definition = definition_deploy(content=fixture_bytes("timers/timers.bpmn"), filename="t.bpmn", actor=analyst,
                                   agency=analyst.membership.agency)[0]
    instance_start(definition=definition, data={"reminders": 0, "district": "Gubeng"}, actor=applicant)
    clock.shift(timedelta(hours=1, seconds=1))
    timers_fire_due()
    before = {name: (pk, value) for name, pk, value in OpenTaskVariable.objects.values_list("name", "pk", "value")}
    clock.shift(timedelta(days=1, seconds=1))
    timers_fire_due()
    after = {name: (pk, value) for name, pk, value in OpenTaskVariable.objects.values_list("name", "pk", "value")}
    assert before["reminders"][1] == "0" and after["reminders"][1] == "1"
    assert after["district"] == before["district"]
    assert _held() == _from_scratch()


@pytest.mark.django_db
def test_the_migration_fills_the_rows_of_the_tasks_open_now(licence, applicant, officer, clock, monkeypatch):
    """Migration 0008 writes, batch by batch, the rows the projection would have written (none for closed tasks)."""
    migration = importlib.import_module("engine.migrations.0009_open_task_variables")
    monkeypatch.setattr(migration, "BATCH", 2)
    for data in ({"district": "Gubeng", "urgent": True}, {"amount": 5.0, "items": [1]}, {}, {"district": "Genteng"}):
        instance = instance_start(definition=licence, data=data, actor=applicant)
    human_task_complete(task_id=HumanTask.objects.get(instance=instance, status="ready").pk, actor=officer, data={})
    expected = _from_scratch()
    assert len(expected) == 4
    OpenTaskVariable.objects.all().delete()
    migration.fill_open_task_variables(django_apps, SimpleNamespace(connection=connection))
    assert _held() == expected
