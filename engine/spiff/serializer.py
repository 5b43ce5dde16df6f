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
    return state


def load_state(state, spec, subprocess_specs):
    """Rebuild a workflow from ``dump_state`` output and its (cached) spec."""
    state = dict(state)
    state.pop("format", None)
    return _REGISTRY.restore(state, spec=spec, subprocess_specs=subprocess_specs)
