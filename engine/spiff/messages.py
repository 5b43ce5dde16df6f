"""Messages in the task tree: which elements wait for which message, and letting them catch one.

Four kinds of element catch a message inside a running instance: intermediate catch events,
receive tasks, boundary events (interrupting or not) and the message branches of event-based
gateways. A delivered message's data is merged into the data of the task that catches it, so it
flows on along the path that leaves that element (the branch after a non-interrupting boundary
event, the path after an interrupting one, out of an embedded subprocess when its end is reached).
Same-named variables are overwritten by the message.

Two things SpiffWorkflow 3.2 does that shape this module:

- Messages are handed to the waiting tasks one by one (``catches`` then ``catch``), not with
  ``BpmnWorkflow.send_event``: ``send_event`` also starts event subprocesses with a message start
  by rewiring the workflow *spec*, which is parsed once per definition and shared by every instance.
  Event subprocesses with a message start therefore never receive messages here.
- A non-interrupting message boundary event catches once per activation of its task.
"""

from copy import deepcopy

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import (
    BoundaryEvent,
    EventBasedGateway,
    IntermediateCatchEvent,
    ReceiveTask,
)
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from engine.exceptions import ScriptError, TaskDataInvalidError

from .types import WaitingMessage

_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
_KINDS = (
    (BoundaryEvent, "boundary"),
    (ReceiveTask, "receive"),
    (EventBasedGateway, "gateway"),
    (IntermediateCatchEvent, "catch"),
)


def declared_correlation_keys(root):
    """Message name -> key expression, from Camunda 8 ``<zeebe:subscription correlationKey="=var"/>``.

    ``=expression`` is kept as the expression (evaluated later by the restricted evaluator, so only
    FEEL that is also the engine's Python subset works: a variable name, ``a.b`` on objects does not);
    a value without ``=`` is a fixed key.
    """
    keys = {}
    for message in root.iter(f"{{{_BPMN_NS}}}message"):
        name = message.get("name")
        subscription = message.find(f"{{{_BPMN_NS}}}extensionElements/{{{_ZEEBE_NS}}}subscription")
        key = (subscription.get("correlationKey") or "").strip() if subscription is not None else ""
        if name and key:
            keys[name] = key[1:].strip() if key.startswith("=") else repr(key)
    return keys


def waiting_messages(workflow, declared_keys):
    """Every (task, message) pair the task tree waits on, as ``WaitingMessage`` values."""
    waiting = []
    for task in _catching_tasks(workflow):
        kind = _kind_of(task.task_spec)
        for element_id, definition in _message_branches(task.task_spec):
            waiting.append(
                WaitingMessage(
                    task_id=task.id,
                    element_id=element_id,
                    message_name=definition.name,
                    kind=kind,
                    correlation_expression=_key_expression(definition, declared_keys),
                )
            )
    return waiting


def message_catchers(workflow, name, payload):
    """(task, event) for each waiting task that catches the message ``name`` carrying ``payload``.

    SpiffWorkflow correlation properties are honoured: their values are computed from the payload
    (which must therefore carry them), and a task whose instance already holds other values for the
    same correlation key does not catch the message.
    """
    catchers = []
    for task in _catching_tasks(workflow):
        for _element_id, definition in _message_branches(task.task_spec):
            if definition.name != name:
                continue
            correlations = _correlations(task, definition, payload)
            event = BpmnEvent(definition, payload=deepcopy(payload), correlations=correlations)
            if task.task_spec.catches(task, event):
                catchers.append((task, event))
                break
    return catchers


def catch_message(task, event):
    """The task catches the event and becomes ready; the next engine run passes it."""
    task.task_spec.catch(task, event)
    task.task_spec._update(task)


def catches_messages(spec):
    """Whether the task spec ``spec`` may wait for a message (one of the four kinds, with a message branch)."""
    return _kind_of(spec) is not None and bool(_message_branches(spec))


def _catching_tasks(workflow):
    return [task for task in workflow.get_tasks(state=TaskState.WAITING) if _kind_of(task.task_spec)]


def _kind_of(spec):
    for spec_class, kind in _KINDS:
        if isinstance(spec, spec_class):
            return kind
    return None


def _message_branches(spec):
    """(element id, message definition) for each message the element waits for."""
    definition = spec.event_definition
    if isinstance(definition, MultipleEventDefinition):
        definitions = definition.event_definitions
        if isinstance(spec, EventBasedGateway):
            element_ids = [output.bpmn_id for output in spec.outputs]
        else:
            element_ids = [spec.bpmn_id] * len(definitions)
        branches = zip(element_ids, definitions, strict=False)
    else:
        branches = [(spec.bpmn_id, definition)]
    return [(element_id, item) for element_id, item in branches if isinstance(item, MessageEventDefinition)]


def _key_expression(definition, declared_keys):
    if definition.name in declared_keys:
        return declared_keys[definition.name]
    properties = definition.correlation_properties
    if len(properties) == 1:
        return properties[0].retrieval_expression
    return None


def _correlations(task, definition, payload):
    if not definition.correlation_properties:
        return {}
    try:
        return definition.get_correlations(task, payload)
    except ScriptError as error:
        names = ", ".join(prop.name for prop in definition.correlation_properties)
        raise TaskDataInvalidError(
            f"The message '{definition.name}' is correlated by {names}: its data must carry them ({error})."
        )
