"""The inbox's counts read from the counters (``engine.models.inbox_counts``), not by counting task rows.

A user's open tasks, by the visibility rule of ``engine.inbox_selectors``, are the disjoint union of

- the tasks of the *audiences* they see: those offered to a set of groups holding one of theirs, their
  agency's lane-less tasks offered to nobody (staff who work tasks), their whole agency (supervisors and
  managers), everything (superusers). Each open task is in exactly one audience, so summing the
  audiences' counters counts each task once, however many of the user's groups it is offered to;
- the tasks they see only personally (offered to them, assigned to them, delegated by them) whose
  audience is not among theirs: a few rows, counted from their counted keys.

The counters flag a task overdue once its deadline fired (``overdue_at``); the answer's ``overdue`` is
"due before now", so the tasks where the two differ (due, deadline not fired yet; flagged, due date
moved later) are looked up in two small partial indexes and the difference applied.

All is read in one snapshot (REPEATABLE READ on PostgreSQL when the request has no transaction open),
so a count never mixes states of a concurrent change; without JIT compilation (see ``open_task_counts``).
"""

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from .inbox_selectors import _USER_GROUPS, _Rule
from .models import (
    OPEN_TASK_STATUSES,
    HumanTask,
    InboxAudience,
    InboxAudienceGroup,
    InboxCountDelta,
    InboxCountedTask,
)


def open_task_counts(user):
    """``{total, by_status, by_process, overdue}`` of the open tasks ``user`` may see, from the counters."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                # The queries read a few hundred rows, but the planner cannot know that the correction's
                # ranges (due before now, not flagged yet; flagged, due later) are nearly empty: its
                # estimates would cross the JIT and parallel-query thresholds, which cost 30-300 ms.
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            return _counts(user)
    return _counts(user)


def _counts(user):
    rule = _Rule(user, open_only=True)
    counts = {"total": 0, "by_status": {str(status): 0 for status in OPEN_TASK_STATUSES}, "by_process": {},
              "overdue": 0}

    def add(process_key, status, flagged, tasks):
        counts["total"] += tasks
        counts["by_status"][status] = counts["by_status"].get(status, 0) + tasks
        counts["by_process"][process_key] = counts["by_process"].get(process_key, 0) + tasks
        counts["overdue"] += tasks if flagged else 0

    deltas = InboxCountDelta.objects.all()
    audiences = None if user.is_superuser else _audiences(rule)
    if audiences is not None:
        deltas = deltas.filter(audience_id__in=audiences)
    keyed = deltas.order_by().values_list("process_key", "status", "flagged_overdue").annotate(tasks=Sum("tasks"))
    for process_key, status, flagged, tasks in keyed:
        add(process_key, status, flagged, tasks)
    personal = None
    if audiences is not None:
        personal = _personal_task_ids(rule)
        apart = InboxCountedTask.objects.filter(task_id__in=personal).exclude(audience_id__in=audiences)
        grouped = apart.order_by().values_list("process_key", "status", "flagged_overdue").annotate(tasks=Count("*"))
        for process_key, status, flagged, tasks in grouped:
            add(process_key, status, flagged, tasks)
    counts["overdue"] += _overdue_correction(audiences, personal)
    counts["by_process"] = {key: tasks for key, tasks in sorted(counts["by_process"].items()) if tasks}
    return counts


def _audiences(rule):
    """The audiences ``rule``'s user sees: their ids, or for supervisors and managers a subquery.

    An officer's few audiences (those of their groups, their agency's "offered to nobody") are read
    first, one query of two index ranges: as literal ids the counters are then read from their index,
    where a subquery with an OR would leave the planner guessing half the audiences and reading every
    counter row. A whole agency holds hundreds of audiences: a subquery, rather than long literal lists
    in three queries."""
    groups = _USER_GROUPS.objects.filter(user_id=rule.user.pk).values("group_id")
    of_groups = InboxAudienceGroup.objects.filter(group_id__in=groups).values_list("audience_id", flat=True)
    if rule.whole_agency:
        seen = Q(agency_id=rule.agency_id) | Q(pk__in=of_groups)
        return InboxAudience.objects.filter(seen).values("pk")
    if rule.laneless_of_agency:
        nobody = InboxAudience.objects.filter(agency_id=rule.agency_id, offered_to_nobody=True)
        return sorted(set(of_groups.union(nobody.values_list("pk", flat=True), all=True)))
    return sorted(set(of_groups))


def _personal_task_ids(rule):
    """The open tasks offered to the user, assigned to them or delegated by them: a union of ids."""
    tasks = rule.tasks()
    return rule.user_offers().values("humantask_id").union(
        tasks.filter(assignee_id=rule.user.pk).values("pk"), tasks.filter(owner_id=rule.user.pk).values("pk"),
        all=True,
    )


def _overdue_correction(audiences, personal):
    """Due before now but not flagged (+1), flagged but not due before now (-1), among the visible tasks.

    The ids of both kinds are read first, each from its partial index (a few, unless the timer sweep
    lags): asked in one query with the visibility, the planner would expect a third of the open tasks
    with a due date to be late (it cannot know that the unflagged ones are those due later) and walk the
    wrong index."""
    now = timezone.now()
    open_tasks = HumanTask.objects.filter(status__in=OPEN_TASK_STATUSES)
    late = list(open_tasks.filter(overdue_at__isnull=True, due_at__isnull=False, due_at__lt=now)
                .values_list("pk", flat=True))
    flagged = open_tasks.filter(overdue_at__isnull=False)
    # Two ranges of the index, not one walk of every flagged task with a filter (what an OR would give).
    not_late = list(flagged.filter(due_at__gte=now).values_list("pk", flat=True).union(
        flagged.filter(due_at__isnull=True).values_list("pk", flat=True), all=True
    ))
    if audiences is None or not (late or not_late):
        return len(late) - len(not_late)
    visible = InboxCountedTask.objects.filter(task_id__in=late + not_late).filter(
        Q(audience_id__in=audiences) | Q(task_id__in=personal)
    )
    found = visible.aggregate(late=Count("pk", filter=Q(task_id__in=late)),
                              not_late=Count("pk", filter=Q(task_id__in=not_late)))
    return found["late"] - found["not_late"]
