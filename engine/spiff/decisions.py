"""Business rule tasks: SpiffWorkflow runs them, ``engine.dmn`` evaluates the decision.

SpiffWorkflow's own DMN support evaluates cells with its Python script engine; here a business rule
task becomes a ``DecisionTask`` spec whose run calls ``engine.dmn.evaluate`` (the restricted
evaluator only) on the task data, puts the result into the data as the task's reference says
(``engine.dmn.references``) and leaves a summary for the history event (``decision_summary``).
"""

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.spec_description import SPEC_DESCRIPTIONS
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin

from engine.dmn import DecisionSet, evaluate
from engine.dmn.references import DecisionReferenceError, read_reference, task_data_update

_SUMMARY_KEY = "decision_summary"


class DecisionTask(BpmnSpecMixin):
    """A business rule task: evaluates one decision of the definition's DMN files."""

    def __init__(self, wf_spec, bpmn_id, reference=None, decisions=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.reference = reference
        self.decisions = decisions

    def _run_hook(self, my_task):
        result = evaluate(self.decisions, self.reference.decision_id, my_task.data)
        my_task.data.update(task_data_update(self.reference, result))
        my_task._set_internal_data(**{_SUMMARY_KEY: result.summary()})
        return super()._run_hook(my_task)


def decision_summary(task):
    """The summary a finished business rule task left (and forget it), or None for any other task."""
    if not isinstance(task.task_spec, DecisionTask):
        return None
    return task.internal_data.pop(_SUMMARY_KEY, None)


class DecisionTaskParser(TaskParser):
    """Reads the task's decision reference; the decision must be among the definition's DMN files."""

    def create_task(self):
        decisions = self.process_parser.parser.decisions
        try:
            reference = read_reference(self.node)
        except DecisionReferenceError as problem:
            raise ValidationException(str(problem), node=self.node, file_name=self.filename) from None
        if reference.decision_id not in decisions:
            known = ", ".join(sorted(decisions.decisions)) or "no DMN file was deployed with the process"
            raise ValidationException(
                f"The decision '{reference.decision_id}' is not in the DMN files deployed with the process "
                f"(decisions: {known}).", node=self.node, file_name=self.filename,
            )
        return DecisionTask(self.spec, self.bpmn_id, reference=reference, decisions=decisions, **self.bpmn_attributes)


class EngineBpmnParser(BpmnParser):
    """SpiffWorkflow's BPMN parser, with business rule tasks evaluated by ``engine.dmn``."""

    OVERRIDE_PARSER_CLASSES = {full_tag("businessRuleTask"): (DecisionTaskParser, DecisionTask)}

    def __init__(self, decisions=None):
        descriptions = {**SPEC_DESCRIPTIONS, full_tag("businessRuleTask"): "Business Rule Task"}
        super().__init__(spec_descriptions=descriptions)
        self.decisions = decisions if decisions is not None else DecisionSet()
