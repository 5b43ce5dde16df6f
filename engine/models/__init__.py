"""What the engine stores: instances (with their SpiffWorkflow state), the inbox, timers and history.

``ProcessInstance.state`` is the serialized task tree and data without the spec; the spec is parsed
from the definition's file and cached per definition (``engine.spiff.specs``). ``HumanTask`` and
``Timer`` are projections of the task tree, rewritten in the same transaction as the state, so the
inbox and the sweeper can query them with indexes. ``HistoryEvent`` is append-only.
"""


from .agencies import Agency, AgencyGroup, Membership, Role
from .calendars import AgencyCalendar, CalendarClosure, ClosureKind
from .documents import COMMENT_MAX_LENGTH, Comment, Document
from .history import EventType, HistoryEvent
from .inbox_counts import InboxAudience, InboxAudienceGroup, InboxCountDelta, InboxCountedTask
from .instances import InstanceStatus, ProcessInstance
from .messages import MessageKind, MessageSubscription, MessageSubscriptionStatus
from .service_levels import ClockPause, Notification
from .tasks import (
    OPEN_TASK_STATUSES,
    DelegationState,
    HumanTask,
    HumanTaskCandidateGroup,
    HumanTaskCandidateUser,
    HumanTaskStatus,
    OpenTaskVariable,
)
from .timers import BPMN_TIMER_KINDS, DEADLINE_TIMER_KINDS, Timer, TimerKind, TimerStatus

__all__ = [
    "BPMN_TIMER_KINDS",
    "DEADLINE_TIMER_KINDS",
    "ClockPause",
    "Notification",
    "OPEN_TASK_STATUSES",
    "Agency",
    "AgencyCalendar",
    "AgencyGroup",
    "CalendarClosure",
    "ClosureKind",
    "COMMENT_MAX_LENGTH",
    "Comment",
    "DelegationState",
    "Document",
    "EventType",
    "HistoryEvent",
    "HumanTask",
    "HumanTaskCandidateGroup",
    "HumanTaskCandidateUser",
    "HumanTaskStatus",
    "InboxAudience",
    "InboxAudienceGroup",
    "InboxCountDelta",
    "InboxCountedTask",
    "InstanceStatus",
    "Membership",
    "MessageKind",
    "MessageSubscription",
    "MessageSubscriptionStatus",
    "OpenTaskVariable",
    "ProcessInstance",
    "Role",
    "Timer",
    "TimerKind",
    "TimerStatus",
]
