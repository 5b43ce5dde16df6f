"""Selectors read: the queries the API and analytics need, in one place."""

from django.db.models import Exists, OuterRef, Q

from .models import HistoryEvent, HumanTask, ProcessInstance


def _candidate_filter(user):
    """Tasks the user may see: assigned to them, offered to them or their groups, or offered to nobody."""
    group_ids = list(user.groups.values_list("id", flat=True))
    through_groups = HumanTask.candidate_groups.through.objects.filter(
        humantask_id=OuterRef("pk"), group_id__in=group_ids
    )
    through_users = HumanTask.candidate_users.through.objects.filter(humantask_id=OuterRef("pk"), user_id=user.pk)
    any_group = HumanTask.candidate_groups.through.objects.filter(humantask_id=OuterRef("pk"))
    any_user = HumanTask.candidate_users.through.objects.filter(humantask_id=OuterRef("pk"))
    return (
        Q(assignee_id=user.pk)
        | Exists(through_groups)
        | Exists(through_users)
        | (~Exists(any_group) & ~Exists(any_user))
    )


def human_task_list_for_user(user):
    """The user's inbox: every task they may see (superusers see all)."""
    tasks = HumanTask.objects.select_related("instance", "assignee", "completed_by").prefetch_related(
        "candidate_groups"
    )
    if user.is_superuser:
        return tasks
    return tasks.filter(_candidate_filter(user))


def human_task_visible_to(task, user):
    """Whether ``user`` may see and work on ``task``."""
    if user.is_superuser or task.assignee_id == user.pk:
        return True
    return human_task_list_for_user(user).filter(pk=task.pk).exists()


def instance_list_for_user(user):
    """Instances the user started, or holds a task of; superusers and staff see all."""
    instances = ProcessInstance.objects.select_related("definition")
    if user.is_superuser or user.is_staff:
        return instances
    visible_tasks = human_task_list_for_user(user).filter(instance_id=OuterRef("pk"))
    return instances.filter(Q(started_by=user) | Exists(visible_tasks))


def instance_history(instance):
    return HistoryEvent.objects.filter(instance=instance).select_related("human_task").order_by("occurred_at", "id")
