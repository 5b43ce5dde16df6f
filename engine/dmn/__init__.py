"""DMN decision tables, in plain Python (no SpiffWorkflow): parsing, FEEL unary tests, hit policies.

``parse_dmn(content, filename)`` reads one DMN file into a ``DecisionSet`` (``parse_dmn_files`` reads
several and checks their requirements); ``evaluate(decisions, decision_id, context)`` gives a
``DecisionResult`` with the matched rules and the outputs. Expressions run only in the restricted
evaluator (``engine.expressions.sandbox``). ``references`` reads how a BPMN business rule task calls
a decision (Camunda 7, Camunda 8, SpiffArena) and maps the result into the process data.
"""

from .evaluate import evaluate, result_value
from .feel import FeelError
from .model import Decision, DecisionResult, DecisionSet, DecisionTable, HitPolicy, MatchedRule
from .parser import parse_dmn, parse_dmn_files

__all__ = [
    "Decision", "DecisionResult", "DecisionSet", "DecisionTable", "FeelError", "HitPolicy", "MatchedRule",
    "evaluate", "parse_dmn", "parse_dmn_files", "result_value",
]
