"""The inbox: one row per READY user or manual task, projected from the task tree."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..task_variables import MAX_VALUE_LENGTH
from .instances import ProcessInstance


class HumanTaskStatus(models.TextChoices):
    READY = "ready", "Ready"
    CLAIMED = "claimed", "Claimed"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_TASK_STATUSES = (HumanTaskStatus.READY, HumanTaskStatus.CLAIMED)
_OPEN = Q(status__in=OPEN_TASK_STATUSES)
# What the inbox reads of an open task besides its sort key (engine/inbox_selectors.py): the columns of
# the visibility check and of the common filters, carried in the partial indexes so a page is found
# by an index-only scan.
_INBOX_COLUMNS = ["agency", "assignee", "owner", "lane", "process_key", "priority", "due_at", "created_at"]


class DelegationState(models.TextChoices):
    NONE = "", "Not delegated"
    PENDING = "pending", "Delegated, waiting for the delegate"
    RESOLVED = "resolved", "Resolved by the delegate"


class HumanTask(models.Model):
    """A user or manual task waiting for a person: one row per READY SpiffWorkflow task."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="human_tasks")
    # No index of its own: ``humantask_agency_status`` starts with the agency.
    agency = models.ForeignKey("engine.Agency", on_delete=models.PROTECT, related_name="human_tasks", db_index=False)
    process_key = models.CharField(max_length=255)
    spiff_task_id = models.UUIDField(unique=True)
    element_id = models.CharField(max_length=255)
    name = models.CharField(max_length=500, blank=True)
    lane = models.CharField(max_length=255, blank=True)
    documentation = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=HumanTaskStatus, default=HumanTaskStatus.READY)
    assignee = models.ForeignKey(  # no index of its own: ``humantask_assignee_status`` starts with it
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tasks",
        db_index=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_tasks",
        help_text="Who delegated the task and gets it back when the delegate resolves it.",
    )
    delegation_state = models.CharField(max_length=16, choices=DelegationState, default=DelegationState.NONE,
                                        blank=True)
    candidate_groups = models.ManyToManyField(
        Group, blank=True, related_name="candidate_tasks", through="HumanTaskCandidateGroup"
    )
    candidate_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="candidate_tasks", through="HumanTaskCandidateUser"
    )
    priority = models.PositiveSmallIntegerField(default=50)
    due_at = models.DateTimeField(null=True, blank=True)
    follow_up_at = models.DateTimeField(
        null=True, blank=True, help_text="When someone should look at the task again (before it is due)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True, help_text="When the task passed its due date.")
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completion_data = models.JSONField(default=dict, blank=True)
    draft_data = models.JSONField(default=dict, blank=True, help_text="Data a delegate resolved the task with.")

    class Meta:
        # Indexes that only repeated another's leading column were dropped (engine migration 0004): the
        # agency and assignee foreign keys' own, the offers' task key (their unique pair starts with it),
        # and ``due_at`` over every task (nothing asks closed tasks by due date; ``humantask_open_due``).
        indexes = [
            models.Index(fields=["status", "created_at"], name="humantask_status_created"),
            models.Index(fields=["process_key", "status"], name="humantask_process_status"),
            models.Index(fields=["assignee", "status"], name="humantask_assignee_status"),
            models.Index(fields=["agency", "status"], name="humantask_agency_status"),
            # The inbox: one partial index per ordering, over open tasks only (a lane-less task's
            # "offered to nobody" check reads only lane-less tasks: see engine/inbox_selectors.py).
            models.Index(fields=["created_at", "id"], include=[c for c in _INBOX_COLUMNS if c != "created_at"],
                         condition=_OPEN, name="humantask_open_created"),
            models.Index(fields=["due_at", "id"], include=[c for c in _INBOX_COLUMNS if c != "due_at"],
                         condition=_OPEN, name="humantask_open_due"),
            models.Index(fields=["priority", "id"], include=[c for c in _INBOX_COLUMNS if c != "priority"],
                         condition=_OPEN, name="humantask_open_priority"),
            models.Index(fields=["agency", "created_at"], include=["id"], condition=_OPEN & Q(lane=""),
                         name="humantask_open_laneless"),
            # Probing open tasks by id (the visible ids of a small inbox, counts) without the table,
            # and counting a whole agency from one range.
            models.Index(fields=["id"], include=["status", "instance", *_INBOX_COLUMNS], condition=_OPEN,
                         name="humantask_open_by_id"),
            models.Index(fields=["agency", "process_key"], include=["status", "due_at"], condition=_OPEN,
                         name="humantask_open_agency"),
            # The inbox counters' overdue correction (engine/inbox_count_selectors.py): open tasks past
            # their due date whose deadline has not fired yet, and flagged ones no longer past it.
            models.Index(fields=["due_at", "id"], condition=_OPEN & Q(overdue_at__isnull=True, due_at__isnull=False),
                         name="humantask_open_not_flagged"),
            models.Index(fields=["due_at", "id"], condition=_OPEN & Q(overdue_at__isnull=False),
                         name="humantask_open_flagged"),
            # Analytics (analytics/elements.py): an agency's tasks of a process in a date range, read by an
            # index-only scan in (process, element) order for the per-element waiting and working times.
            models.Index(fields=["agency", "process_key", "element_id", "created_at"],
                         include=["status", "claimed_at", "completed_at", "due_at"],
                         name="humantask_analytics"),
        ]

    def __str__(self):
        return f"{self.name or self.element_id} ({self.status})"

    @property
    def is_open(self):
        return self.status in OPEN_TASK_STATUSES


class HumanTaskCandidateGroup(models.Model):
    """A group a task is offered to: the ``candidate_groups`` table, made explicit for its inbox index.

    ``is_open`` mirrors whether the task is still open, so the partial index the inbox enumerates holds
    the offers of open tasks, not every offer ever made. The services that close a task clear it
    (``engine.services.steps.close_offers``); it is only a hint, the inbox still checks the task's status.
    """

    humantask = models.ForeignKey(HumanTask, on_delete=models.CASCADE, related_name="+", db_index=False)  # unique below
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    is_open = models.BooleanField(default=True)

    class Meta:
        db_table = "engine_humantask_candidate_groups"  # the table Django made for the implicit through model
        unique_together = [("humantask", "group")]
        indexes = [
            models.Index(fields=["group", "humantask"], condition=Q(is_open=True), name="task_group_offer_open")
        ]


class HumanTaskCandidateUser(models.Model):
    """A user a task is offered to: the ``candidate_users`` table, made explicit like the groups'."""

    humantask = models.ForeignKey(HumanTask, on_delete=models.CASCADE, related_name="+", db_index=False)  # unique below
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    is_open = models.BooleanField(default=True)

    class Meta:
        db_table = "engine_humantask_candidate_users"
        unique_together = [("humantask", "user")]
        indexes = [
            models.Index(fields=["user", "humantask"], condition=Q(is_open=True), name="task_user_offer_open")
        ]


class OpenTaskVariable(models.Model):
    """A plain top-level process variable of an open task's instance, with the task's sort keys.

    One row per open task and variable that ``engine.task_variables`` carries, written by the projection
    in the same transaction as the task rows (``engine.services.task_variables``); a task that closes
    loses its rows. The indexes list a variable's value in each inbox ordering, so ``var=name:value``
    walks the matching open tasks in page order and checks only those for visibility. ``created_at``,
    ``due_at`` and ``priority`` are the task's, copied: the pagination sorts on them.
    """

    task = models.ForeignKey(HumanTask, on_delete=models.CASCADE, related_name="open_variables", db_index=False)
    name = models.CharField(max_length=64)
    value = models.CharField(max_length=MAX_VALUE_LENGTH, help_text="Canonical JSON text (engine.task_variables).")
    created_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField()

    class Meta:
        # With the value, so a small inbox's visible tasks are each matched by one index-only probe.
        constraints = [models.UniqueConstraint(fields=["task", "name"], include=["value"],
                                               name="open_task_variable_unique")]
        indexes = [
            models.Index(fields=["name", "value", "created_at", "task"], name="open_task_variable_created"),
            models.Index(fields=["name", "value", "due_at", "task"], name="open_task_variable_due"),
            models.Index(fields=["name", "value", "priority", "task"], name="open_task_variable_priority"),
        ]

    def __str__(self):
        return f"{self.name}={self.value} (task {self.task_id})"
