"""Runs BPMN scripts and conditions in the restricted evaluator, never with Python's exec or eval."""

import re

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.expressions import sandbox

# Modeling tools write timer values unquoted (P5D, R3/PT1H, 2026-12-01T09:00:00Z); they are
# ISO 8601 literals, not expressions, and are handed over as strings.
_ISO_8601_LITERAL = re.compile(
    r"^(R\d*/)?"  # repetitions of a cycle
    r"(P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?"
    r"|\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)"
    r"(/(P[\dYMWDTHS.]+|\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?))?$",
    re.IGNORECASE,
)


def iso_8601_literal(expression):
    """The expression itself if it is an ISO 8601 value written without quotes, else None."""
    text = (expression or "").strip()
    return text if _ISO_8601_LITERAL.match(text) else None


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's script environment, backed by ``engine.expressions.sandbox``."""

    def evaluate(self, expression, context, external_context=None):
        literal = iso_8601_literal(expression)
        if literal is not None:
            return literal
        scope = dict(context)
        scope.update(external_context or {})
        return sandbox.evaluate(expression, scope)

    def execute(self, script, context, external_context=None):
        if external_context:
            overlap = set(external_context) & set(context)
            scope = {**external_context, **context}
            sandbox.execute(script, scope)
            for name in set(external_context) - overlap:
                scope.pop(name, None)
            context.clear()
            context.update(scope)
        else:
            sandbox.execute(script, context)
        return True

    def call_service(self, context, **kwargs):
        raise NotImplementedError("Service tasks are not supported yet.")


class SandboxScriptEngine(PythonScriptEngine):
    """The script engine every workflow of this project runs with."""

    def __init__(self):
        super().__init__(environment=SandboxEnvironment())

    def validate(self, expression):
        sandbox.check_syntax(expression, "exec")


SCRIPT_ENGINE = SandboxScriptEngine()
