"""Plain values the seam hands to the rest of the engine (no SpiffWorkflow objects cross it)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class ReadyHumanTask:
    """A user or manual task that is READY for a person."""

    task_id: UUID
    element_id: str
    name: str
    element_type: str
    lane: str | None
    documentation: str | None


@dataclass(frozen=True)
class WaitingTimer:
    """A timer event the task tree is waiting on, with the moment it comes due."""

    task_id: UUID
    element_id: str
    kind: str  # boundary, intermediate or start (event subprocess start)
    timer_type: str  # date, duration or cycle
    expression: str
    due_at: datetime


@dataclass(frozen=True)
class StartTimer:
    """A timer start event of a process: it starts new instances on its own."""

    element_id: str
    timer_type: str
    expression: str


@dataclass(frozen=True)
class CompletedActivity:
    """A BPMN element the engine finished while it ran (gateway, script, event, task)."""

    task_id: UUID
    element_id: str
    name: str
    element_type: str
    decision: dict | None = None  # business rule task: decision id, matched rules, outputs (DecisionResult.summary)


@dataclass(frozen=True)
class StepResult:
    """What one move of the engine did: the elements it finished and, if it stopped on one, the error."""

    finished: list
    error: Exception | None


@dataclass(frozen=True)
class WaitingMessage:
    """A catching element the task tree holds open for a named message.

    ``kind`` is catch (intermediate catch event), receive (receive task), boundary (message boundary
    event, interrupting or not) or gateway (a message branch of an event-based gateway: ``task_id`` is
    the gateway's, ``element_id`` the catch event of the branch). ``correlation_expression`` is the key
    the model declares for the message (Camunda 8 ``zeebe:subscription``, or a single SpiffWorkflow
    correlation property), to be evaluated on the process data; None when it declares none.
    """

    task_id: UUID
    element_id: str
    message_name: str
    kind: str
    correlation_expression: str | None
