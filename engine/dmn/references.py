"""How a BPMN business rule task names its decision, and how the result goes into the process data.

Three dialects are read from the ``businessRuleTask`` element (plain lxml):

- Camunda 7: ``camunda:decisionRef``, ``camunda:resultVariable`` and ``camunda:mapDecisionResult``
  (``singleEntry``: the one output value; ``singleResult``: the dict of outputs of the one result;
  ``collectEntries``: the list of the single output's values; ``resultList``, the default: the list of
  dicts). Without ``resultVariable`` nothing is stored, as in Camunda.
- Camunda 8: ``zeebe:calledDecision decisionId=".." resultVariable=".."``: the decision's result
  (``engine.dmn.evaluate.result_value``).
- SpiffArena: ``spiffworkflow:calledDecisionId``: the outputs are merged into the task data (a list
  per output for the multi-result policies); dotted output names (``fee.amount``) make nested dicts.
"""

from dataclasses import dataclass

from engine.exceptions import DecisionEvaluationError

from .evaluate import result_value

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

CAMUNDA_MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")


class DecisionReferenceError(ValueError):
    """A business rule task's decision reference cannot be used."""


@dataclass(frozen=True)
class DecisionReference:
    """What a business rule task calls and where the result goes."""

    element_id: str
    decision_id: str
    dialect: str  # camunda, zeebe or spiff
    result_variable: str | None = None
    mapping: str | None = None  # Camunda 7 mapDecisionResult


def _is_expression(text):
    return "${" in text or "#{" in text or text.startswith("=")


def read_reference(task):
    """The ``DecisionReference`` of a ``businessRuleTask`` lxml element; ``DecisionReferenceError`` when unusable."""
    element_id = task.get("id")
    camunda_ref = task.get(f"{{{CAMUNDA_NS}}}decisionRef")
    called = task.find(f"{{*}}extensionElements/{{{ZEEBE_NS}}}calledDecision")
    spiff = task.find(f"{{*}}extensionElements/{{{SPIFF_NS}}}calledDecisionId")
    if camunda_ref is not None:
        mapping = task.get(f"{{{CAMUNDA_NS}}}mapDecisionResult") or "resultList"
        if mapping not in CAMUNDA_MAPPINGS:
            raise DecisionReferenceError(f"camunda:mapDecisionResult '{mapping}' is not one of "
                                  f"{', '.join(CAMUNDA_MAPPINGS)}.")
        return DecisionReference(element_id, _literal_id(camunda_ref.strip(), "camunda:decisionRef"), "camunda",
                                 (task.get(f"{{{CAMUNDA_NS}}}resultVariable") or "").strip() or None, mapping)
    if called is not None:
        result_variable = (called.get("resultVariable") or "").strip()
        if not result_variable:
            raise DecisionReferenceError("zeebe:calledDecision has no resultVariable.")
        return DecisionReference(element_id, _literal_id((called.get("decisionId") or "").strip(),
                                                         "zeebe:calledDecision decisionId"), "zeebe",
                                 result_variable)
    if spiff is not None:
        return DecisionReference(element_id, _literal_id((spiff.text or "").strip(),
                                                         "spiffworkflow:calledDecisionId"), "spiff")
    calls_code = any(task.get(f"{{{CAMUNDA_NS}}}{name}") for name in ("class", "delegateExpression", "expression"))
    if calls_code or task.find(f"{{*}}extensionElements/{{{ZEEBE_NS}}}taskDefinition") is not None:
        raise DecisionReferenceError("the business rule task calls code or a job worker; only DMN decisions are "
                              "supported (camunda:decisionRef, zeebe:calledDecision, spiffworkflow:calledDecisionId).")
    raise DecisionReferenceError("the business rule task names no decision (camunda:decisionRef, "
                          "zeebe:calledDecision or spiffworkflow:calledDecisionId).")


def _literal_id(text, where):
    if not text:
        raise DecisionReferenceError(f"{where} is empty.")
    if _is_expression(text):
        raise DecisionReferenceError(f"{where} '{text}' is an expression; only a fixed decision id is supported.")
    return text


def _camunda_value(reference, result):
    entries = result.result_list
    mapping = reference.mapping
    if mapping == "resultList":
        return [dict(entry) for entry in entries]
    if mapping == "singleResult":
        if len(entries) > 1:
            raise _mapping_error(reference, result, f"singleResult, but the decision gave {len(entries)} results")
        return dict(entries[0]) if entries else None
    if any(len(entry) > 1 for entry in entries):
        raise _mapping_error(reference, result, f"{mapping}, but the decision's results have several outputs")
    values = [next(iter(entry.values())) for entry in entries]
    if mapping == "collectEntries":
        return values
    if len(values) > 1:
        raise _mapping_error(reference, result, f"singleEntry, but the decision gave {len(values)} results")
    return values[0] if values else None


def _mapping_error(reference, result, problem):
    return DecisionEvaluationError(
        f"Business rule task '{reference.element_id}': camunda:mapDecisionResult is {problem} (decision "
        f"'{result.decision_id}').", result.decision_id,
    )


def _nested(name, value):
    parts = name.split(".")
    for part in reversed(parts[1:]):
        value = {part: value}
    return parts[0], value


def _merge(target, key, value):
    if isinstance(value, dict) and isinstance(target.get(key), dict):
        for inner_key, inner_value in value.items():
            _merge(target[key], inner_key, inner_value)
    else:
        target[key] = value


def _spiff_values(result):
    merged = {}
    if result.single_result:
        entries = result.result_list[:1]
        flat = dict(entries[0]) if entries else {}
    else:
        flat = {name: [entry.get(name) for entry in result.result_list] for name in result.output_names}
    for name, value in flat.items():
        key, nested = _nested(name, value)
        _merge(merged, key, nested)
    return merged


def task_data_update(reference, result):
    """What the decision's result adds to the business rule task's data, per the reference's dialect."""
    if reference.dialect == "spiff":
        return _spiff_values(result)
    if reference.dialect == "zeebe":
        return {reference.result_variable: result_value(result)}
    value = _camunda_value(reference, result)
    return {reference.result_variable: value} if reference.result_variable else {}
