"""Business rule tasks in memory: references of the three dialects, result mapping, errors (no database)."""

import json

import pytest
from lxml import etree

from engine.dmn import evaluate, parse_dmn
from engine.dmn.references import DecisionReferenceError, read_reference, task_data_update
from engine.exceptions import DecisionEvaluationError, DefinitionInvalidError
from engine.spiff import ProcessRuntime, parse_process
from processes.bpmn_xml import parse_xml
from tests.conftest import fixture_bytes
from tests.engine.dmn_tables import table_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NAMESPACES = (f'xmlns:bpmn="{BPMN}" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
              'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
              'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')


def _task(body):
    return etree.fromstring(f"<bpmn:businessRuleTask {NAMESPACES} id='decide' {body}".encode())


def _rules():
    return parse_dmn(fixture_bytes("business_rules/permit_rules.dmn"), "permit_rules.dmn")


def _process(name, process_id, decisions=None):
    root = parse_xml(fixture_bytes(f"business_rules/{name}")).getroot()
    return parse_process(root, process_id, _rules() if decisions is None else decisions)


def _camunda(mapping, decision="permit_fee"):
    return read_reference(_task(f'camunda:decisionRef="{decision}" camunda:resultVariable="out" '
                                f'camunda:mapDecisionResult="{mapping}"/>'))


def test_camunda_mappings():
    """singleEntry, singleResult, collectEntries and resultList shape the result as Camunda 7 does."""
    fee = evaluate(_rules(), "permit_fee", {"applicant_type": "citizen", "floor_area": 1})
    documents = evaluate(_rules(), "required_documents", {"applicant_type": "business"})
    assert task_data_update(_camunda("singleResult"), fee) == {"out": {"fee": 0, "risk": "low"}}
    assert task_data_update(_camunda("resultList"), fee) == {"out": [{"fee": 0, "risk": "low"}]}
    assert task_data_update(_camunda("collectEntries"), documents) == {"out": ["KTP", "NIB"]}
    assert task_data_update(_camunda("resultList"), documents) == {"out": [{"document": "KTP"},
                                                                           {"document": "NIB"}]}
    one_document = evaluate(_rules(), "required_documents", {"applicant_type": "citizen"})
    assert task_data_update(_camunda("singleEntry"), one_document) == {"out": "KTP"}


def test_camunda_default_mapping_is_result_list_and_no_variable_stores_nothing():
    """Without mapDecisionResult the result list is stored; without resultVariable nothing is."""
    reference = read_reference(_task('camunda:decisionRef="permit_fee" camunda:resultVariable="out"/>'))
    assert reference.mapping == "resultList"
    bare = read_reference(_task('camunda:decisionRef="permit_fee"/>'))
    fee = evaluate(_rules(), "permit_fee", {"applicant_type": "citizen", "floor_area": 1})
    assert task_data_update(bare, fee) == {}


@pytest.mark.parametrize(("mapping", "problem"), [
    ("singleEntry", "several outputs"), ("singleResult", "2 results"), ("collectEntries", "several outputs"),
])  # fmt: skip
def test_camunda_mapping_that_does_not_fit_the_result_is_an_error(mapping, problem):
    """A mapping that would drop results or outputs is an evaluation error naming the task."""
    multi = parse_dmn(table_xml([(["-"], ["1", "2"]), (["-"], ["3", "4"])], outputs=("a", "b"),
                                hit_policy="COLLECT"))
    result = evaluate(multi, "decision", {"x": 1})
    with pytest.raises(DecisionEvaluationError, match=problem) as caught:
        task_data_update(_camunda(mapping, "decision"), result)
    assert "Business rule task 'decide'" in str(caught.value)


def test_single_entry_with_several_results_is_an_error():
    """singleEntry with two matching rules is refused rather than keeping one silently."""
    documents = evaluate(_rules(), "required_documents", {"applicant_type": "business"})
    with pytest.raises(DecisionEvaluationError, match="singleEntry, but the decision gave 2 results"):
        task_data_update(_camunda("singleEntry"), documents)


def test_zeebe_result_is_value_dict_or_list():
    """Camunda 8: one output gives its value, several a dict, COLLECT a list; no match gives None."""
    reference = read_reference(_task('><bpmn:extensionElements><zeebe:calledDecision decisionId="d" '
                                     'resultVariable="answer"/></bpmn:extensionElements></bpmn:businessRuleTask>'))
    assert (reference.dialect, reference.decision_id, reference.result_variable) == ("zeebe", "d", "answer")
    single = parse_dmn(table_xml([(["< 10"], ['"small"'])]))
    assert task_data_update(reference, evaluate(single, "decision", {"x": 1})) == {"answer": "small"}
    assert task_data_update(reference, evaluate(single, "decision", {"x": 50})) == {"answer": None}
    documents = evaluate(_rules(), "required_documents", {"applicant_type": "foundation"})
    assert task_data_update(reference, documents) == {"answer": ["KTP", "Akta pendirian"]}


def test_spiff_outputs_merge_with_dotted_names_nested():
    """SpiffArena: outputs become task data; ``fee.amount`` and ``fee.currency`` build one dict."""
    reference = read_reference(_task('><bpmn:extensionElements><spiffworkflow:calledDecisionId>decision'
                                     '</spiffworkflow:calledDecisionId></bpmn:extensionElements>'
                                     '</bpmn:businessRuleTask>'))
    decisions = parse_dmn(table_xml([(["-"], ["1000", '"IDR"'])], outputs=("fee.amount", "fee.currency")))
    assert task_data_update(reference, evaluate(decisions, "decision", {"x": 1})) == {
        "fee": {"amount": 1000, "currency": "IDR"}}


@pytest.mark.parametrize(("body", "problem"), [
    ('camunda:decisionRef="${which}"/>', "only a fixed decision id"),
    ('camunda:decisionRef="d" camunda:mapDecisionResult="everything"/>', "is not one of"),
    ('camunda:class="org.example.Rules"/>', "calls code"),
    ('><bpmn:extensionElements><zeebe:calledDecision decisionId="d"/></bpmn:extensionElements>'
     '</bpmn:businessRuleTask>', "no resultVariable"),
    ('><bpmn:extensionElements><zeebe:calledDecision decisionId="=pick" resultVariable="r"/>'
     '</bpmn:extensionElements></bpmn:businessRuleTask>', "only a fixed decision id"),
    ("/>", "names no decision"),
])  # fmt: skip
def test_unusable_references_are_refused(body, problem):
    """Expressions as decision ids, unknown mappings, code delegates and missing references are errors."""
    with pytest.raises(DecisionReferenceError, match=problem):
        read_reference(_task(body))


def test_missing_decision_is_a_parse_error_with_element_and_line():
    """Parsing the process without the decision's DMN file names the task and its line."""
    with pytest.raises(DefinitionInvalidError) as caught:
        _process("camunda8.bpmn", "permit_fees_c8", decisions=parse_dmn(table_xml([(["-"], ["1"])])))
    error = caught.value.errors[0]
    assert (error["element_id"], error["line"]) == ("decide_fee", 6)
    assert "'permit_fee' is not in the DMN files" in error["message"]


def test_business_rule_task_runs_and_reports_its_decision():
    """The runtime runs the decision, stores the result and reports it with the finished activity."""
    runtime = ProcessRuntime.new(_process("camunda7.bpmn", "permit_fees_c7"),
                                 {"applicant_type": "business", "floor_area": 150})
    result = runtime.start()
    assert result.error is None
    assert runtime.data["fee_decision"] == {"fee": 750000, "risk": "high"}
    decided = {activity.element_id: activity for activity in result.finished if activity.decision}
    assert set(decided) == {"decide_fee", "decide_documents"}
    assert decided["decide_fee"].element_type == "Business Rule Task"
    assert decided["decide_fee"].decision["matched_rules"] == [{"index": 2, "id": "fee_large_business"}]


def test_state_with_business_rule_tasks_survives_json_round_trip():
    """The stored state (as JSON) restores onto the cached spec and runs on to the end."""
    process = _process("camunda7.bpmn", "permit_fees_c7")
    runtime = ProcessRuntime.new(process, {"applicant_type": "citizen", "floor_area": 10})
    runtime.start()
    restored = ProcessRuntime.restore(process, json.loads(json.dumps(runtime.dump())))
    assert restored.data["documents"] == ["KTP"]
    [task] = restored.ready_human_tasks()
    assert restored.complete_human_task(task.task_id, {}).error is None and restored.is_completed


def test_failing_decision_stops_at_the_task_with_a_clear_error():
    """An evaluation error is the step's error at the business rule task, naming decision and rule."""
    runtime = ProcessRuntime.new(_process("spiffarena.bpmn", "permit_fees_spiff"),
                                 {"applicant_type": "business"})
    result = runtime.start()
    assert result.error is not None and result.error.element_id == "decide_fee"
    assert "Decision 'permit_fee'" in str(result.error)
    assert not runtime.is_completed
