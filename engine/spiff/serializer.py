"""Stores a workflow's task tree and data without its spec, and restores it onto a cached spec.

SpiffWorkflow's default serializer writes the whole spec into every instance; here the spec comes
from the definition (parsed once per checksum), so a stored instance holds only its own state.
"""

from datetime import date
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter

from .script_engine import SCRIPT_ENGINE

STATE_FORMAT = "spec-free-1"


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True, script_engine=SCRIPT_ENGINE)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _build_registry():
    config = dict(DEFAULT_CONFIG)
    config[BpmnWorkflow] = _StateOnlyWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(date, lambda value: {"value": value.isoformat()}, lambda dct: date.fromisoformat(dct["value"]))
    return registry


_REGISTRY = _build_registry()


def dump_state(workflow):
    """The workflow's task tree and data as a JSON-ready dict."""
    state = _REGISTRY.convert(workflow)
    state["format"] = STATE_FORMAT
    # SpiffWorkflow stores a task's data as a delta against its parent's and restores it only if the
    # parent was restored first, i.e. it relies on the order of the ``tasks`` mapping. PostgreSQL's
    # jsonb does not keep key order, so the order is kept in a list as well (lists keep theirs).
    state[_TASK_ORDER] = list(state["tasks"])
    for subprocess in state.get("subprocesses", {}).values():
        subprocess[_TASK_ORDER] = list(subprocess["tasks"])
    return state


def load_state(state, spec, subprocess_specs):
    """Rebuild a workflow from ``dump_state`` output and its (cached) spec."""
    state = _tasks_in_order(state)
    state.pop("format", None)
    state["subprocesses"] = {key: _tasks_in_order(sub) for key, sub in state.get("subprocesses", {}).items()}
    return _REGISTRY.restore(state, spec=spec, subprocess_specs=subprocess_specs)


_TASK_ORDER = "task_order"


def _tasks_in_order(workflow_state):
    """A copy of a (sub)workflow's state whose ``tasks`` mapping is in the stored order, parents first."""
    state = dict(workflow_state)
    tasks = state["tasks"]
    order = state.pop(_TASK_ORDER, None)
    if not order or len(order) != len(tasks) or set(order) != set(tasks):
        order = _parents_first(tasks, state.get("root"))
    state["tasks"] = {task_id: tasks[task_id] for task_id in order}
    return state


def _parents_first(tasks, root):
    """Task ids in breadth-first tree order (for states stored before the order was kept)."""
    roots = [root] if root in tasks else []
    roots += [task_id for task_id, task in tasks.items() if task_id != root and task.get("parent") not in tasks]
    order, seen = [], set()
    queue = list(roots)
    while queue:
        task_id = queue.pop(0)
        if task_id in seen:
            continue
        seen.add(task_id)
        order.append(task_id)
        queue += [child for child in tasks[task_id].get("children", []) if child in tasks]
    return order + [task_id for task_id in tasks if task_id not in seen]
