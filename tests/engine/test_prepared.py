"""Prepared reads give exactly the rows of the querysets they stand for, and refuse the ones they cannot."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Subquery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engine.models import HistoryEvent, HumanTask, HumanTaskCandidateGroup, ProcessInstance, Timer
from engine.prepared import PreparedRead, PreparedStatementError, PreparedUpdate, insert_rows, save_fields
from engine.services import human_task_complete, instance_start
from processes.library import LIBRARY_DIR, deploy_folder
from processes.models import ProcessDefinition

pytestmark = pytest.mark.django_db


def _fields(row):
    """Every concrete field's value, as Django loaded it (datetimes aware, JSON decoded, UUIDs as UUID)."""
    return {field.attname: getattr(row, field.attname) for field in type(row)._meta.concrete_fields}


@pytest.fixture
def started(agency, applicant, officer):
    """Two instances of the bundled permit process (with its service levels: deadline timers), one a step
    further (a closed task, JSON data)."""
    deploy_folder(LIBRARY_DIR / "permit_application", actor=None, agency=agency)
    permit = ProcessDefinition.objects.get(key="permit_application")
    first = instance_start(definition=permit, data={"district": "Gubeng", "floors": 2}, actor=applicant)
    instance_start(definition=permit, data={}, actor=applicant)
    check = HumanTask.objects.get(instance=first, element_id="check_completeness")
    human_task_complete(task_id=check.pk, actor=officer, data={"documents_complete": True})
    return first


def test_model_rows_are_those_of_the_queryset_field_by_field(started):
    tasks = PreparedRead(lambda instance_id: HumanTask.objects.filter(instance_id=instance_id).order_by("pk"))
    timers = PreparedRead(lambda instance_id: Timer.objects.filter(instance_id=instance_id, status="pending"))
    for instance in ProcessInstance.objects.all():
        expected = list(HumanTask.objects.filter(instance_id=instance.pk).order_by("pk"))
        assert [_fields(row) for row in tasks(instance.pk)] == [_fields(row) for row in expected]
        expected_timers = list(Timer.objects.filter(instance_id=instance.pk, status="pending"))
        assert expected_timers and [_fields(t) for t in timers(instance.pk)] == [_fields(t) for t in expected_timers]
    loaded = tasks(started.pk)[0]
    assert not loaded._state.adding and loaded._state.db == "default"
    loaded.save(update_fields=["priority"])  # a row loaded by it saves like any loaded row


def test_a_locked_read_through_a_subquery_and_a_flat_list(started):
    owner = PreparedRead(lambda task_id: ProcessInstance.objects.select_for_update().filter(
        pk=Subquery(HumanTask.objects.filter(pk=task_id).values("instance_id"))))
    groups = PreparedRead(lambda task_id: HumanTaskCandidateGroup.objects.filter(humantask_id=task_id)
                          .order_by("pk").values_list("group_id", flat=True))
    with transaction.atomic():
        for task in HumanTask.objects.all():
            assert _fields(owner.first(task.pk)) == _fields(ProcessInstance.objects.get(pk=task.instance_id))
            offered = HumanTaskCandidateGroup.objects.filter(humantask_id=task.pk).order_by("pk")
            assert groups(task.pk) == list(offered.values_list("group_id", flat=True)) != []
        assert owner.first(-1) is None and groups(-1) == []


def test_it_compiles_once_per_connection_and_runs_one_statement(started):
    built = []
    read = PreparedRead(lambda task_id: built.append(task_id) or HumanTask.objects.filter(pk=task_id))
    ids = list(HumanTask.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        assert [read.first(task_id).pk for task_id in ids] == ids
    assert len(built) == 1 and len(queries) == len(ids)


@pytest.mark.parametrize("build, reason", [
    (lambda task_id: HumanTask.objects.filter(pk=task_id + 1), "Not every id"),
    (lambda task_id: HumanTask.objects.select_related("instance").filter(pk=task_id), "select_related"),
    (lambda task_id: HumanTask.objects.filter(pk=task_id).values("pk"), "values_list"),
])
def test_a_queryset_it_cannot_stand_for_is_refused(started, build, reason):
    with pytest.raises(PreparedStatementError, match=reason):
        PreparedRead(build)(HumanTask.objects.first().pk)


def test_save_fields_writes_what_save_with_update_fields_writes(started):
    """The same values land in the row (datetimes, JSON, foreign keys, None), and only the fields named."""
    task = HumanTask.objects.filter(status="ready").first()
    twin = HumanTask.objects.get(pk=task.pk)
    other = HumanTask.objects.exclude(pk=task.pk).first()
    moment = timezone.now()
    for row in (task, twin):
        row.status, row.assignee_id, row.claimed_at = "claimed", other.instance.applicant_id, moment
        row.completion_data, row.priority = {"note": "dua", "n": [1, 2.5, None]}, 7
    save_fields(task, ["status", "assignee", "claimed_at", "completion_data"])
    saved = _fields(HumanTask.objects.get(pk=task.pk))
    twin.save(update_fields=["status", "assignee", "claimed_at", "completion_data"])
    assert saved == _fields(HumanTask.objects.get(pk=task.pk))
    assert saved["priority"] != 7 and saved["completion_data"] == {"note": "dua", "n": [1, 2.5, None]}
    task.claimed_at = None
    save_fields(task, ["claimed_at"])
    assert HumanTask.objects.get(pk=task.pk).claimed_at is None


def test_save_fields_refuses_a_row_that_is_gone_and_fields_it_cannot_save(started):
    task = HumanTask.objects.first()
    HumanTask.objects.filter(pk=task.pk).delete()
    with pytest.raises(DatabaseError, match="changed 0 rows"):
        save_fields(task, ["status"])
    with pytest.raises(PreparedStatementError):
        save_fields(task, ["id"])
    with pytest.raises(PreparedStatementError):
        save_fields(task, ["candidate_groups"])


def test_a_prepared_update_changes_the_rows_of_its_queryset_only(started):
    close = PreparedUpdate(lambda task_id: HumanTaskCandidateGroup.objects.filter(humantask_id=task_id, is_open=True),
                           is_open=False)
    first, second = HumanTask.objects.filter(status="ready")[:2]
    open_offers = HumanTaskCandidateGroup.objects.filter(is_open=True)
    others = open_offers.exclude(humantask_id=first.pk).count()
    assert close(first.pk) >= 1
    assert not open_offers.filter(humantask_id=first.pk).exists() and open_offers.count() == others
    assert close(first.pk) == 0
    assert close(second.pk) >= 1 and not open_offers.filter(humantask_id=second.pk).exists()


def test_insert_rows_writes_what_bulk_create_writes_and_sets_the_keys_in_order(started):
    """Rows of JSON, datetimes, foreign keys and defaults: the same values as bulk_create's, keys ascending."""
    instance = ProcessInstance.objects.first()

    def events():
        return [HistoryEvent(event_type="task_claimed", instance=instance, definition_id=instance.definition_id,
                             element_id=f"e{n}", actor_name="someone", details={"n": n, "teks": "dalam"},
                             occurred_at=instance.started_at)
                for n in range(3)]

    ours, theirs = insert_rows(events()), HistoryEvent.objects.bulk_create(events())
    assert [row.pk for row in ours] == sorted(row.pk for row in ours)
    assert all(not row._state.adding for row in ours)
    stored = {row.pk: _fields(row) for row in HistoryEvent.objects.filter(pk__in=[row.pk for row in ours + theirs])}
    without_key = [{**stored[row.pk], "id": None} for row in ours]
    assert [stored[row.pk]["element_id"] for row in ours] == ["e0", "e1", "e2"]
    assert without_key == [{**stored[row.pk], "id": None} for row in theirs]
    assert insert_rows([]) == []
