"""Synthetic history for bench/analytics.py: instances, human tasks and history events as the engine
writes them, generated in Python and loaded with PostgreSQL ``COPY``.

Three processes of one agency (the measured one), each instance simulated step by step:

- ``certified_copy`` (65 %): verify_copy (Front Office). 8 events.
- ``trade_licence`` (22 %): check_application (Front Office) -> review_licence (Verifier). 12 events.
- ``building_permit`` (13 %, versions 1 and 2): register -> docs_ok, sent back to the applicant
  (revise_documents) 25 % of the time (again 25 % of those) -> technical_review -> needs_inspection ->
  field_inspection (35 %) -> approve -> approved -> issue_permit -> issued, or rejected (8 %).

Per human step the engine's four events (``task_created``, ``task_claimed``, ``task_completed``,
``activity_completed``); per automatic element (start and end events, gateways, script tasks) one
``activity_completed``; plus ``instance_started`` and ``instance_completed``. Waiting (created ->
claimed) and working (claimed -> completed) times are log-normal per element (technical review and
field inspection are the slow ones), officers are picked from their lane's group with a skew, and due
dates and promised dates are wall-clock approximations of the working-time ones, so some break them.
Instances start uniformly over 78 weeks before ``NOW``; whatever would happen after ``NOW`` has not
happened yet (open tasks, running instances).
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime

NOW = datetime(2026, 7, 1, tzinfo=UTC).timestamp()
START = NOW - 78 * 7 * 86400
HOUR = 3600.0
NULL = "\\N"  # COPY text format

# element: (lane, median wait hours, wait sigma, median work hours, work sigma, due hours or None)
HUMAN = {
    "verify_copy": ("Front Office", 3, 1.0, 0.15, 0.6, 24),
    "check_application": ("Front Office", 6, 1.0, 0.5, 0.6, 48),
    "review_licence": ("Verifier", 30, 1.0, 1.0, 0.6, 72),
    "register": ("Front Office", 4, 1.0, 0.3, 0.6, 24),
    "revise_documents": ("Applicant", 48, 0.8, 0.0, 0.0, None),
    "technical_review": ("Verifier", 72, 0.9, 2.0, 0.6, 120),
    "field_inspection": ("Inspectors", 96, 0.7, 3.0, 0.5, 168),
    "approve": ("Head of Office", 24, 1.0, 0.25, 0.6, 48),
}
PROMISE_HOURS = {"certified_copy": 72, "trade_licence": 168, "building_permit": 480}
GROUPS = ["Front Office", "Verifier", "Inspectors", "Head of Office"]
OFFICERS_PER_GROUP = 12
APPLICANTS = 20_000


def _path(process, rng):
    """The elements an instance goes through: ('human', id) or ('auto', id), in order."""
    if process == "certified_copy":
        return [("auto", "requested"), ("human", "verify_copy"), ("auto", "handed_over")]
    if process == "trade_licence":
        return [("auto", "applied"), ("human", "check_application"), ("human", "review_licence"),
                ("auto", "licensed")]
    steps = [("auto", "submitted"), ("human", "register"), ("auto", "docs_ok")]
    sent_back = 0
    while sent_back < 2 and rng.random() < 0.25:
        steps += [("human", "revise_documents"), ("human", "register"), ("auto", "docs_ok")]
        sent_back += 1
    steps += [("human", "technical_review"), ("auto", "needs_inspection")]
    if rng.random() < 0.35:
        steps.append(("human", "field_inspection"))
    steps += [("human", "approve"), ("auto", "approved")]
    steps += [("auto", "rejected")] if rng.random() < 0.08 else [("auto", "issue_permit"), ("auto", "issued")]
    return steps


def _ts(seconds):
    return datetime.fromtimestamp(seconds, UTC).isoformat()


class Generator:
    """Writes COPY text rows for engine_processinstance, engine_humantask and engine_historyevent."""

    INSTANCE_COLUMNS = ("id, definition_id, process_key, status, tracking_code, business_key, state, data, revision, "
                        "error_message, error_element_id, started_by_id, applicant_id, started_at, updated_at, "
                        "ended_at, promised_at")
    TASK_COLUMNS = ("id, instance_id, agency_id, process_key, spiff_task_id, element_id, name, lane, documentation, "
                    "status, assignee_id, owner_id, delegation_state, priority, due_at, follow_up_at, created_at, "
                    "claimed_at, completed_at, overdue_at, completed_by_id, completion_data, draft_data")
    EVENT_COLUMNS = ("id, event_type, occurred_at, definition_id, instance_id, human_task_id, element_id, actor_id, "
                     "actor_name, details")

    def __init__(self, *, seed, agency_id, definitions, officers, applicants):
        """``definitions``: process key -> [definition ids] (versions); ``officers``: group -> [(id, name)]."""
        self.rng = random.Random(seed)
        self.agency_id = agency_id
        self.definitions = definitions
        self.officers = officers
        self.applicants = applicants
        self.task_id = 0
        self.event_id = 0
        self.counts = {"instances": 0, "tasks": 0, "events": 0}

    def _officer(self, lane):
        group = self.officers[lane]
        return group[min(len(group) - 1, int(len(group) * self.rng.random() ** 1.6))]

    def _event(self, out, event_type, at, definition_id, instance_id, task_id, element_id, actor):
        self.event_id += 1
        actor_id, actor_name = actor if actor else (None, "system")
        task = str(task_id) if task_id else NULL
        actor_column = str(actor_id) if actor_id else NULL
        out.append(f"{self.event_id}\t{event_type}\t{_ts(at)}\t{definition_id}\t{instance_id}\t{task}\t"
                   f"{element_id}\t{actor_column}\t{actor_name}\t{{}}\n")

    def instance(self, instance_id, instances_out, tasks_out, events_out):
        rng = self.rng
        draw = rng.random()
        process = "certified_copy" if draw < 0.65 else "trade_licence" if draw < 0.87 else "building_permit"
        versions = self.definitions[process]
        definition_id = versions[0] if len(versions) == 1 or rng.random() < 0.4 else versions[-1]
        started = START + rng.random() * (NOW - START)
        applicant = self.applicants[rng.randrange(len(self.applicants))]
        now = started
        self._event(events_out, "instance_started", now, definition_id, instance_id, None, "", applicant)
        actor = applicant
        ended = None
        for kind, element_id in _path(process, rng):
            if kind == "auto":
                self._event(events_out, "activity_completed", now, definition_id, instance_id, None, element_id,
                            actor)
                continue
            lane, wait_h, wait_s, work_h, work_s, due_h = HUMAN[element_id]
            self.task_id += 1
            task_id = self.task_id
            created = now
            claimed = created + wait_h * HOUR * math.exp(rng.gauss(0, wait_s))
            completed = claimed + (work_h * HOUR * math.exp(rng.gauss(0, work_s)) if work_h else 0.0)
            worker = applicant if lane == "Applicant" else self._officer(lane)
            due = created + due_h * HOUR if due_h else None
            self._event(events_out, "task_created", created, definition_id, instance_id, task_id, element_id, None)
            status, claimed_at, completed_at, assignee, completed_by = "ready", None, None, None, None
            if claimed <= NOW:
                self._event(events_out, "task_claimed", claimed, definition_id, instance_id, task_id, element_id,
                            worker)
                status, claimed_at, assignee = "claimed", claimed, worker
                if completed <= NOW:
                    self._event(events_out, "task_completed", completed, definition_id, instance_id, task_id,
                                element_id, worker)
                    self._event(events_out, "activity_completed", completed, definition_id, instance_id, None,
                                element_id, worker)
                    status, completed_at, completed_by = "completed", completed, worker
            overdue = due if due is not None and due <= NOW and (completed_at is None or completed_at > due) else None
            tasks_out.append("\t".join((
                str(task_id), str(instance_id), str(self.agency_id), process, str(uuid.UUID(int=task_id)),
                element_id, element_id.replace("_", " ").capitalize(), lane, "", status,
                str(assignee[0]) if assignee else "\\N", "\\N", "", "50", _ts(due) if due else "\\N", "\\N",
                _ts(created), _ts(claimed_at) if claimed_at else "\\N", _ts(completed_at) if completed_at else "\\N",
                _ts(overdue) if overdue else "\\N", str(completed_by[0]) if completed_by else "\\N", "{}", "{}",
            )) + "\n")
            self.counts["tasks"] += 1
            if completed_at is None:
                break  # the instance waits here
            now, actor = completed, worker
        else:
            ended = now
            self._event(events_out, "instance_completed", now, definition_id, instance_id, None, "", actor)
        status = "completed" if ended is not None else "running"
        promised = started + PROMISE_HOURS[process] * HOUR
        instances_out.append("\t".join((
            str(instance_id), str(definition_id), process, status, f"B{instance_id:010d}", "", "{}", "{}", "1", "", "",
            str(applicant[0]), str(applicant[0]), _ts(started), _ts(ended or now), _ts(ended) if ended else "\\N",
            _ts(promised),
        )) + "\n")
        self.counts["instances"] += 1
        self.counts["events"] = self.event_id
