"""Selectors read: the queries the API and analytics need, in one place.

Who sees which task:
- superusers see every task;
- everyone sees the tasks assigned to them, and those offered to them or to one of their groups
  (a group of another agency named as candidate is how a task crosses agencies);
- officers and supervisors also see their own agency's tasks that are offered to nobody;
- supervisors and managers see every task of their agency.
Acting (claim, complete) needs more than seeing: managers only watch.
"""

from datetime import timedelta
from functools import cached_property

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from . import inbox_count_selectors, inbox_selectors
from .agencies import (
    STAFF_WHO_SEE_THE_WHOLE_AGENCY,
    STAFF_WHO_WORK_TASKS,
    has_role,
    is_applicant_lane,
    membership_of,
)
from .calendars.for_agency import calendar_for_agency
from .inbox_selectors import BY_CARRIED_VARIABLES, BY_INSTANCE_DATA  # noqa: F401 (for the API's filters)
from .models import (
    OPEN_TASK_STATUSES,
    HistoryEvent,
    HumanTask,
    InstanceStatus,
    MessageSubscription,
    MessageSubscriptionStatus,
    Notification,
    ProcessInstance,
    Role,
)
from .prepared import PreparedRead

_TASK_GROUPS = HumanTask.candidate_groups.through
# Where ``user_group_ids`` keeps a user object's group ids.
USER_GROUP_IDS_CACHE = "_engine_group_ids"
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


def human_task_list_for_user(user, *, open_only=False, for_page=False, variables=None):
    """The user's inbox: every task they may see (superusers see all), with what the API shows loaded.

    ``open_only`` keeps ready and claimed tasks; ``for_page`` says one page is read in index order, and
    ``variables`` whether and how it is filtered on process variables (``inbox_selectors.BY_INSTANCE_DATA``
    or ``BY_CARRIED_VARIABLES``). They choose the shape of the query, which matters at a million open
    tasks (``engine.inbox_selectors``).
    """
    visible = inbox_selectors.visible_tasks(user, open_only=open_only, for_page=for_page, variables=variables)
    return inbox_selectors.task_rows(visible)


def human_task_with_variable(tasks, name, value, *, user):
    """The open ``tasks`` of ``user``'s inbox whose instance holds ``value`` (canonical text,
    ``engine.task_variables``) in ``name``."""
    return inbox_selectors.with_variable(tasks, name, value, user=user)


def human_task_rows():
    """Tasks with their instance (without its task tree), agency, people and candidate groups loaded."""
    return inbox_selectors.task_rows(HumanTask.objects.all())


def human_task_list_rows(ids):
    """The inbox list's rows of the tasks ``ids`` as plain dicts (``inbox_selectors.LIST_ROW_COLUMNS``)."""
    return inbox_selectors.task_list_rows(ids)


def human_task_candidate_group_names(task_ids):
    """``{task id: [group names]}``: the groups each of ``task_ids`` is offered to, in one query."""
    return inbox_selectors.candidate_group_names(task_ids)


def human_task_count_parts(user):
    """The open tasks ``user`` may see, as disjoint querysets each cheap to count."""
    return inbox_selectors.visible_open_task_parts(user)


def human_task_open_counts(user):
    """Counts of the open tasks ``user`` may see, from the inbox counters (no filter can apply)."""
    return inbox_count_selectors.open_task_counts(user)


def human_task_counts(parts):
    """Counts of the open tasks in the disjoint querysets ``parts``: by status, by process and overdue."""
    return inbox_selectors.task_counts(parts)


_OFFERED_GROUPS = PreparedRead(
    lambda task_id: _TASK_GROUPS.objects.filter(humantask_id=task_id).values_list("group_id", flat=True))
_OFFERED_USERS = PreparedRead(
    lambda task_id: _TASK_USERS.objects.filter(humantask_id=task_id).values_list("user_id", flat=True))


class _Offer:
    """Whom a task is offered to, read once per task object: its candidate groups and users.

    The permission checks below decide on these ids in Python, by the rules of the module docstring (the
    inbox's query, ``inbox_selectors.visible_tasks``, applies the same rules to every task at once); a query
    per check said the same but cost far more to compile, and the services check once or twice per call.
    Kept on the task object (``task._offer``), which the services load afresh, locked, for each call;
    ``human_task_offer_forget`` drops it when the offers change.
    """

    def __init__(self, task):
        self.task_id = task.pk

    @cached_property
    def group_ids(self):
        return frozenset(_OFFERED_GROUPS(self.task_id))

    @cached_property
    def user_ids(self):
        return frozenset(_OFFERED_USERS(self.task_id))

    @property
    def to_nobody(self):
        return not self.group_ids and not self.user_ids

    def offered_to(self, task, user):
        """What ``_offered_to(user)`` says of the task (the groups first: most tasks are offered to a lane)."""
        if user.pk in (task.assignee_id, task.owner_id):
            return True
        if self.group_ids and not self.group_ids.isdisjoint(user_group_ids(user)):
            return True
        return user.pk in self.user_ids


def user_group_ids(user):
    """The ids of the user's groups, read once per user object (as Django's permission checks cache theirs);
    adding or removing groups through the user object (``user.groups.add``) drops it (``engine.signals``)."""
    ids = user.__dict__.get(USER_GROUP_IDS_CACHE)
    if ids is None:
        ids = user.__dict__[USER_GROUP_IDS_CACHE] = frozenset(user.groups.values_list("pk", flat=True))
    return ids


def _offer_of(task):
    offer = task.__dict__.get("_offer")
    if offer is None:
        offer = task.__dict__["_offer"] = _Offer(task)
    return offer


def human_task_offer_forget(task):
    """The task's candidates changed: the next check reads them again."""
    task.__dict__.pop("_offer", None)


def human_task_visible_to(task, user):
    """Whether ``user`` may see ``task``: the inbox's rules (module docstring) applied to one task."""
    if user.is_superuser or user.pk in (task.assignee_id, task.owner_id):
        return True
    membership = membership_of(user)
    same_agency = membership is not None and membership.agency_id == task.agency_id
    if same_agency and membership.role in STAFF_WHO_SEE_THE_WHOLE_AGENCY:
        return True
    offer = _offer_of(task)
    if offer.offered_to(task, user):
        return True
    return same_agency and membership.role in STAFF_WHO_WORK_TASKS and offer.to_nobody


def human_task_workable_by(task, user):
    """Whether ``user`` may claim and complete ``task``: a candidate, or staff of its agency when it is
    offered to nobody; supervisors may work every task of their agency; managers only watch."""
    if user.is_superuser or task.assignee_id == user.pk:
        return True
    membership = membership_of(user)
    same_agency = membership is not None and membership.agency_id == task.agency_id
    if same_agency and membership.role == Role.SUPERVISOR:
        return True
    offer = _offer_of(task)
    if offer.offered_to(task, user):
        return True
    return same_agency and membership.role in STAFF_WHO_WORK_TASKS and offer.to_nobody


def human_task_supervised_by(task, user):
    """Whether ``user`` may assign or take back ``task``: a supervisor of its agency (or a superuser)."""
    if user.is_superuser:
        return True
    membership = membership_of(user)
    return membership is not None and membership.role == Role.SUPERVISOR and membership.agency_id == task.agency_id


def human_task_assignments_visible_to(user):
    """Whether ``user`` may list what others are assigned: supervisors and managers (and superusers)."""
    return user.is_superuser or has_role(user, *STAFF_WHO_SEE_THE_WHOLE_AGENCY)


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


def normalize_tracking_code(code):
    """Codes are typed from paper: ignore case, spaces and dashes."""
    raw = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return f"{raw[0:4]}-{raw[4:8]}-{raw[8:12]}" if len(raw) == 12 else None


def instance_tracking(code):
    """(instance, open stages) for a tracking code, or None; stages are plain dicts without people."""
    normalized = normalize_tracking_code(code)
    if normalized is None:
        return None
    instance = (
        ProcessInstance.objects.select_related("definition", "definition__agency")
        .filter(tracking_code=normalized)
        .first()
    )
    if instance is None:
        return None
    open_tasks = [
        {"name": task.name, "element_id": task.element_id, "lane": task.lane, "created_at": task.created_at,
         "for_applicant": is_applicant_lane(task.lane)}
        for task in HumanTask.objects.filter(instance=instance, status__in=OPEN_TASK_STATUSES).order_by("created_at")
    ]
    return instance, open_tasks


def message_subscription_list_for_sender(user):
    """Waiting subscriptions of running instances that ``user`` may send a message to.

    Staff of any agency (another agency replying) and superusers may address every instance, a citizen
    only their own applications; ``None`` is the system (an integration calling the service itself).
    """
    subscriptions = MessageSubscription.objects.filter(
        status=MessageSubscriptionStatus.WAITING, instance__status=InstanceStatus.RUNNING
    )
    if user is None or user.is_superuser or membership_of(user) is not None:
        return subscriptions
    if not user.is_authenticated:
        return subscriptions.none()
    return subscriptions.filter(instance__applicant_id=user.pk)


def instance_clock(instance, now=None):
    """The service-level clock of an instance: promised date, elapsed and counted time, in seconds.

    ``counted`` is working time on the agency's calendar minus the working time the clock was paused
    (waiting on the applicant); ``breached`` says whether the promise was (or is being) missed.
    """
    level = (instance.definition.service_levels or {}).get("process")
    end = instance.ended_at or now or timezone.now()
    calendar = calendar_for_agency(instance.definition.agency)
    working = calendar.working_time_between(instance.started_at, end)
    pauses = instance.clock_pauses.all()
    paused = sum(
        (calendar.working_time_between(pause.started_at, pause.ended_at or end) for pause in pauses), timedelta(0)
    )
    return {
        "service_level": level,
        "promised_at": instance.promised_at,
        "elapsed_seconds": round((end - instance.started_at).total_seconds()),
        "working_seconds": round(working.total_seconds()),
        "paused_working_seconds": round(paused.total_seconds()),
        "counted_working_seconds": round((working - paused).total_seconds()),
        "paused_now": any(pause.ended_at is None for pause in pauses),
        "breached": instance.promised_at is not None and end > instance.promised_at,
    }


def notification_list_for_user(user):
    return Notification.objects.filter(recipient=user).select_related("human_task", "instance")
