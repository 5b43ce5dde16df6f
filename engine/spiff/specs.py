"""Parsing BPMN into SpiffWorkflow specs, and the per-definition spec cache."""

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import AdHocSubprocessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from engine.exceptions import DefinitionInvalidError

from .decisions import EngineBpmnParser
from .messages import catches_messages, declared_correlation_keys
from .types import StartTimer

SPEC_CACHE_SIZE = 256


@dataclass(frozen=True)
class ParsedProcess:
    """A process spec with the specs of the subprocesses and called processes it needs."""

    process_id: str
    name: str
    spec: object
    subprocess_specs: dict
    message_keys: dict = field(default_factory=dict)  # message name -> declared correlation key expression
    # Whether an element of the process or its subprocesses waits for a message (catch event, receive
    # task, boundary event, event-based gateway branch): if not, no instance of it ever waits for one.
    catches_messages: bool = True

    def start_timers(self):
        """The timer start events of the process itself (not those of event subprocesses)."""
        timers = []
        for task_spec in self.spec.task_specs.values():
            if isinstance(task_spec, StartEvent) and task_spec.bpmn_id:
                timer_type = timer_type_of(task_spec.event_definition)
                if timer_type:
                    timers.append(StartTimer(task_spec.bpmn_id, timer_type, task_spec.event_definition.expression))
        return timers


def timer_type_of(event_definition):
    """date, duration or cycle for a timer event definition; None for anything else."""
    if isinstance(event_definition, TimeDateEventDefinition):
        return "date"
    if isinstance(event_definition, DurationTimerEventDefinition):
        return "duration"
    if isinstance(event_definition, CycleTimerEventDefinition):
        return "cycle"
    return None


def _line_of(root, element_id):
    if not element_id:
        return None
    found = root.xpath("//*[@id=$element_id]", element_id=element_id)
    return found[0].sourceline if found else None


def _connect_implicit_ends(process_spec):
    """A flow node without outgoing sequence flows ends its path (BPMN 2.0, 13.2.2 "implicit end").

    SpiffWorkflow only connects end events to the end of the process; any other leaf would leave the
    instance running forever once everything else is done.
    """
    if process_spec is None or isinstance(process_spec, AdHocSubprocessSpec):
        return
    for task_spec in list(process_spec.task_specs.values()):
        if task_spec.outputs or not getattr(task_spec, "bpmn_id", None) or task_spec is process_spec.end:
            continue
        task_spec.connect(process_spec.end)


def _validation_message(error):
    """SpiffWorkflow's message and notes, without the ". " its ``__str__`` appends even with no notes."""
    parts = [str(part).strip() for part in (*error.args[:1], *getattr(error, "notes", [])) if str(part).strip()]
    text = " ".join(part if part.endswith(".") else part + "." for part in parts)
    return text or type(error).__name__


def parse_process(root, process_id, decisions=None):
    """Parse one process out of a (safely parsed) lxml document root into a ``ParsedProcess``.

    ``decisions`` (an ``engine.dmn.DecisionSet``) are the decisions its business rule tasks may call.
    Raises ``DefinitionInvalidError`` with line and element id when SpiffWorkflow rejects it.
    """
    parser = EngineBpmnParser(decisions)
    try:
        parser.add_bpmn_xml(root, filename=f"{process_id}.bpmn")
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as error:
        element_id = getattr(error, "id", "") or None
        message = _validation_message(error)
        detail = {"message": message, "line": _line_of(root, element_id), "element_id": element_id}
        raise DefinitionInvalidError(f"The process '{process_id}' cannot be executed: {message}", [detail])
    except Exception as error:  # noqa: BLE001
        # SpiffWorkflow reports some malformed models with plain Python errors (KeyError, IndexError,
        # AttributeError...): an upload must get a clear 400, never a crash.
        detail = {"message": f"{type(error).__name__}: {error}", "line": None, "element_id": None}
        raise DefinitionInvalidError(f"The process '{process_id}' cannot be parsed: {error}", [detail])
    for process_spec in (spec, *subprocess_specs.values()):
        _connect_implicit_ends(process_spec)
    missing = sorted(name for name, sub_spec in subprocess_specs.items() if sub_spec is None)
    if missing:
        errors = [{"message": f"Called process '{name}' is not in this file.", "line": None, "element_id": name}
                  for name in missing]
        raise DefinitionInvalidError("Called processes are missing: " + ", ".join(missing), errors)
    catches = any(catches_messages(task_spec) for process_spec in (spec, *subprocess_specs.values())
                  for task_spec in process_spec.task_specs.values())
    return ParsedProcess(
        process_id, spec.description or process_id, spec, subprocess_specs, declared_correlation_keys(root), catches
    )


class _SpecCache:
    """Parsed processes by definition checksum; a definition's file never changes, so neither does its spec."""

    def __init__(self, size):
        self._size = size
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get_or_parse(self, key, parse):
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        parsed = parse()
        with self._lock:
            self._entries[key] = parsed
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return parsed

    def clear(self):
        with self._lock:
            self._entries.clear()


SPEC_CACHE = _SpecCache(SPEC_CACHE_SIZE)


def parsed_process_for(sha256, process_id, load_root, load_decisions=None):
    """The cached ``ParsedProcess`` of a definition; on a miss ``load_root`` gives its lxml root and
    ``load_decisions`` (if given) its ``DecisionSet``."""
    return SPEC_CACHE.get_or_parse(
        (sha256, process_id),
        lambda: parse_process(load_root(), process_id, load_decisions() if load_decisions else None),
    )
