"""Evaluating a decision table on a context (the process data) with its hit policy.

Each input expression is evaluated once, each rule's input entries are tested against the input
values, and the hit policy picks the result:

- UNIQUE: at most one rule may match (more is an error naming the rules); FIRST: the first match;
- PRIORITY: the match whose outputs come first in the outputs' ``outputValues`` order;
- ANY: matches must agree on their outputs (else an error); RULE ORDER: every match, in rule order;
- OUTPUT ORDER: every match, by output value priority; COLLECT: every match, or one aggregate of the
  single output (SUM, MIN, MAX of the non-null values; COUNT of them). With no match, SUM, MIN and MAX
  give no result, COUNT gives 0.

Required decisions are evaluated first (depth first, each once); their outputs join the context under
the output names (a list of values when the required decision yields several results), and the whole
result under the required decision's name when that name is a plain identifier.
"""

import re

from engine.exceptions import DecisionEvaluationError, ScriptError

from . import feel
from .model import Decision, DecisionResult, DecisionSet, HitPolicy, MatchedRule

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SANDBOX_LINE = re.compile(r"\s*\(line \d+\)$")


def _error(decision, message, rule=None, line=None):
    where = f"Decision '{decision.id}'"
    if rule is not None:
        where += f", rule {rule.index} ('{rule.id}')"
    line = line if line is not None else (rule.line if rule is not None else decision.line)
    return DecisionEvaluationError(f"{where} ({decision.filename} line {line}): {message}", decision.id,
                                   getattr(rule, "index", None), line)


def _reason(problem):
    """A sandbox error's text without its "(line 1)": a cell is one line, the DMN line is given instead."""
    return _SANDBOX_LINE.sub("", str(problem))


def _input_values(decision, context):
    values = []
    for clause in decision.table.inputs:
        try:
            values.append(feel.run(clause.expression, context))
        except ScriptError as problem:
            raise _error(decision, f"input '{clause.label or clause.id}' ({clause.expression.text}) failed: "
                         f"{_reason(problem)}", line=clause.expression.line) from None
    return values


def _matches(decision, rule, values, context):
    for tests, value in zip(rule.input_entries, values, strict=False):
        try:
            if not tests.matches(value, context):
                return False
        except ScriptError as problem:
            raise _error(decision, f"input entry '{tests.text}' failed: {_reason(problem)}", rule) from None
    return True


def _typed(value, type_ref):
    if type_ref in ("integer", "long") and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _outputs(decision, rule, context):
    outputs = {}
    for clause, cell in zip(decision.table.outputs, rule.output_entries, strict=False):
        try:
            outputs[clause.name] = _typed(feel.run(cell, context), clause.type_ref)
        except ScriptError as problem:
            raise _error(decision, f"output '{clause.name}' ({cell.text}) failed: {_reason(problem)}", rule,
                         cell.line) from None
    return outputs


def _priority(decision, matched):
    """Sort key: the position of each output value in its output's ``outputValues`` (unlisted last)."""
    key = []
    for clause in decision.table.outputs:
        value = matched.outputs.get(clause.name)
        listed = [index for index, allowed in enumerate(clause.output_values) if allowed == value]
        key.append(listed[0] if listed else len(clause.output_values))
    return tuple(key)


def _rule_names(matched):
    return ", ".join(f"{rule.index} ('{rule.id}')" for rule in matched)


def _aggregate(decision, matched):
    table = decision.table
    name = table.outputs[0].name
    values = [rule.outputs.get(name) for rule in matched if rule.outputs.get(name) is not None]
    if table.aggregation == "COUNT":
        return [{name: len(values)}]
    if not values:
        return []
    if table.aggregation == "SUM" and not all(
        isinstance(value, (int, float)) and not isinstance(value, bool) for value in values
    ):
        raise _error(decision, f"COLLECT SUM needs numbers; the matched rules give {values!r}")
    try:
        total = {"SUM": sum, "MIN": min, "MAX": max}[table.aggregation](values)
    except TypeError:
        raise _error(decision, f"COLLECT {table.aggregation} cannot compare {values!r}") from None
    return [{name: total}]


def _select(decision, matched):
    """(rules in the order the policy gives, result list) for the matched rules."""
    policy = decision.table.hit_policy
    if policy == HitPolicy.UNIQUE and len(matched) > 1:
        raise _error(decision, f"hit policy UNIQUE, but rules {_rule_names(matched)} all match")
    if policy == HitPolicy.ANY and any(rule.outputs != matched[0].outputs for rule in matched[1:]):
        raise _error(decision, f"hit policy ANY, but the matching rules {_rule_names(matched)} give different "
                     "outputs")
    if policy in (HitPolicy.PRIORITY, HitPolicy.OUTPUT_ORDER):
        matched = sorted(matched, key=lambda rule: _priority(decision, rule))
    if policy == HitPolicy.COLLECT and decision.table.aggregation:
        return matched, _aggregate(decision, matched)
    if policy in (HitPolicy.UNIQUE, HitPolicy.FIRST, HitPolicy.PRIORITY, HitPolicy.ANY):
        return matched, [dict(matched[0].outputs)] if matched else []
    return matched, [dict(rule.outputs) for rule in matched]


def _required_context(result):
    """What a required decision's result adds to the context of the decision that requires it."""
    added = {}
    for name in result.output_names:
        values = [entry.get(name) for entry in result.result_list]
        added[name] = (values[0] if values else None) if result.single_result else values
    return added


def _run(decisions, decision, context, done, path):
    if decision.table is None:
        raise _error(decision, "only decision tables can be evaluated (this decision has none)")
    required_results = []
    context = dict(context)
    for required_id in decision.required_decisions:
        required = decisions.get(required_id)
        if required is None or required_id in path:
            problem = "is not deployed" if required is None else "requires itself"
            raise _error(decision, f"required decision '{required_id}' {problem}")
        if required_id not in done:
            done[required_id] = _run(decisions, required, context, done, path | {required_id})
        result = done[required_id]
        required_results.append(result)
        context.update(_required_context(result))
        if _IDENTIFIER.match(required.name):
            context[required.name] = result_value(result)
    values = _input_values(decision, context)
    matched = [
        MatchedRule(rule.index, rule.id, _outputs(decision, rule, context))
        for rule in decision.table.rules
        if _matches(decision, rule, values, context)
    ]
    ordered, result_list = _select(decision, matched)
    table = decision.table
    return DecisionResult(
        decision_id=decision.id,
        hit_policy=table.hit_policy,
        aggregation=table.aggregation,
        output_names=tuple(output.name for output in table.outputs),
        matched=tuple(ordered),
        result_list=result_list,
        required=tuple(required_results),
    )


def evaluate(decisions, decision_id, context):
    """Evaluate ``decision_id`` of ``decisions`` (a ``DecisionSet`` or one ``Decision``) on ``context``.

    Returns a ``DecisionResult``; raises ``DecisionEvaluationError`` naming decision, rule and line.
    """
    if isinstance(decisions, Decision):
        decisions = DecisionSet({decisions.id: decisions})
    decision = decisions.get(decision_id)
    if decision is None:
        known = ", ".join(sorted(decisions.decisions)) or "none"
        raise DecisionEvaluationError(f"No decision '{decision_id}' is deployed (known: {known}).", decision_id)
    return _run(decisions, decision, dict(context or {}), {}, frozenset({decision_id}))


def result_value(result):
    """The decision's value as Camunda 8 hands it to the process.

    Single result (UNIQUE, FIRST, PRIORITY, ANY, COLLECT with aggregation): the output value (one
    output) or the dict of outputs, None without a match. Several results: a list of those.
    """
    entries = [
        entry[result.output_names[0]] if len(result.output_names) == 1 else dict(entry)
        for entry in result.result_list
    ]
    if result.single_result:
        return entries[0] if entries else None
    return entries
