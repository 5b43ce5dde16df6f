"""Services write: each public function is one transaction, opened at the top, with the rows locked."""

from .human_tasks import (
    human_task_assign,
    human_task_claim,
    human_task_complete,
    human_task_delegate,
    human_task_resolve,
    human_task_unclaim,
)
from .instances import instance_start
from .timers import timer_fire, timers_claim_due, timers_fire_due

__all__ = [
    "human_task_assign",
    "human_task_delegate",
    "human_task_resolve",
    "human_task_claim",
    "human_task_complete",
    "human_task_unclaim",
    "instance_start",
    "timer_fire",
    "timers_claim_due",
    "timers_fire_due",
]
