"""Deploy-time checks of what runs inside a model: scripts, conditions and timer expressions.

Each problem becomes an error dict with the line and element id, so the analyst sees where to look;
nothing in the model is run here.
"""

from engine.exceptions import ScriptError
from engine.expressions import sandbox
from engine.spiff.script_engine import iso_8601_literal

from .bpmn_xml import BPMN_NS, error, process_element

_NS = {"bpmn": BPMN_NS}
_PYTHON_FORMATS = {"", "python", "text/python", "text/x-python", "py"}
_TIMER_TAGS = ("timeDate", "timeDuration", "timeCycle")


def _enclosing_element_id(node):
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node.get("id") if node is not None else None


def _syntax_errors(source, mode, node, what):
    try:
        sandbox.check_syntax(source, mode)
    except ScriptError as problem:
        line = node.sourceline
        if problem.line_number and mode == "exec":
            line = (line or 0) + problem.line_number - 1
        return [error(f"{what}: {problem}", line, _enclosing_element_id(node))]
    return []


def _script_errors(process):
    errors = []
    for task in process.iter(f"{{{BPMN_NS}}}scriptTask"):
        script_format = (task.get("scriptFormat") or "").strip().lower()
        script = task.find(f"{{{BPMN_NS}}}script")
        if script_format not in _PYTHON_FORMATS:
            errors.append(error(
                f"Script format '{task.get('scriptFormat')}' is not supported: scripts run in the engine's "
                "restricted Python subset.", task.sourceline, task.get("id")))
        elif script is None or not (script.text or "").strip():
            errors.append(error("The script task has no script.", task.sourceline, task.get("id")))
        else:
            errors.extend(_syntax_errors(script.text, "exec", script, "Script does not compile"))
    return errors


def _condition_errors(process):
    errors = []
    for condition in process.iter(f"{{{BPMN_NS}}}conditionExpression"):
        text = (condition.text or "").strip()
        if text:
            errors.extend(_syntax_errors(text, "eval", condition, "Condition does not compile"))
    return errors


def _timer_errors(process):
    errors = []
    for tag in _TIMER_TAGS:
        for node in process.iter(f"{{{BPMN_NS}}}{tag}"):
            text = (node.text or "").strip()
            if not text:
                errors.append(error(f"The timer's {tag} is empty.", node.sourceline, _enclosing_element_id(node)))
            elif iso_8601_literal(text) is None:
                errors.extend(_syntax_errors(text, "eval", node, f"Timer {tag} is neither ISO 8601 nor an expression"))
    return errors


def check_runnable_parts(tree, process_id):
    """Errors in the scripts, conditions and timers of one process (including its subprocesses)."""
    process = process_element(tree, process_id)
    return _script_errors(process) + _condition_errors(process) + _timer_errors(process)
