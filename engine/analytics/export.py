"""The event log for process-mining tools: XES (IEEE 1849-2016) and CSV, streamed, people optionally
pseudonymised.

One event per lifecycle step of an element visit, read from the history: ``task_created`` is
``schedule``, ``task_claimed`` is ``start``, ``task_completed`` is ``complete`` (with the task's group),
``task_cancelled`` is ``ate_abort``, and ``activity_completed`` of an element that is not a human task
(events, gateways, script and service tasks) is ``complete``. Traces are instances, in id order, each
with its events in time order.

Pseudonymised, every person (``org:resource``) becomes ``person-`` and a keyed hash of the username
(HMAC-SHA256 with the ``SECRET_KEY``): the same person gets the same key in every export, and the
username cannot be read back without the key. ``system`` stays ``system``.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterator
from xml.sax.saxutils import escape

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from engine.history import SYSTEM_ACTOR
from engine.models import EventType, HistoryEvent, HumanTask

from .scope import Scope

LIFECYCLE = {
    EventType.TASK_CREATED: "schedule",
    EventType.TASK_CLAIMED: "start",
    EventType.TASK_COMPLETED: "complete",
    EventType.TASK_CANCELLED: "ate_abort",
    EventType.ACTIVITY_COMPLETED: "complete",
}
CSV_COLUMNS = ["case_id", "process", "version", "activity", "timestamp", "lifecycle", "resource", "group"]
CHUNK = 2000


def pseudonym(name: str) -> str:
    if not name or name == SYSTEM_ACTOR:
        return name
    digest = hmac.new(settings.SECRET_KEY.encode(), f"person:{name}".encode(), hashlib.sha256).hexdigest()
    return f"person-{digest[:16]}"


def log_events(scope: Scope):
    """The log's rows: (instance, process, version, element, time, event type, actor, group), in trace order."""
    human_element = HumanTask.objects.filter(instance_id=OuterRef("instance_id"), element_id=OuterRef("element_id"))
    events = HistoryEvent.objects.filter(instance__isnull=False).filter(
        Q(event_type__in=[EventType.TASK_CREATED, EventType.TASK_CLAIMED, EventType.TASK_COMPLETED,
                          EventType.TASK_CANCELLED])
        | Q(Q(event_type=EventType.ACTIVITY_COMPLETED) & ~Exists(human_element))
    )
    if scope.restricted:
        events = events.filter(definition_id__in=scope.definition_ids())
    if scope.date_from is not None:
        events = events.filter(occurred_at__gte=scope.date_from)
    if scope.date_to is not None:
        events = events.filter(occurred_at__lt=scope.date_to)
    return events.order_by("instance_id", "occurred_at", "id").values_list(
        "instance_id", "definition__key", "definition__version", "element_id", "occurred_at", "event_type",
        "actor_name", "human_task__lane",
    )


def _rows(scope: Scope, pseudonymise: bool) -> Iterator[tuple]:
    for instance_id, key, version, element_id, occurred_at, event_type, actor, lane in log_events(scope).iterator(
        chunk_size=CHUNK
    ):
        resource = pseudonym(actor) if pseudonymise else actor
        yield instance_id, key, version, element_id, occurred_at.isoformat(), LIFECYCLE[event_type], resource, lane


def _attr(kind: str, key: str, value) -> str:
    return f'<{kind} key="{key}" value={_quote(str(value))}/>'


def _quote(value: str) -> str:
    return '"' + escape(value, {'"': "&quot;"}) + '"'


XES_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <global scope="trace"><string key="concept:name" value="__INVALID__"/></global>
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00+00:00"/>
    <string key="lifecycle:transition" value="complete"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>
  <string key="concept:name" value="bureau-engine event log"/>
"""


def xes_stream(scope: Scope, *, pseudonymise: bool = False) -> Iterator[str]:
    yield XES_HEADER
    current = None
    buffer = []
    for instance_id, key, version, element_id, timestamp, lifecycle, resource, lane in _rows(scope, pseudonymise):
        if instance_id != current:
            if current is not None:
                buffer.append("  </trace>\n")
            current = instance_id
            buffer.append(f"  <trace>{_attr('string', 'concept:name', instance_id)}"
                          f"{_attr('string', 'process', key)}{_attr('int', 'version', version)}\n")
        parts = [_attr("string", "concept:name", element_id), _attr("date", "time:timestamp", timestamp),
                 _attr("string", "lifecycle:transition", lifecycle), _attr("string", "org:resource", resource)]
        if lane:
            parts.append(_attr("string", "org:group", lane))
        buffer.append(f"    <event>{''.join(parts)}</event>\n")
        if len(buffer) >= CHUNK:
            yield "".join(buffer)
            buffer = []
    if current is not None:
        buffer.append("  </trace>\n")
    buffer.append("</log>\n")
    yield "".join(buffer)


def csv_stream(scope: Scope, *, pseudonymise: bool = False) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for row in _rows(scope, pseudonymise):
        writer.writerow(["" if value is None else value for value in row])
        count += 1
        if count % CHUNK == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
