"""The inbox's counters (``engine.models.inbox_counts``), kept exact in the writers' transactions.

- ``inbox_counts_refresh(task_ids=...)``: every service that changes a task's status, offers, lane,
  process, agency or ``overdue_at`` calls it for the tasks it touched, with their rows locked (the
  instance first, as every service does). It compares each task with the key it is counted under
  (``InboxCountedTask``) and, when they differ, inserts a -1 and a +1 delta. It is idempotent: a
  refresh of an unchanged task writes nothing.
- ``inbox_counts_compact()``: folds the delta rows of each key into one (``DELETE … RETURNING`` the
  rows, insert their sum, one transaction). Two compactions at once each fold the rows they deleted,
  so the sums hold. Run by the timer sweep (Celery beat, or the embedded sweeper thread).
- ``inbox_counts_rebuild()``: recomputes everything from the task rows (repair; the bench loader and
  the migration that adds the counters use it).
- ``inbox_counts_deferred()``: for a batch writer that runs many service calls in one transaction (the
  history simulator): inside it the refreshes only note their tasks and instances, and the end of the
  block refreshes them all in one pass, before the transaction commits.
"""

from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar

from django.apps import apps as django_apps
from django.db import connection, transaction
from django.db.models import Aggregate, Exists, OuterRef, Q, Subquery, TextField

from engine.models import OPEN_TASK_STATUSES

from .deferral import deferred_to_block_end, in_chunks

# A compaction folds at most this many keys (a run of the sweep; the next run takes the rest).
COMPACT_KEYS = 5000
_REBUILD_BATCH = 5000
_DEFERRED = ContextVar("engine_inbox_counts_deferred", default=None)


def _models(apps):
    names = ("HumanTask", "HumanTaskCandidateGroup", "HumanTaskCandidateUser", "InboxAudience",
             "InboxAudienceGroup", "InboxCountedTask", "InboxCountDelta")
    return [apps.get_model("engine", name) for name in names]


def audience_key(agency_id, lane, group_ids, offered_to_users):
    """The audience of an open task: (agency, offered to nobody, its group ids as text)."""
    nobody = not lane and not group_ids and not offered_to_users
    return agency_id, nobody, ",".join(str(group_id) for group_id in sorted(group_ids))


def audience_ids(keys, *, apps=django_apps):
    """``{key: audience id}`` for the audience ``keys``, creating the missing ones (race-free: a
    concurrent creator of the same audience makes the insert wait for it, then do nothing)."""
    *_, InboxAudience, InboxAudienceGroup, _, _ = _models(apps)
    keys = set(keys)
    if not keys:
        return {}
    found = _audiences_found(InboxAudience, keys)
    missing = keys - set(found)
    if missing:
        InboxAudience.objects.bulk_create(
            [InboxAudience(agency_id=agency, offered_to_nobody=nobody, group_ids=groups)
             for agency, nobody, groups in sorted(missing)],  # one order: no deadlock between creators
            ignore_conflicts=True,
        )
        created = _audiences_found(InboxAudience, missing)
        InboxAudienceGroup.objects.bulk_create(
            [InboxAudienceGroup(audience_id=audience_id, group_id=int(group_id))
             for (_, _, groups), audience_id in created.items() for group_id in groups.split(",") if group_id],
            ignore_conflicts=True,
        )
        found.update(created)
    return found


def _audiences_found(InboxAudience, keys):
    if not keys:
        return {}
    agencies = {agency for agency, _, _ in keys}
    group_ids = {groups for _, _, groups in keys}
    rows = InboxAudience.objects.filter(agency_id__in=agencies, group_ids__in=group_ids).values_list(
        "agency_id", "offered_to_nobody", "group_ids", "pk"
    )
    return {(agency, nobody, groups): pk for agency, nobody, groups, pk in rows if (agency, nobody, groups) in keys}


class _GroupIdsText(Aggregate):
    """The group ids as comma-separated text, in any order (``audience_key`` sorts them)."""

    function = "GROUP_CONCAT"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG",
                           template="%(function)s(%(expressions)s::text, ',')", **extra_context)


def inbox_counts_refresh(*, task_ids):
    """Bring the counters in line with the tasks ``task_ids`` (called inside the writer's transaction)."""
    HumanTask, *_ = _models(django_apps)
    task_ids = sorted(set(task_ids))
    pending = _DEFERRED.get()
    if pending is not None:
        pending.task_ids.update(task_ids)
    elif task_ids:
        _refresh(HumanTask.objects.filter(pk__in=task_ids))


def inbox_counts_refresh_instance(instance):
    """Refresh every task of ``instance`` that is open or still counted (after a step of the engine)."""
    HumanTask, *_ = _models(django_apps)
    pending = _DEFERRED.get()
    if pending is not None:
        pending.instance_ids.add(instance.pk)
        return
    _refresh(HumanTask.objects.filter(_open_or_counted(), instance=instance))


def _open_or_counted():
    return Q(status__in=OPEN_TASK_STATUSES) | Q(inbox_counted__isnull=False)


class _Pending:
    def __init__(self):
        self.task_ids, self.instance_ids = set(), set()


@contextmanager
def inbox_counts_deferred():
    """Inside the block, refreshes are noted; when it ends without an exception, one pass refreshes every
    task noted and every task of every instance noted (a refresh compares each task with how it is
    counted, so one refresh at the end gives the counters the many would have). Open it inside the
    writer's transaction (``with transaction.atomic(), inbox_counts_deferred():``): the counters are
    then exact when the transaction commits, and until the block ends the writer's own reads of the
    counters lag behind its writes. An exception skips the pass (the transaction rolls back). Nests."""
    with deferred_to_block_end(_DEFERRED, _Pending(), _refresh_pending, "inbox_counts_deferred()"):
        yield


def _refresh_pending(pending):
    HumanTask, *_ = _models(django_apps)
    task_ids, instance_ids = sorted(pending.task_ids), sorted(pending.instance_ids)
    for chunk in in_chunks(instance_ids):
        _refresh(HumanTask.objects.filter(_open_or_counted(), instance_id__in=chunk))
    for chunk in in_chunks(task_ids):
        _refresh(HumanTask.objects.filter(pk__in=chunk))


def _refresh(task_rows):
    """Bring the counters in line with the tasks of the queryset ``task_rows`` (the refresh's one read)."""
    _, CandidateGroup, CandidateUser, _, _, CountedTask, CountDelta = _models(django_apps)
    # One query: the tasks (locked: the writer holds them already, or their instance), their offers (the
    # group ids as text, and whether a user is offered it), and how they are counted now with the key of
    # the audience they are counted in.
    group_ids = (
        CandidateGroup.objects.filter(humantask_id=OuterRef("pk")).order_by().values("humantask_id")
        .annotate(ids=_GroupIdsText("group_id")).values("ids")
    )
    rows = (
        task_rows.select_for_update(of=("self",)).order_by("pk")
        .annotate(offered_groups=Subquery(group_ids),
                  offered_to_users=Exists(CandidateUser.objects.filter(humantask_id=OuterRef("pk"))))
        .values_list(
            "pk", "agency_id", "lane", "process_key", "status", "overdue_at", "offered_groups", "offered_to_users",
            "inbox_counted__audience_id", "inbox_counted__process_key", "inbox_counted__status",
            "inbox_counted__flagged_overdue", "inbox_counted__audience__agency_id",
            "inbox_counted__audience__offered_to_nobody", "inbox_counted__audience__group_ids",
        )
    )
    tasks, keys, counted, audiences = [], {}, {}, {}
    for task_id, agency_id, lane, process_key, status, overdue_at, offered_groups, to_users, *counted_as in rows:
        tasks.append((task_id, process_key, status, overdue_at))
        if status in OPEN_TASK_STATUSES:
            groups = [int(group_id) for group_id in offered_groups.split(",")] if offered_groups else []
            keys[task_id] = audience_key(agency_id, lane, groups, to_users)
        if counted_as[0] is not None:
            counted[task_id] = tuple(counted_as[:4])
            audiences[tuple(counted_as[4:])] = counted_as[0]
    # Only the audiences no task is counted in yet are looked up (or created).
    audiences.update(audience_ids(set(keys.values()) - set(audiences)))
    wanted = {
        task_id: (audiences[keys[task_id]], process_key, status, overdue_at is not None)
        for task_id, process_key, status, overdue_at in tasks if task_id in keys
    }
    deltas, gone, new, changed = Counter(), [], [], []
    for task_id, *_ in tasks:
        before, after = counted.get(task_id), wanted.get(task_id)
        if before == after:
            continue
        if before is not None:
            deltas[before] -= 1
        if after is not None:
            deltas[after] += 1
        if after is None:
            gone.append(task_id)
        elif before is None:
            new.append(_counted(CountedTask, task_id, after))
        else:
            changed.append(_counted(CountedTask, task_id, after))
    if gone:
        CountedTask.objects.filter(task_id__in=gone).delete()
    if new:
        CountedTask.objects.bulk_create(new)
    if changed:
        CountedTask.objects.bulk_update(changed, ["audience", "process_key", "status", "flagged_overdue"])
    if any(deltas.values()):
        CountDelta.objects.bulk_create(
            CountDelta(audience_id=audience, process_key=process_key, status=status, flagged_overdue=flagged, tasks=n)
            for (audience, process_key, status, flagged), n in deltas.items() if n
        )


def _counted(CountedTask, task_id, key):
    audience_id, process_key, status, flagged = key
    return CountedTask(task_id=task_id, audience_id=audience_id, process_key=process_key, status=status,
                       flagged_overdue=flagged)


def inbox_counts_compact(*, keys=COMPACT_KEYS):
    """Fold the delta rows of up to ``keys`` keys that have more than one row into one row each; how many
    rows were folded. Sum-preserving whatever runs alongside: each row is deleted (and summed) once."""
    *_, CountDelta = _models(django_apps)
    table = connection.ops.quote_name(CountDelta._meta.db_table)
    key = "audience_id, process_key, status, flagged_overdue"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE ({key}) IN "
            f"(SELECT {key} FROM {table} GROUP BY {key} HAVING count(*) > 1 LIMIT %s) "
            f"RETURNING {key}, tasks",
            [keys],
        )
        rows = cursor.fetchall()
        sums = Counter()
        for audience, process_key, status, flagged, tasks in rows:
            sums[(audience, process_key, status, bool(flagged))] += tasks
        CountDelta.objects.bulk_create(
            CountDelta(audience_id=audience, process_key=process_key, status=status, flagged_overdue=flagged, tasks=n)
            for (audience, process_key, status, flagged), n in sums.items() if n
        )
    return len(rows)


def inbox_counts_rebuild(*, apps=django_apps):
    """Recompute the counters from the open task rows; how many open tasks were counted.

    On PostgreSQL the counter tables are locked first, so a writer's refresh waits and then applies
    its change to the rebuilt counters; the recount is then a few ``INSERT … SELECT`` (a million open
    tasks in about a minute). Elsewhere the rows are streamed through Python in task order."""
    models = _models(apps)
    CountedTask, CountDelta = models[5], models[6]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {_table(CountedTask)}, {_table(CountDelta)} IN EXCLUSIVE MODE")
        CountDelta.objects.all().delete()
        CountedTask.objects.all().delete()
        if connection.vendor == "postgresql":
            return _rebuild_in_sql(models)
        return _rebuild_in_python(models, apps)


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


def _rebuild_in_sql(models):
    HumanTask, CandidateGroup, CandidateUser, Audience, AudienceGroup, CountedTask, CountDelta = map(_table, models)
    open_statuses = ", ".join(f"'{status}'" for status in OPEN_TASK_STATUSES)
    statements = [
        "DROP TABLE IF EXISTS inbox_counts_keyed",  # a rebuild earlier in the same transaction
        # Each open task with its audience key (the same as ``audience_key``).
        f"""CREATE TEMP TABLE inbox_counts_keyed ON COMMIT DROP AS
            SELECT t.id AS task_id, t.agency_id, t.process_key, t.status, t.overdue_at IS NOT NULL AS flagged,
                   coalesce(g.group_ids, '') AS group_ids,
                   t.lane = '' AND g.group_ids IS NULL
                       AND NOT EXISTS (SELECT 1 FROM {CandidateUser} u WHERE u.humantask_id = t.id) AS nobody
            FROM {HumanTask} t
            LEFT JOIN (SELECT o.humantask_id, string_agg(o.group_id::text, ',' ORDER BY o.group_id) AS group_ids
                       FROM {CandidateGroup} o JOIN {HumanTask} ot ON ot.id = o.humantask_id
                       WHERE ot.status IN ({open_statuses}) GROUP BY o.humantask_id) g ON g.humantask_id = t.id
            WHERE t.status IN ({open_statuses})""",
        f"""INSERT INTO {Audience} (agency_id, offered_to_nobody, group_ids)
            SELECT DISTINCT agency_id, nobody, group_ids FROM inbox_counts_keyed ORDER BY 1, 2, 3
            ON CONFLICT DO NOTHING""",
        f"""INSERT INTO {AudienceGroup} (group_id, audience_id)
            SELECT DISTINCT unnest(string_to_array(group_ids, ','))::bigint, id FROM {Audience} WHERE group_ids <> ''
            ON CONFLICT DO NOTHING""",
        f"""INSERT INTO {CountedTask} (task_id, audience_id, process_key, status, flagged_overdue)
            SELECT k.task_id, a.id, k.process_key, k.status, k.flagged FROM inbox_counts_keyed k
            JOIN {Audience} a ON a.agency_id = k.agency_id AND a.offered_to_nobody = k.nobody
                             AND a.group_ids = k.group_ids""",
        f"""INSERT INTO {CountDelta} (audience_id, process_key, status, flagged_overdue, tasks)
            SELECT audience_id, process_key, status, flagged_overdue, count(*) FROM {CountedTask}
            GROUP BY audience_id, process_key, status, flagged_overdue""",
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        cursor.execute(f"SELECT count(*) FROM {CountedTask}")
        counted = cursor.fetchone()[0]
    return counted


def _rebuild_in_python(models, apps):
    HumanTask, CandidateGroup, CandidateUser, _, _, CountedTask, CountDelta = models
    open_tasks = HumanTask.objects.filter(status__in=OPEN_TASK_STATUSES)
    offers_to_users = CandidateUser.objects.filter(humantask__status__in=OPEN_TASK_STATUSES)
    offered_to_users = set(offers_to_users.values_list("humantask_id", flat=True))
    offers = iter(
        CandidateGroup.objects.filter(humantask__status__in=OPEN_TASK_STATUSES)
        .order_by("humantask_id", "group_id").values_list("humantask_id", "group_id").iterator(chunk_size=20_000)
    )
    offer = next(offers, None)
    audiences, sums, batch, counted = {}, Counter(), [], 0
    rows = open_tasks.order_by("pk").values_list("pk", "agency_id", "lane", "process_key", "status", "overdue_at")
    for task_id, agency_id, lane, process_key, status, overdue_at in rows.iterator(chunk_size=20_000):
        group_ids = []
        while offer is not None and offer[0] <= task_id:
            if offer[0] == task_id:
                group_ids.append(offer[1])
            offer = next(offers, None)
        key = audience_key(agency_id, lane, group_ids, task_id in offered_to_users)
        if key not in audiences:
            audiences.update(audience_ids([key], apps=apps))
        counted_as = (audiences[key], process_key, status, overdue_at is not None)
        sums[counted_as] += 1
        batch.append(_counted(CountedTask, task_id, counted_as))
        if len(batch) >= _REBUILD_BATCH:
            CountedTask.objects.bulk_create(batch)
            counted += len(batch)
            batch = []
    CountedTask.objects.bulk_create(batch)
    counted += len(batch)
    CountDelta.objects.bulk_create(
        (CountDelta(audience_id=audience, process_key=process_key, status=status, flagged_overdue=flagged, tasks=n)
         for (audience, process_key, status, flagged), n in sums.items()),
        batch_size=_REBUILD_BATCH,
    )
    return counted
