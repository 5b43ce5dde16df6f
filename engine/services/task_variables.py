"""Keeping ``OpenTaskVariable`` exact: the instance's plain variables on each of its open tasks.

Called by ``save_step`` after the tasks were projected, inside the service's transaction with the
instance row locked. Every change to the instance's data, to its open tasks (opened, closed, moved to
another version with a new priority or due date) goes through ``save_step``, so this is the one writer.
"""

from dataclasses import dataclass

from engine.models import OpenTaskVariable
from engine.task_variables import carried_variables


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
    the service knows all of it (``KnownStep``); if it changed no carried variable either, the rows are
    not read: the closed tasks' rows are deleted and the opened tasks' inserted.
    """
    variables = carried_variables(instance.data)
    if known is not None and known.variables_before == variables:
        _write_known(variables, known)
        return
    wanted = {
        (task.pk, name): (value, task.created_at, task.due_at, task.priority)
        for task in open_tasks
        for name, value in variables.items()
    }
    stale = []
    held = OpenTaskVariable.objects.filter(task__instance_id=instance.pk).values_list(
        "pk", "task_id", "name", "value", "created_at", "due_at", "priority"
    )
    for pk, task_id, name, *copied in held:
        if wanted.get((task_id, name)) == tuple(copied):
            del wanted[(task_id, name)]
        else:
            stale.append(pk)
    if stale:
        OpenTaskVariable.objects.filter(pk__in=stale).delete()
    if wanted:
        OpenTaskVariable.objects.bulk_create(
            OpenTaskVariable(task_id=task_id, name=name, value=value, created_at=created_at, due_at=due_at,
                             priority=priority)
            for (task_id, name), (value, created_at, due_at, priority) in wanted.items()
        )


def _write_known(variables, known):
    """The rows after a step that changed no carried variable: the other open tasks' rows stay as they are."""
    if known.closed_ids:
        OpenTaskVariable.objects.filter(task_id__in=known.closed_ids).delete()
    if known.opened and variables:
        OpenTaskVariable.objects.bulk_create(
            OpenTaskVariable(task_id=task.pk, name=name, value=value, created_at=task.created_at, due_at=task.due_at,
                             priority=task.priority)
            for task in known.opened
            for name, value in variables.items()
        )
