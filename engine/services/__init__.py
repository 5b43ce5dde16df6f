"""Services write: each public function is one transaction, opened at the top, with the rows locked."""

from .documents import comment_add, document_attach
from .human_tasks import (
    human_task_assign,
    human_task_claim,
    human_task_complete,
    human_task_delegate,
    human_task_resolve,
    human_task_unclaim,
)
from .instances import instance_start
from .messages import message_correlate
from .timers import timer_fire, timers_claim_due, timers_fire, timers_fire_due

__all__ = [
    "comment_add",
    "document_attach",
    "human_task_assign",
    "human_task_delegate",
    "human_task_resolve",
    "human_task_claim",
    "human_task_complete",
    "human_task_unclaim",
    "instance_start",
    "message_correlate",
    "timer_fire",
    "timers_claim_due",
    "timers_fire",
    "timers_fire_due",
]
