"""Counters of open tasks for the inbox's counts (``engine.services.inbox_counts`` keeps them).

Each open task belongs to one *audience*: its agency, the exact set of groups it is offered to, and
whether it is lane-less and offered to nobody (then its agency's officers see it). The open tasks are
counted per (audience, process, status, overdue flag) in insert-only delta rows that a compaction folds
into one row per key; a user's counts are the sums over the audiences they see, plus the few tasks they
see only personally (``engine.inbox_count_selectors``).
"""

from django.contrib.auth.models import Group
from django.db import models

from .tasks import HumanTask


class InboxAudience(models.Model):
    """Who sees an open task through its offers: an agency, a set of groups, or "lane-less, offered to nobody"."""

    agency = models.ForeignKey("engine.Agency", on_delete=models.CASCADE, related_name="+")
    offered_to_nobody = models.BooleanField(default=False)
    # The group ids, ascending, comma-separated ("" for none): the set's identity.
    group_ids = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "offered_to_nobody", "group_ids"], name="inbox_audience_unique")
        ]

    def __str__(self):
        return f"{self.agency_id}:{'nobody' if self.offered_to_nobody else self.group_ids}"


class InboxAudienceGroup(models.Model):
    """One group of an audience: "the audiences that hold one of my groups" is one index range per group."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    audience = models.ForeignKey(InboxAudience, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "audience"], name="inbox_audience_group_unique")]


class InboxCountedTask(models.Model):
    """How an open task is counted now: the key its +1 went to. Closed tasks have no row.

    The refresh compares it with the task row to write the deltas, so every writer just refreshes the
    tasks it touched, whatever it changed."""

    task = models.OneToOneField(HumanTask, on_delete=models.CASCADE, primary_key=True, related_name="inbox_counted")
    # No index: rows are read by task; an audience is never deleted while tasks are counted in it.
    audience = models.ForeignKey(InboxAudience, on_delete=models.PROTECT, related_name="+", db_index=False)
    process_key = models.CharField(max_length=255)
    status = models.CharField(max_length=16)
    flagged_overdue = models.BooleanField(default=False, help_text="``overdue_at`` was set when counted.")


class InboxCountDelta(models.Model):
    """A change of the open-task count of one key (+1, -1, or a compacted sum). Rows are only inserted,
    and deleted by the compaction that inserts their sum: concurrent writers never update one row."""

    audience = models.ForeignKey(InboxAudience, on_delete=models.PROTECT, related_name="+", db_index=False)
    process_key = models.CharField(max_length=255)
    status = models.CharField(max_length=16)
    flagged_overdue = models.BooleanField(default=False)
    tasks = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["audience", "process_key", "status", "flagged_overdue"], include=["tasks"],
                         name="inbox_delta_key")
        ]
