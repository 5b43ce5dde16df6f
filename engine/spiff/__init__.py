"""The one seam around SpiffWorkflow.

Nothing outside this package imports SpiffWorkflow. The rest of the engine talks to
``ProcessRuntime`` (runtime.py) and the plain dataclasses in ``types.py``; specs are parsed by
``parse_process`` and cached per definition checksum in ``specs.py``.
"""

from .runtime import ProcessRuntime
from .specs import ParsedProcess, parse_process, parsed_process_for
from .types import CompletedActivity, ReadyHumanTask, StartTimer, StepResult, WaitingMessage, WaitingTimer

__all__ = [
    "CompletedActivity",
    "ParsedProcess",
    "ProcessRuntime",
    "ReadyHumanTask",
    "StartTimer",
    "StepResult",
    "WaitingMessage",
    "WaitingTimer",
    "parse_process",
    "parsed_process_for",
]
