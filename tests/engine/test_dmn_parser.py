"""Reading DMN files (engine.dmn.parser): versions and namespaces, hardening, errors with line and rule."""

from datetime import date
from pathlib import Path

import pytest

from engine.dmn import HitPolicy, evaluate, parse_dmn, parse_dmn_files
from engine.dmn.parser import DMN_NAMESPACES
from engine.exceptions import DecisionEvaluationError, DefinitionInvalidError
from processes.bpmn_xml import MAX_BPMN_BYTES
from tests.engine.dmn_tables import table_xml

DMN_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dmn"


def _fixture(name):
    return parse_dmn((DMN_FIXTURES / name).read_bytes(), name)


def _errors(content, filename="bad.dmn"):
    with pytest.raises(DefinitionInvalidError) as caught:
        parse_dmn(content, filename)
    return caught.value.errors


def test_dmn_1_1_camunda_file_with_priority_policy():
    """A Camunda 7 style DMN 1.1 file: inputs, typed outputs with output values, PRIORITY."""
    decisions = _fixture("risk_level_dmn11.dmn")
    decision = decisions.get("risk_level")
    table = decision.table
    assert (decision.name, table.hit_policy, len(table.rules)) == ("Risk level", HitPolicy.PRIORITY, 3)
    assert [clause.expression.expression for clause in table.inputs] == [
        "business['category']", "business['employees']"]
    assert table.outputs[0].output_values == ("high", "medium", "low")
    assert decision.line == 3 and table.rules[1].line == 25
    context = {"business": {"category": "mining", "employees": 80}}
    assert evaluate(decisions, "risk_level", context).result_list == [{"risk": "high"}]
    context = {"business": {"category": "retail", "employees": 80}}
    assert evaluate(decisions, "risk_level", context).result_list == [{"risk": "medium"}]


def test_dmn_1_2_file_with_a_prefixed_namespace_and_dates():
    """A DMN 1.2 file written with a ``dmn:`` prefix; a date range test against ISO text input."""
    decisions = _fixture("opening_hours_dmn12.dmn")
    result = evaluate(decisions, "service_window", {"submitted_on": "2026-12-24"})
    assert result.result_list == [{"processing_days": 10, "note": "year-end closing"}]
    result = evaluate(decisions, "service_window", {"submitted_on": date(2026, 3, 2)})
    assert result.result_list == [{"processing_days": 5, "note": None}]


def test_dmn_1_4_file_with_requirements_input_data_literal_decision_and_diagram():
    """DMN 1.4: inputData, a required decision, a literal-expression decision and DMNDI all parse."""
    decisions = _fixture("inspection_dmn14.dmn")
    assert {decision.id for decision in decisions} == {"inspection_points", "inspection_team", "inspection_summary"}
    points = evaluate(decisions, "inspection_points", {"area": 1500, "storeys": 5})
    assert points.result_list == [{"points": 6}]
    team = evaluate(decisions, "inspection_team", {"area": 200, "storeys": 5})
    assert team.result_list == [{"team_size": 1}] and team.required[0].result_list == [{"points": 3}]
    with pytest.raises(DecisionEvaluationError, match="only decision tables"):
        evaluate(decisions, "inspection_summary", {})


@pytest.mark.parametrize("namespace", sorted(DMN_NAMESPACES))
def test_every_dmn_version_namespace_is_read(namespace):
    """DMN 1.1 to 1.5 namespaces all give the same decision."""
    decisions = parse_dmn(table_xml([(["< 10"], ['"small"'])], namespace=namespace))
    assert evaluate(decisions, "decision", {"x": 3}).result_list == [{"result": "small"}]


def test_not_a_dmn_file_is_refused():
    """A BPMN (or any other) root element is not a DMN file."""
    errors = _errors(b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>')
    assert "must be DMN 'definitions'" in errors[0]["message"]


def test_doctype_and_entities_are_refused():
    """XXE / billion laughs: any DOCTYPE is refused before the XML parser sees it."""
    content = (b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
               b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/">&x;</definitions>')
    errors = _errors(content)
    assert "DOCTYPE" in errors[0]["message"] and "DMN files" in errors[0]["message"] and errors[0]["line"] == 2


def test_oversized_file_is_refused():
    """Files above the size cap are refused without parsing."""
    errors = _errors(b" " * (MAX_BPMN_BYTES + 1))
    assert "limit" in errors[0]["message"]


def test_malformed_xml_reports_the_line():
    """XML that is not well-formed names the file and line."""
    errors = _errors(b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/">\n<decision id="a">\n')
    assert errors[0]["message"].startswith("bad.dmn:") and errors[0]["line"] == 3


def test_every_bad_cell_is_reported_with_decision_rule_and_line():
    """All cells outside the subset are reported together, each with its rule id and line."""
    content = table_xml([(["< "], ['"ok"']), (["-"], ["__import__('os')"]), (["[1..2"], ["1"])])
    errors = _errors(content)
    assert [(error["element_id"], error["line"]) for error in errors] == [("rule_1", 8), ("rule_2", 13),
                                                                          ("rule_3", 16)]
    assert "decision 'decision', rule 2 ('rule_2')" in errors[1]["message"]


def test_input_expression_outside_the_subset_is_refused():
    """An input expression that calls a function is refused, naming the input."""
    errors = _errors(table_xml([(["-"], ["1"])], inputs=("open('/etc/passwd')",)))
    assert "input expression of 'Input 1'" in errors[0]["message"] and errors[0]["line"] == 5


def test_rule_with_the_wrong_number_of_entries_is_refused():
    """A rule must have one input entry per input and one output entry per output."""
    errors = _errors(table_xml([(["-", "-"], ["1"])]))
    assert "has 2 input and 1 output entries" in errors[0]["message"]


def test_unsupported_hit_policy_and_aggregation_are_refused():
    """Only the DMN hit policies and the four aggregations are accepted."""
    assert "hit policy 'SOMETIMES'" in _errors(table_xml([(["-"], ["1"])], hit_policy="SOMETIMES"))[0]["message"]
    errors = _errors(table_xml([(["-"], ["1"])], hit_policy="COLLECT", aggregation="AVG"))
    assert "aggregation 'AVG'" in errors[0]["message"]


def test_input_without_expression_is_refused_only_when_rules_test_it():
    """An input with no expression is fine while every rule ignores it (``-``), else an error."""
    assert parse_dmn(table_xml([(["-"], ["1"])], inputs=("",)))
    assert "has no input expression" in _errors(table_xml([(["1"], ["1"])], inputs=("",)))[0]["message"]


def test_the_same_decision_id_in_two_files_is_refused():
    """Decision ids must be unique across the DMN files deployed together."""
    content = table_xml([(["-"], ["1"])])
    with pytest.raises(DefinitionInvalidError) as caught:
        parse_dmn_files({"a.dmn": content, "b.dmn": content})
    assert "also used in a.dmn" in caught.value.errors[0]["message"]
