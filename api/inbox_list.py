"""The inbox list's rows, written from plain values rather than through ``HumanTaskSerializer``.

A page of the inbox is the hottest read of the API. Through the model serializer, 50 rows cost about
30 ms of Python (model instances, 27 fields each looked up and converted one by one); written here from
the dicts of ``engine.selectors.human_task_list_rows`` they cost a few. The answer is the serializer's,
field for field (``tests/api/test_inbox_list.py`` compares the two); the detail endpoint and every
action still answer through the serializer.

Each page costs three queries whatever its size: the rows (with instance, agency and people joined),
the names of their candidate groups, and the element catalogs and step texts of their definitions (forms,
English names, documents).
"""

from django.utils import timezone
from rest_framework import serializers

from engine import selectors as engine_selectors
from engine.forms import task_form
from engine.models import OPEN_TASK_STATUSES
from processes.selectors import definition_catalogs
from processes.step_texts import documents_of, lane_texts, stage_texts

_DATETIME = serializers.DateTimeField()  # the API's own datetime format, one field reused for every value
_DATETIME_COLUMNS = ("due_at", "follow_up_at", "overdue_at", "created_at", "claimed_at", "completed_at")


def _moment(value):
    return _DATETIME.to_representation(value) if value is not None else None


def task_list_items(rows):
    """The list's JSON objects for ``rows`` (dicts of ``LIST_ROW_COLUMNS``), in their order."""
    task_ids = [row["id"] for row in rows]
    groups = engine_selectors.human_task_candidate_group_names(task_ids) if task_ids else {}
    catalogs = definition_catalogs(row["instance__definition_id"] for row in rows) if rows else {}
    now = timezone.now()
    return [_item(row, groups.get(row["id"], []), *catalogs.get(row["instance__definition_id"], ({}, {})), now)
            for row in rows]


def _item(row, group_names, catalog, texts, now):
    moments = {column: _moment(row[column]) for column in _DATETIME_COLUMNS}
    is_open = row["status"] in OPEN_TASK_STATUSES
    overdue = is_open and (row["overdue_at"] is not None or (row["due_at"] is not None and row["due_at"] < now))
    return {
        "id": row["id"],
        "process": row["process_key"],
        "agency": row["agency__code"],
        "instance_id": row["instance_id"],
        "tracking_code": row["instance__tracking_code"],
        "element_id": row["element_id"],
        "name": row["name"],
        "name_en": stage_texts(texts, row["element_id"], row["name"])["en"],
        "documentation": row["documentation"],
        "lane": row["lane"],
        "lane_en": lane_en["en"] if (lane_en := lane_texts(texts, row["lane"])) else None,
        "documents": documents_of(texts, row["element_id"]),
        "status": row["status"],
        "assignee": row["assignee__username"],
        "owner": row["owner__username"],
        "delegation_state": row["delegation_state"],
        "candidate_groups": group_names,
        "priority": row["priority"],
        "due_at": moments["due_at"],
        "follow_up_at": moments["follow_up_at"],
        "is_overdue": overdue,
        "overdue_at": moments["overdue_at"],
        "created_at": moments["created_at"],
        "claimed_at": moments["claimed_at"],
        "completed_at": moments["completed_at"],
        "completed_by": row["completed_by__username"],
        "draft_data": row["draft_data"],
        "completion_data": row["completion_data"],
        "data": row["instance__data"],
        "form": task_form(catalog, row["element_id"]),
    }
