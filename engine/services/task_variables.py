"""Keeping ``OpenTaskVariable`` exact: the instance's plain variables on each of its open tasks.

Called by ``save_step`` after the tasks were projected, inside the service's transaction with the
instance row locked. Every change to the instance's data, to its open tasks (opened, closed, moved to
another version with a new priority or due date) goes through ``save_step``, so this is the one writer.
"""

from engine.models import OpenTaskVariable
from engine.task_variables import carried_variables


def project_open_task_variables(instance, open_tasks):
    """Make the instance's variable rows those of ``open_tasks`` (its open tasks now) and its data.

    One query reads the rows there are; only what changed is deleted and inserted (a step that changes
    no carried variable and opens or closes no task writes nothing).
    """
    variables = carried_variables(instance.data)
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
