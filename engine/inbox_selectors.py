"""The inbox query: the tasks a user may see, asked so PostgreSQL answers from an index at a million open tasks.

Who sees what is the rule in ``engine.selectors``; this module is how it is asked, in one of two shapes:

- **as ids**: the union of what each part of the rule yields (the offers to the user's groups and to
  the user, the tasks assigned to or owned by them, their agency's lane-less tasks offered to nobody).
  Every part is an index-only scan and each id is then looked up in ``humantask_open_by_id``, so the
  cost follows how many tasks the user may see, not how many there are. Counting uses it, and so does
  a page for a user who sees few tasks.
- **per row**: a condition checked on each entry while an ordered partial index is walked (the offers
  become one hashed set, the other parts read columns the index carries). The walk stops after a page,
  so the cost follows how rare the user's tasks are among all open tasks: the shape for a page of a
  busy inbox, where listing tens of thousands of ids first would be the slow part.

A page for an officer starts with one or two cheap questions, each reading at most ``FEW_TASKS`` index
entries: are there more open offers to their groups than that, or more open lane-less tasks in their
agency? If so, per row; else ids. A filter on process variables read from the instance's data costs a
look at the instance for each visible task walked past, so the bar is then higher; a filter on the
variables the open tasks carry (``OpenTaskVariable``) walks that table's index instead, matching tasks
only (``with_variable``), narrowed for mid-sized inboxes by hashed sets of what the user may see.
Supervisors and managers see their whole agency: per row for a page; for counting, their agency is one
range of ``humantask_open_agency`` and what they see elsewhere is counted apart.

"Offered to nobody" is checked only on lane-less tasks: a task in a lane is always offered to someone
(its lane's group, the applicant, or the lane's owners), so the check, two index probes per task, never
runs on the agency's other tasks. Offer rows carry ``is_open`` so the indexes the ids shape enumerates
hold the offers of open tasks, not the whole history.
"""

from django.contrib.auth.models import Group
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Value
from django.utils import timezone

from .agencies import STAFF_WHO_SEE_THE_WHOLE_AGENCY, STAFF_WHO_WORK_TASKS, membership_of
from .models import OPEN_TASK_STATUSES, HumanTask, HumanTaskCandidateGroup, HumanTaskCandidateUser

# Above this many open offers (or lane-less tasks), a page is found per row rather than from the ids.
FEW_TASKS = 2000
# ... and this many times more when the page is filtered on process variables read from the instance's data
# (each task walked past costs a look at its instance).
FEW_TASKS_FACTOR_FOR_DATA_FILTERS = 4
# From this many open offers to an officer's groups on, each task walked past is probed in the offers rather
# than all the offers hashed first: with 45,000 offers a page is found within about a thousand tasks.
MANY_TASKS = 20_000
# The shapes of a page query.
IDS, PER_ROW, PER_ROW_PROBED = "ids", "per row", "per row, offers probed"
# How a page is filtered on process variables (``visible_tasks``): read from the instance's data, or from
# the variables the open tasks carry (``OpenTaskVariable``, ``with_variable``).
BY_INSTANCE_DATA, BY_CARRIED_VARIABLES = "instance data", "carried variables"
# The alias that tells ``with_variable`` to narrow the walk of the variable's index by the user's offers.
_NARROW_BY_OFFERS = "inbox_narrow_variables_by_offers"

# PostgreSQL-only index that lets a process-variable filter start from the matching instances
# (``data @> {"name": value}``); SQLite has no such index. Created by a PostgreSQL-only migration.
POSTGRES_INSTANCE_DATA_INDEX = (
    "CREATE INDEX IF NOT EXISTS instance_data_gin ON engine_processinstance USING gin (data jsonb_path_ops)"
)

# PostgreSQL-only settings of the open tasks' variables (``OpenTaskVariable``; a step of migration 0008):
# - statistics of (name, value) together: a value belongs to one name, and estimated apart a common value
#   looks rare (``district`` = one of ten: 24,000 rows estimated, 100,000 there), which made the planner
#   scan every matching row for a small inbox rather than probe its few thousand visible tasks;
# - no parallel workers: a page reads a few thousand index entries, less than starting a worker costs
#   (a supervisor's page: 38 ms with a worker, 9 ms without).
POSTGRES_TASK_VARIABLE_SETTINGS = [
    "CREATE STATISTICS IF NOT EXISTS open_task_variable_value_stats (mcv) ON name, value FROM engine_opentaskvariable",
    "ALTER TABLE engine_opentaskvariable SET (parallel_workers = 0)",
]

_USER_GROUPS = Group.user_set.through


class _Rule:
    """The parts of the visibility rule that apply to one user."""

    def __init__(self, user, open_only):
        self.user = user
        self.open_only = open_only
        membership = membership_of(user)
        self.agency_id = membership.agency_id if membership is not None else None
        role = membership.role if membership is not None else None
        self.whole_agency = role in STAFF_WHO_SEE_THE_WHOLE_AGENCY
        self.laneless_of_agency = role in STAFF_WHO_WORK_TASKS and not self.whole_agency

    def tasks(self):
        tasks = HumanTask.objects.all()
        return tasks.filter(status__in=OPEN_TASK_STATUSES) if self.open_only else tasks

    def group_offers(self):
        offers = HumanTaskCandidateGroup.objects.filter(
            group_id__in=_USER_GROUPS.objects.filter(user_id=self.user.pk).values("group_id")
        )
        return offers.filter(is_open=True) if self.open_only else offers

    def user_offers(self):
        offers = HumanTaskCandidateUser.objects.filter(user_id=self.user.pk)
        return offers.filter(is_open=True) if self.open_only else offers

    def as_ids(self, *, with_agency=True):
        """The rule as ``pk IN (union of ids)``; ``with_agency=False`` leaves out the whole-agency part."""
        parts = [
            self.group_offers().values("humantask_id"),
            self.user_offers().values("humantask_id"),
            self.tasks().filter(assignee_id=self.user.pk).values("pk"),
            self.tasks().filter(owner_id=self.user.pk).values("pk"),
        ]
        if self.whole_agency and with_agency:
            parts.append(self.tasks().filter(agency_id=self.agency_id).values("pk"))
        elif self.laneless_of_agency:
            laneless = self.tasks().filter(agency_id=self.agency_id, lane="")
            laneless = laneless.filter(_offered_to_nobody())
            parts.append(laneless.values("pk"))
        return Q(pk__in=parts[0].union(*parts[1:], all=True))

    def may_see(self, column):
        """A superset of the rule as separate ``column IN (…)`` conditions, each a set PostgreSQL hashes once.

        ``column`` holds task ids (a variable row's task): the open offers to the user's groups and to the
        user, the open tasks assigned to or owned by them, and their agency's open lane-less tasks (offered
        to nobody or not: the exact rule is checked on the task afterwards). Not for whole-agency staff.
        """
        parts = [
            self.group_offers().values("humantask_id"),
            self.user_offers().values("humantask_id"),
            self.tasks().filter(assignee_id=self.user.pk).values("pk"),
            self.tasks().filter(owner_id=self.user.pk).values("pk"),
        ]
        if self.laneless_of_agency:
            parts.append(self.tasks().filter(agency_id=self.agency_id, lane="").values("pk"))
        condition = Q()
        for part in parts:
            condition |= Q(**{f"{column}__in": part})
        return condition

    def per_row(self, *, probe_offers=False):
        """The rule as a condition on each task row.

        The offers to the user's groups are one hashed set, built before the walk; with ``probe_offers``
        each task walked past is looked up in the open offers instead (an index probe per task), which
        is cheaper when the user has so many offers that a page is found after a short walk.
        """
        if probe_offers:
            # The user's groups as literal ids, and no ``is_open`` (the walk is over open tasks, whose offers
            # are open): each task walked past is then one descent of the offers' (task, group) index, read
            # alone, rather than a look at the user's memberships and a descent per group.
            groups = list(_USER_GROUPS.objects.filter(user_id=self.user.pk).values_list("group_id", flat=True))
            group_offered = Exists(HumanTaskCandidateGroup.objects.filter(_offers_of_the_task(), group_id__in=groups))
        else:
            group_offered = Q(pk__in=self.group_offers().values("humantask_id"))
        visible = (
            Q(assignee_id=self.user.pk)
            | Q(owner_id=self.user.pk)
            | group_offered
            | Q(pk__in=self.user_offers().values("humantask_id"))
        )
        if self.whole_agency:
            return visible | Q(agency_id=self.agency_id)
        if self.laneless_of_agency:
            return visible | (Q(agency_id=self.agency_id, lane="") & _offered_to_nobody())
        return visible

    def page_shape(self, few):
        """How a page of open tasks is best found: ``IDS``, ``PER_ROW`` or ``PER_ROW_PROBED``.

        Citizens and analysts see what is offered to them, which is few: ids. Supervisors and managers
        see their whole agency: per row. An officer's open offers are counted up to ``MANY_TASKS`` (one
        index range, at most that many entries): past it, per row with the offers probed; past ``few``,
        per row; else per row only if their agency has more than ``few`` open lane-less tasks.
        """
        if self.whole_agency:
            return PER_ROW
        if not self.laneless_of_agency:
            return IDS
        offers = self.group_offers().filter(is_open=True).values("pk")[:MANY_TASKS].count()
        if offers >= MANY_TASKS:
            return PER_ROW_PROBED
        if offers > few:
            return PER_ROW
        laneless = HumanTask.objects.filter(agency_id=self.agency_id, lane="", status__in=OPEN_TASK_STATUSES)
        return PER_ROW if laneless.values("pk")[few:].exists() else IDS


def _offered_to_nobody():
    """No offer row for the task, each kind asked by one index probe per task (see ``_offers_of_the_task``)."""
    return ~Exists(HumanTaskCandidateGroup.objects.filter(_offers_of_the_task())) & ~Exists(
        HumanTaskCandidateUser.objects.filter(_offers_of_the_task())
    )


def _offers_of_the_task():
    """The offer rows of the task of the outer query, asked as a range of one task id.

    The same rows as ``humantask_id = id``, but PostgreSQL cannot turn a range into a hashed set of
    every offer built before the walk: it probes the offers' index for each task that gets this far,
    which in a walk is few (lane-less tasks of the agency) or cheap (a busy inbox is found quickly).
    """
    return Q(humantask_id__gte=OuterRef("pk"), humantask_id__lte=OuterRef("pk"))


def visible_tasks(user, *, open_only=False, for_page=False, variables=None):
    """The tasks ``user`` may see, as a queryset of bare rows (superusers see all).

    ``open_only`` keeps the ready and claimed ones (and lets the query use the open-task indexes);
    ``for_page`` says the caller reads one page in index order rather than every row, and ``variables``
    whether the page is filtered on process variables, and how (``BY_INSTANCE_DATA``,
    ``BY_CARRIED_VARIABLES``).

    Filtered on carried variables, a page walks the variable's index (``with_variable``). An officer who
    sees more than a few tasks and fewer than many has that walk narrowed by hashed sets of what they may
    see (``_Rule.may_see``), so a task walked past costs a hash lookup, not a look at the task; the exact
    rule is then checked on the few tasks that pass, with the offers probed per task.
    """
    rule = _Rule(user, open_only)
    tasks = rule.tasks()
    if user.is_superuser:
        return tasks
    few = FEW_TASKS * (FEW_TASKS_FACTOR_FOR_DATA_FILTERS if variables == BY_INSTANCE_DATA else 1)
    shape = rule.page_shape(few) if for_page and open_only else IDS
    if shape == IDS:
        return tasks.filter(rule.as_ids())
    if shape == PER_ROW and variables == BY_CARRIED_VARIABLES and not rule.whole_agency:
        return tasks.filter(rule.per_row(probe_offers=True)).alias(**{_NARROW_BY_OFFERS: Value(True)})
    return tasks.filter(rule.per_row(probe_offers=shape == PER_ROW_PROBED))


def visible_open_task_parts(user):
    """The open tasks ``user`` may see, as disjoint querysets that are each cheap to count.

    Supervisors and managers: their agency (one index range) and what they see elsewhere.
    """
    rule = _Rule(user, open_only=True)
    tasks = rule.tasks()
    if user.is_superuser:
        return [tasks]
    if rule.whole_agency:
        elsewhere = tasks.exclude(agency_id=rule.agency_id).filter(rule.as_ids(with_agency=False))
        return [tasks.filter(agency_id=rule.agency_id), elsewhere]
    return [tasks.filter(rule.as_ids())]


# The sort keys a page of open tasks filtered on a variable reads from the variable's rows, named as
# ``api.pagination.KeysetCursorPagination`` looks for them (``sort_key_<field>``).
_VARIABLE_SORT_KEYS = {"sort_key_created_at": "created_at", "sort_key_due_at": "due_at",
                       "sort_key_priority": "priority", "sort_key_id": "task_id"}


def with_variable(tasks, name, value, *, user):
    """The open ``tasks`` of ``user``'s inbox whose instance holds ``value`` (canonical text) in ``name``.

    A join to the task's ``OpenTaskVariable`` row (at most one per task and name, so no task twice); the
    first such condition also names its row's copies of the sort keys, so a page walks the index of
    (name, value, sort key, task) in page order and checks each matching task for visibility, rather
    than walking every visible task and looking at its instance. When ``visible_tasks`` asked for it, that
    walk is narrowed by what the user may see (``_Rule.may_see``). A task that is not open has no rows.
    """
    first = "sort_key_id" not in tasks.query.annotations
    if first and _NARROW_BY_OFFERS in tasks.query.annotations:
        narrowed = _Rule(user, open_only=True).may_see("open_variables__task_id")
        tasks = tasks.filter(narrowed, open_variables__name=name, open_variables__value=value)
    else:
        tasks = tasks.filter(open_variables__name=name, open_variables__value=value)
    if first:
        tasks = tasks.alias(**{alias: F(f"open_variables__{column}") for alias, column in _VARIABLE_SORT_KEYS.items()})
    return tasks


def task_rows(tasks):
    """``tasks`` with what the inbox shows of them loaded alongside (the instance without its task tree)."""
    tasks = tasks.select_related("instance", "agency", "assignee", "owner", "completed_by")
    groups = Prefetch("candidate_groups", queryset=Group.objects.only("name"))
    return tasks.defer("instance__state").prefetch_related(groups)


# What a list row shows, read as plain values (no model instances): the inbox list's own shape.
LIST_ROW_COLUMNS = (
    "id", "process_key", "agency__code", "instance_id", "instance__tracking_code", "instance__definition_id",
    "instance__data", "element_id", "name", "documentation", "lane", "status", "assignee__username",
    "owner__username", "delegation_state", "priority", "due_at", "follow_up_at", "overdue_at", "created_at",
    "claimed_at", "completed_at", "completed_by__username", "draft_data", "completion_data",
)


def task_list_rows(ids):
    """The tasks ``ids`` as dicts of ``LIST_ROW_COLUMNS``: one join query, no model instances."""
    return HumanTask.objects.filter(pk__in=ids).values(*LIST_ROW_COLUMNS)


def candidate_group_names(task_ids):
    """``{task id: [names of the groups it is offered to]}`` for ``task_ids``, by name, in one query.

    It reads only the offers' unique (task, group) index and the groups (no offer row, no offer id)."""
    names = {}
    offers = HumanTaskCandidateGroup.objects.filter(humantask_id__in=task_ids).order_by("group__name")
    for task_id, name in offers.values_list("humantask_id", "group__name"):
        names.setdefault(task_id, []).append(name)
    return names


def task_counts(parts):
    """The disjoint querysets of open tasks ``parts`` counted by status, by process and overdue.

    One query per part, grouped by process and status with the overdue ones counted alongside.
    """
    now = timezone.now()
    counts = {"total": 0, "by_status": {status: 0 for status in OPEN_TASK_STATUSES}, "by_process": {}, "overdue": 0}
    for part in parts:
        groups = (
            part.order_by()
            .values_list("process_key", "status")
            # Only columns the open-task indexes carry (no id), so PostgreSQL can count from an index alone.
            .annotate(tasks=Count("*"), overdue=Count("due_at", filter=Q(due_at__lt=now)))
        )
        for process_key, status, tasks, overdue in groups:
            counts["total"] += tasks
            counts["by_status"][status] += tasks
            counts["by_process"][process_key] = counts["by_process"].get(process_key, 0) + tasks
            counts["overdue"] += overdue
    counts["by_status"] = {str(status): tasks for status, tasks in counts["by_status"].items()}
    counts["by_process"] = dict(sorted(counts["by_process"].items()))
    return counts
