"""Keeping ``OpenTaskVariable`` exact: the instance's plain variables on each of its open tasks.

Called by ``save_step`` after the tasks were projected, inside the service's transaction with the
instance row locked. Every change to the instance's data, to its open tasks (opened, closed, moved to
another version with a new priority or due date) goes through ``save_step``, so this is the one writer.
A batch writer (the history simulator) may defer it to the end of its transaction with
``open_task_variables_deferred()``.
"""

import operator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import reduce

from django.db.models import Q

from engine.models import OPEN_TASK_STATUSES, HumanTask, OpenTaskVariable, ProcessInstance
from engine.task_variables import carried_variables

from .deferral import deferred_to_block_end, in_chunks

_DEFERRED = ContextVar("engine_open_task_variables_deferred", default=None)


@dataclass(frozen=True)
class KnownStep:
    """All a step did to an instance's task rows: it created ``opened`` (task rows) and closed the tasks
    ``closed_ids``, and changed no other task; ``variables_before``: the carried variables before it."""

    variables_before: dict
    opened: list
    closed_ids: list


def project_open_task_variables(instance, open_tasks, *, known=None):
    """Make the instance's variable rows those of ``open_tasks`` (its open tasks now) and its data.

    One query reads the rows there are; only what changed is deleted and inserted (a step that changes
    no carried variable and opens or closes no task writes nothing). ``known``: what the step did, when
    the service knows all of it (``KnownStep``): then the rows are not read. The closed tasks' rows and
    the other tasks' rows of the variables that changed are deleted, the new ones inserted.
    """
    pending = _DEFERRED.get()
    if pending is not None:
        pending.add(instance.pk)
        return
    variables = carried_variables(instance.data)
    if known is not None:
        _write_known(variables, known, open_tasks)
        return
    wanted = {
        (task.pk, name): (value, task.created_at, task.due_at, task.priority)
        for task in open_tasks
        for name, value in variables.items()
    }
    _make_rows(wanted, OpenTaskVariable.objects.filter(task__instance_id=instance.pk))


@contextmanager
def open_task_variables_deferred():
    """Inside the block, the projection only notes the instances; when the block ends without an
    exception, the rows of every instance noted are made those of its data and open tasks then, in a
    few statements for all of them. Open it inside the writer's transaction, as
    ``engine.services.inbox_counts.inbox_counts_deferred``; until it ends, ``var=`` filters on open tasks
    lag behind the writer's own changes. Nests."""
    with deferred_to_block_end(_DEFERRED, set(), _project_pending, "open_task_variables_deferred()"):
        yield


def _project_pending(pending):
    for chunk in in_chunks(sorted(pending)):
        _project_instances(chunk)


def _project_instances(instance_ids):
    """The rows of the instances ``instance_ids`` from their data and open tasks as they are now."""
    variables = {
        pk: carried_variables(data)
        for pk, data in ProcessInstance.objects.filter(pk__in=instance_ids).values_list("pk", "data")
    }
    open_tasks = HumanTask.objects.filter(instance_id__in=instance_ids, status__in=OPEN_TASK_STATUSES).values_list(
        "pk", "instance_id", "created_at", "due_at", "priority"
    )
    wanted = {
        (task_id, name): (value, created_at, due_at, priority)
        for task_id, instance_id, created_at, due_at, priority in open_tasks
        for name, value in variables[instance_id].items()
    }
    _make_rows(wanted, OpenTaskVariable.objects.filter(task__instance_id__in=instance_ids))


def _make_rows(wanted, held_rows):
    """Make the rows ``held_rows`` (a queryset) those of ``wanted``: ``{(task id, name): (value, created
    at, due at, priority)}``; only what differs is deleted and inserted."""
    stale = []
    held = held_rows.values_list("pk", "task_id", "name", "value", "created_at", "due_at", "priority")
    for pk, task_id, name, *copied in held:
        if wanted.get((task_id, name)) == tuple(copied):
            del wanted[(task_id, name)]
        else:
            stale.append(pk)
    for chunk in in_chunks(stale):
        OpenTaskVariable.objects.filter(pk__in=chunk).delete()
    if wanted:
        OpenTaskVariable.objects.bulk_create(
            OpenTaskVariable(task_id=task_id, name=name, value=value, created_at=created_at, due_at=due_at,
                             priority=priority)
            for (task_id, name), (value, created_at, due_at, priority) in wanted.items()
        )


def _write_known(variables, known, open_tasks):
    """The rows after a step whose changes are ``known``, written without reading them: before it, each
    open task held a row per variable of ``known.variables_before`` (the projection of the step before)."""
    before = known.variables_before
    changed = {name for name in before.keys() | variables.keys() if before.get(name) != variables.get(name)}
    opened_ids = {task.pk for task in known.opened}
    kept = [task for task in open_tasks if task.pk not in opened_ids]
    stale = []
    if known.closed_ids:
        stale.append(Q(task_id__in=known.closed_ids))
    if kept and changed & before.keys():
        stale.append(Q(task_id__in=[task.pk for task in kept], name__in=sorted(changed & before.keys())))
    if stale:
        OpenTaskVariable.objects.filter(reduce(operator.or_, stale)).delete()
    rows = [(task, name) for task in known.opened for name in variables]
    rows += [(task, name) for task in kept for name in sorted(changed & variables.keys())]
    if rows:
        OpenTaskVariable.objects.bulk_create(
            OpenTaskVariable(task_id=task.pk, name=name, value=variables[name], created_at=task.created_at,
                             due_at=task.due_at, priority=task.priority)
            for task, name in rows
        )
