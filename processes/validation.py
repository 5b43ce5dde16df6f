"""Deploy-time validation of an uploaded model: the full report, errors apart from warnings.

``definition_report`` reads the file and runs every check, collecting all problems rather than
stopping at the first (see ``processes.report`` for the report and how other checks plug in):

=============================  ========  ==========================================================
code                           severity  what
=============================  ========  ==========================================================
xml_invalid, structure_invalid error     not well-formed / unsafe XML; broken ids and flows
no_executable_process          error     nothing to run
script_invalid                 error     a script task's script does not compile in the restricted
                                         evaluator (or is not Python, or is empty)
condition_invalid              error     a sequence flow's condition does not compile
timer_invalid                  error     a timer is neither a valid ISO 8601 value of its kind
                                         (date, duration, cycle) nor a compiling expression
expression_invalid             error     a condition, timer or Zeebe script outside the safe JUEL/FEEL
                                         subset (``processes.dialects``)
event_reference_invalid,       error     an event naming a missing error/escalation/message/signal;
event_definition_missing                 a boundary event with no event definition
gateway_flow_without_condition error     a gateway with several outgoing flows has a non-default
                                         one without condition (no longer raised: such a flow is
                                         opened, see ``gateway_flow_always_open``)
gateway_flow_always_open       warning   ... that flow is always open (BPMN 2.0), the first open flow
                                         wins at an exclusive gateway
gateway_default_invalid        error     the default flow named does not leave the gateway
called_process_missing         error     a call activity calls a process that is not in the file
called_process_not_in_file     error     ... that is deployed on its own; the engine runs called
                                         processes only from the same file
decision_file_invalid          error     a DMN file uploaded with the model cannot be used
decision_reference_invalid     error     a business rule task names no usable decision
decision_missing               error     ... names a decision that is in none of the DMN files
task_settings_invalid          error     assignment, dates, priority or form unusable
                                         (``processes.extensions``)
service_levels_invalid         error     ``service_levels.json`` unusable
not_executable                 error     SpiffWorkflow refuses the process
unreachable                    warning   no path from a start event reaches the element
gateway_without_default        warning   an exclusive/inclusive gateway without default flow whose
                                         conditions can all be false (shown with a value none
                                         accepts) or could not be analysed
task_without_candidates        warning   a user or manual task with no lane, assignee, candidate
                                         users or candidate groups
=============================  ========  ==========================================================

A task without candidates is a warning, not an error: the engine offers such a task to every
officer of the agency (``engine.selectors.human_task_workable_by``), so someone can claim it, but
nobody in particular is asked to.

Nothing in the model is run here: scripts, conditions and timer expressions are only parsed.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from engine.dmn import DecisionSet, parse_dmn_files
from engine.dmn.references import DecisionReferenceError, read_reference
from engine.exceptions import DefinitionInvalidError, ScriptError
from engine.expressions import sandbox
from engine.spiff import parse_process
from engine.spiff.script_engine import iso_8601_literal
from engine.spiff.timer_values import timer_text_problem

from .bpmn_xml import (
    ProcessInfo,
    bpmn,
    check_bpmn_structure,
    element_info,
    error,
    executable_processes,
    flow_elements,
    local_name,
    parse_xml,
    process_element,
)
from .dialects import apply_dialects, drop_repeated_expression_errors
from .extensions import HUMAN_TASK_TAGS, ElementCatalog, element_catalog
from .flow_checks import check_gateways, check_reachability
from .report import ValidationReport
from .service_levels import read_service_levels

_PYTHON_FORMATS = {"", "python", "text/python", "text/x-python", "py"}
_TIMER_TYPES = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}
# Unquoted text that was meant as an ISO 8601 value (it is not a sensible variable name either).
_LOOKS_ISO = re.compile(r"^(R\d*/|P\d|PT\d|\d{4}-\d)", re.IGNORECASE)
_KIND_SHAPE = {"date": re.compile(r"^\d{4}-"), "duration": re.compile(r"^P[^/]*$", re.IGNORECASE),
               "cycle": re.compile(r"^R\d*/", re.IGNORECASE)}


def _enclosing_element_id(node):
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node.get("id") if node is not None else None


# --------------------------------------------------------------------------
# Scripts, conditions, timers
# --------------------------------------------------------------------------

def _compile_problem(source, mode, node):
    """(message, line) when ``source`` does not compile in the restricted evaluator, else None."""
    try:
        sandbox.check_syntax(source, mode)
    except ScriptError as problem:
        line = node.sourceline
        if problem.line_number and mode == "exec":
            line = (line or 0) + problem.line_number - 1
        return str(problem), line
    return None


def _check_scripts(process, report):
    for task in process.iter(bpmn("scriptTask")):
        script_format = (task.get("scriptFormat") or "").strip().lower()
        script = task.find(bpmn("script"))
        where = {"element_id": task.get("id"), "line": task.sourceline}
        if script_format not in _PYTHON_FORMATS:
            report.error("script_invalid", f"Script format '{task.get('scriptFormat')}' is not supported: scripts "
                         "run in the engine's restricted Python subset.", **where)
        elif script is None or not (script.text or "").strip():
            report.error("script_invalid", "The script task has no script.", **where)
        else:
            problem = _compile_problem(script.text, "exec", script)
            if problem:
                report.error("script_invalid", f"Script does not compile: {problem[0]}",
                             element_id=task.get("id"), line=problem[1])


def _check_conditions(process, report):
    for condition in process.iter(bpmn("conditionExpression")):
        text = (condition.text or "").strip()
        problem = _compile_problem(text, "eval", condition) if text else None
        if problem:
            report.error("condition_invalid", f"Condition does not compile: {problem[0]}",
                         element_id=_enclosing_element_id(condition), line=problem[1])


def _constant_text(expression):
    """The text of an expression that is just a quoted string ('PT5M'), else None."""
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError):
        return None
    body = tree.body
    return body.value if isinstance(body, ast.Constant) and isinstance(body.value, str) else None


def _timer_problem(kind, text, node):
    """Why a timer's text cannot give a value of its kind, or None."""
    literal = iso_8601_literal(text)
    if literal is None:
        literal = _constant_text(text)
    if literal is None:
        if _LOOKS_ISO.match(text):
            return f"'{text}' is not a valid ISO 8601 {kind}"
        problem = _compile_problem(text, "eval", node)
        return f"'{text}' is neither ISO 8601 nor an expression: {problem[0]}" if problem else None
    if not _KIND_SHAPE[kind].match(literal.strip()):
        return f"'{literal}' is not an ISO 8601 {kind} (e.g. " + {
            "date": "2026-12-01T09:00:00+07:00", "duration": "P5D or PT2H", "cycle": "R3/PT1H"}[kind] + ")"
    reason = timer_text_problem(kind, literal.strip())
    return f"'{literal}' is not a valid ISO 8601 {kind}: {reason}" if reason else None


def _check_timers(process, report):
    for tag, kind in _TIMER_TYPES.items():
        for node in process.iter(bpmn(tag)):
            text = (node.text or "").strip()
            where = {"element_id": _enclosing_element_id(node), "line": node.sourceline}
            if not text:
                report.error("timer_invalid", f"The timer's {tag} is empty.", **where)
                continue
            problem = _timer_problem(kind, text, node)
            if problem:
                report.error("timer_invalid", f"Timer {tag}: {problem}.", **where)


def check_runnable_parts(tree, process_id):
    """Errors (``{"message", "line", "element_id"}`` dicts) in the scripts, conditions and timers of a process."""
    report = ValidationReport()
    process = process_element(tree, process_id)
    for check in (_check_scripts, _check_conditions, _check_timers):
        check(process, report)
    return [error(issue.message, issue.line, issue.element_id) for issue in report.errors]


# --------------------------------------------------------------------------
# Called processes and human tasks
# --------------------------------------------------------------------------

def _processes_run(tree, process_id):
    """The main process and the processes of the file it calls, directly or not."""
    in_file = {process.get("id"): process for process in tree.getroot().findall(bpmn("process"))}
    found, pending = {}, [process_id]
    while pending:
        current = pending.pop()
        if current in found or current not in in_file:
            continue
        found[current] = in_file[current]
        pending.extend(call.get("calledElement") for call in in_file[current].iter(bpmn("callActivity")))
    return list(found.values())


def _check_called_processes(tree, processes, known_process_keys, report):
    in_file = {process.get("id") for process in tree.getroot().findall(bpmn("process"))}
    for process in processes:
        for call in process.iter(bpmn("callActivity")):
            called = (call.get("calledElement") or "").strip()
            where = {"element_id": call.get("id"), "line": call.sourceline}
            if not called:
                report.error("called_process_missing", "The call activity names no process (calledElement).", **where)
            elif called in known_process_keys and called not in in_file:
                report.error("called_process_not_in_file", f"Called process '{called}' is deployed on its own, but "
                             "the engine runs called processes only from the same file: add it to this file.", **where)
            elif called not in in_file:
                report.error("called_process_missing", f"Called process '{called}' is neither in this file nor "
                             "deployed for the agency.", **where)


def _check_candidates(tree, processes, catalog, report):
    for process in processes:
        lanes = {element_id: info.lane for element_id, info in element_info(tree, process.get("id")).items()}
        for element in flow_elements(process):
            if local_name(element) not in HUMAN_TASK_TAGS:
                continue
            entry = catalog.entries.get(element.get("id"), {})
            if lanes.get(element.get("id")) or any(entry.get(key) for key in
                                                   ("assignee", "candidate_users", "candidate_groups")):
                continue
            name = f" ({element.get('name')})" if element.get("name") else ""
            report.warning(
                "task_without_candidates",
                f"{local_name(element)} '{element.get('id')}'{name} has no lane, assignee, candidate users or "
                "candidate groups: nobody is asked to claim it, so any officer of the agency may.",
                element_id=element.get("id"), line=element.sourceline,
            )


def _read_decisions(decision_files, report):
    try:
        return parse_dmn_files(decision_files or {})
    except DefinitionInvalidError as problem:
        report.add_error_dicts("decision_file_invalid", problem.errors, source="dmn")
        return None


def _check_decisions(processes, decisions, report):
    """Every business rule task must name a decision of the DMN files deployed with the model."""
    for process in processes:
        for task in process.iter(bpmn("businessRuleTask")):
            where = {"element_id": task.get("id"), "line": task.sourceline}
            try:
                reference = read_reference(task)
            except DecisionReferenceError as problem:
                report.error("decision_reference_invalid", str(problem), **where)
                continue
            if reference.decision_id not in decisions:
                known = ", ".join(sorted(decisions.decisions)) or "no DMN file was uploaded with the model"
                report.error("decision_missing", f"The decision '{reference.decision_id}' is not in the DMN files "
                             f"deployed with the process (decisions: {known}).", **where)


# --------------------------------------------------------------------------
# The whole report
# --------------------------------------------------------------------------

@dataclass
class CheckedDefinition:
    """The report of an uploaded file and what deploying it needs (set when the checks got that far)."""

    report: ValidationReport
    tree: object = None
    process: ProcessInfo | None = None
    parsed: object = None
    catalog: ElementCatalog = field(default_factory=ElementCatalog)
    service_levels: dict = field(default_factory=dict)
    decisions: DecisionSet = field(default_factory=DecisionSet)


def main_process(tree):
    """The process to deploy: the executable one no call activity calls (the first, if several); or None."""
    candidates = executable_processes(tree)
    called = {node.get("calledElement") for node in tree.getroot().iter("{*}callActivity")}
    top_level = [process for process in candidates if process.id not in called]
    return (top_level or candidates or [None])[0]


def _read_file(content, report):
    try:
        tree = parse_xml(content)
    except DefinitionInvalidError as problem:
        report.add_error_dicts("xml_invalid", problem.errors)
        return None
    report.add_error_dicts("structure_invalid", check_bpmn_structure(tree))
    return None if report.has_errors else tree


def _task_catalog(tree, process_id, form_files, report):
    try:
        return element_catalog(tree, process_id, form_files)
    except DefinitionInvalidError as problem:
        report.add_error_dicts("task_settings_invalid", problem.errors)
        return ElementCatalog()


def definition_report(*, content, known_process_keys=frozenset(), form_files=None, service_levels_file=None,
                      decision_files=None, extra_checks=()):
    """Check an uploaded BPMN file completely; returns a ``CheckedDefinition`` (never raises for bad input).

    ``known_process_keys`` are the keys the agency has deployed (for call activities); ``form_files``,
    ``service_levels_file`` and ``decision_files`` (DMN, ``{file name: bytes}``) are the files uploaded
    with the model. Each of ``extra_checks`` is called as
    ``check(checked)`` once the file has parsed and its process is known, and adds its issues to
    ``checked.report`` (for example the decisions of business rule tasks, checked against DMN files).
    """
    report = ValidationReport()
    checked = CheckedDefinition(report)
    checked.tree = report.tree = _read_file(content, report)
    if checked.tree is None:
        return checked
    tree = checked.tree
    checked.process = main_process(tree)
    if checked.process is None:
        report.error("no_executable_process", 'No bpmn:process is executable (isExecutable="true").')
        return checked
    report.process_id = checked.process.id
    apply_dialects(tree, checked.process.id, report)
    processes = _processes_run(tree, checked.process.id)
    for process in processes:
        for check in (_check_scripts, _check_conditions, _check_timers, check_reachability, check_gateways):
            check(process, report)
    _check_called_processes(tree, processes, set(known_process_keys), report)
    checked.catalog = _task_catalog(tree, checked.process.id, form_files, report)
    _check_candidates(tree, processes, checked.catalog, report)
    checked.service_levels, level_errors = read_service_levels(tree, checked.process.id, service_levels_file)
    report.add_error_dicts("service_levels_invalid", level_errors)
    decisions = _read_decisions(decision_files, report)
    if decisions is not None:  # else which decisions exist is unknown: the DMN errors say why
        checked.decisions = decisions
        _check_decisions(processes, decisions, report)
    for check in extra_checks:
        check(checked)
    drop_repeated_expression_errors(report)
    if not report.has_errors:
        try:
            checked.parsed = parse_process(tree.getroot(), checked.process.id, checked.decisions)
        except DefinitionInvalidError as problem:
            report.add_error_dicts("not_executable", problem.errors)
    return checked
