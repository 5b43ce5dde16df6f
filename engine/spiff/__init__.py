"""The one seam around SpiffWorkflow.

Nothing outside this package imports SpiffWorkflow. The rest of the engine talks to
``ProcessRuntime`` (runtime.py) and the plain dataclasses in ``types.py``; specs are parsed by
``parse_process`` and cached per definition checksum in ``specs.py``.
"""

from .migration import MigrationPlan, RunningElement, plan_migration, spec_alignment
from .runtime import ProcessRuntime
from .specs import ParsedProcess, parse_process, parsed_process_for
from .types import CompletedActivity, ReadyHumanTask, StartTimer, StepResult, WaitingMessage, WaitingTimer

__all__ = [
    "CompletedActivity",
    "MigrationPlan",
    "ParsedProcess",
    "ProcessRuntime",
    "ReadyHumanTask",
    "RunningElement",
    "StartTimer",
    "StepResult",
    "WaitingMessage",
    "WaitingTimer",
    "parse_process",
    "plan_migration",
    "spec_alignment",
    "parsed_process_for",
]
