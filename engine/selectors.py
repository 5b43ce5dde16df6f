"""Selectors read: the queries the API and analytics need, in one place.

Who sees which task:
- superusers see every task;
- everyone sees the tasks assigned to them, and those offered to them or to one of their groups
  (a group of another agency named as candidate is how a task crosses agencies);
- officers and supervisors also see their own agency's tasks that are offered to nobody;
- supervisors and managers see every task of their agency.
Acting (claim, complete) needs more than seeing: managers only watch.
"""

from django.db.models import Exists, OuterRef, Q

from .agencies import STAFF_WHO_SEE_THE_WHOLE_AGENCY, STAFF_WHO_WORK_TASKS, has_role, membership_of
from .models import HistoryEvent, HumanTask, ProcessInstance, Role

_TASK_GROUPS = HumanTask.candidate_groups.through
_TASK_USERS = HumanTask.candidate_users.through


def _offered_to(user):
    group_ids = user.groups.values("id")
    through_groups = _TASK_GROUPS.objects.filter(humantask_id=OuterRef("pk"), group_id__in=group_ids)
    through_users = _TASK_USERS.objects.filter(humantask_id=OuterRef("pk"), user_id=user.pk)
    return Q(assignee_id=user.pk) | Q(owner_id=user.pk) | Exists(through_groups) | Exists(through_users)


def _offered_to_nobody():
    return ~Exists(_TASK_GROUPS.objects.filter(humantask_id=OuterRef("pk"))) & ~Exists(
        _TASK_USERS.objects.filter(humantask_id=OuterRef("pk"))
    )


def _visible(user):
    visible = _offered_to(user)
    membership = membership_of(user)
    if membership is None:
        return visible
    same_agency = Q(agency_id=membership.agency_id)
    if membership.role in STAFF_WHO_SEE_THE_WHOLE_AGENCY:
        return visible | same_agency
    if membership.role in STAFF_WHO_WORK_TASKS:
        return visible | (same_agency & _offered_to_nobody())
    return visible


def human_task_list_for_user(user):
    """The user's inbox: every task they may see (superusers see all)."""
    tasks = HumanTask.objects.select_related("instance", "agency", "assignee", "owner", "completed_by")
    tasks = tasks.prefetch_related("candidate_groups")
    if user.is_superuser:
        return tasks
    return tasks.filter(_visible(user))


def human_task_visible_to(task, user):
    """Whether ``user`` may see ``task``."""
    if user.is_superuser or user.pk in (task.assignee_id, task.owner_id):
        return True
    return HumanTask.objects.filter(pk=task.pk).filter(_visible(user)).exists()


def human_task_workable_by(task, user):
    """Whether ``user`` may claim and complete ``task``: a candidate, or staff of its agency when it is
    offered to nobody; supervisors may work every task of their agency; managers only watch."""
    if user.is_superuser or task.assignee_id == user.pk:
        return True
    if has_role(user, Role.MANAGER) and not has_role(user, *STAFF_WHO_WORK_TASKS):
        return HumanTask.objects.filter(pk=task.pk).filter(_offered_to(user)).exists()
    membership = membership_of(user)
    if membership is not None and membership.role == Role.SUPERVISOR and membership.agency_id == task.agency_id:
        return True
    allowed = _offered_to(user)
    if membership is not None and membership.role in STAFF_WHO_WORK_TASKS:
        allowed |= Q(agency_id=membership.agency_id) & _offered_to_nobody()
    return HumanTask.objects.filter(pk=task.pk).filter(allowed).exists()


def human_task_supervised_by(task, user):
    """Whether ``user`` may assign or take back ``task``: a supervisor of its agency (or a superuser)."""
    if user.is_superuser:
        return True
    membership = membership_of(user)
    return membership is not None and membership.role == Role.SUPERVISOR and membership.agency_id == task.agency_id


def instance_list_for_user(user):
    """Instances the user may see: their agency's, their own applications, or those they hold a task of."""
    instances = ProcessInstance.objects.select_related("definition", "definition__agency")
    if user.is_superuser:
        return instances
    visible = Q(started_by=user) | Q(applicant=user)
    membership = membership_of(user)
    if membership is not None:
        visible |= Q(definition__agency_id=membership.agency_id)
    tasks = HumanTask.objects.filter(instance_id=OuterRef("pk")).filter(_offered_to(user))
    return instances.filter(visible | Exists(tasks))


def instance_history(instance):
    return HistoryEvent.objects.filter(instance=instance).select_related("human_task").order_by("occurred_at", "id")
