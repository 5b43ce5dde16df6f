"""Decision table evaluation (engine.dmn.evaluate): every hit policy, aggregations, errors, requirements."""

import pytest

from engine.dmn import evaluate, parse_dmn, result_value
from engine.exceptions import DecisionEvaluationError, DefinitionInvalidError
from tests.engine.dmn_tables import table_xml

# One input (x), one output; rules 1 and 2 overlap for x in 5..10.
OVERLAPPING = [(["<= 10"], ['"small"']), (["[5..20]"], ['"medium"']), (["> 20"], ['"large"'])]


def _decide(rules, context, **options):
    return evaluate(parse_dmn(table_xml(rules, **options)), "decision", context)


def _rule_ids(result):
    return [rule.id for rule in result.matched]


def test_unique_gives_the_one_matching_rule():
    """UNIQUE: the single match's outputs; no match is an empty result, not an error."""
    result = _decide(OVERLAPPING, {"x": 3})
    assert result.result_list == [{"result": "small"}] and _rule_ids(result) == ["rule_1"]
    assert result.matched[0].index == 1
    assert _decide(OVERLAPPING, {"x": -1}).result_list == [{"result": "small"}]
    assert _decide([(["> 100"], ['"big"'])], {"x": 1}).result_list == []


def test_unique_with_two_matches_is_an_error_naming_the_rules():
    """UNIQUE with overlapping rules raises, naming the decision, both rules and the file line."""
    with pytest.raises(DecisionEvaluationError) as caught:
        _decide(OVERLAPPING, {"x": 7})
    message = str(caught.value)
    assert "Decision 'decision'" in message and "UNIQUE" in message
    assert "1 ('rule_1')" in message and "2 ('rule_2')" in message
    assert "decision.dmn line" in message and caught.value.decision_id == "decision"


def test_first_gives_the_first_match_in_rule_order():
    """FIRST: of the overlapping rules, the one listed first wins."""
    result = _decide(OVERLAPPING, {"x": 7}, hit_policy="FIRST")
    assert result.result_list == [{"result": "small"}] and _rule_ids(result) == ["rule_1"]


def test_priority_follows_the_output_values_order():
    """PRIORITY: the match whose output comes first in outputValues wins, whatever the rule order."""
    rules = [(["> 0"], ['"low"']), (["> 5"], ['"high"']), (["> 3"], ['"medium"'])]
    values = {"result": '"high","medium","low"'}
    result = _decide(rules, {"x": 7}, hit_policy="PRIORITY", output_values=values)
    assert result.result_list == [{"result": "high"}]
    assert _decide(rules, {"x": 4}, hit_policy="PRIORITY", output_values=values).result_list == [{"result": "medium"}]


def test_priority_without_output_values_is_refused_at_parse_time():
    """PRIORITY needs outputValues to rank the outputs; without them the file does not parse."""
    with pytest.raises(DefinitionInvalidError) as caught:
        parse_dmn(table_xml(OVERLAPPING, hit_policy="PRIORITY"))
    assert "needs output values" in caught.value.errors[0]["message"]


def test_any_accepts_agreeing_matches_and_refuses_disagreeing_ones():
    """ANY: several matches with the same outputs give that output; different outputs are an error."""
    agreeing = [(["> 0"], ['"yes"']), (["> 5"], ['"yes"']), (["< 0"], ['"no"'])]
    assert _decide(agreeing, {"x": 7}, hit_policy="ANY").result_list == [{"result": "yes"}]
    with pytest.raises(DecisionEvaluationError, match="ANY.*different outputs"):
        _decide(OVERLAPPING, {"x": 7}, hit_policy="ANY")


def test_rule_order_gives_every_match_in_rule_order():
    """RULE ORDER: all matches, as listed."""
    result = _decide(OVERLAPPING, {"x": 7}, hit_policy="RULE ORDER")
    assert result.result_list == [{"result": "small"}, {"result": "medium"}]
    assert not result.single_result


def test_output_order_sorts_matches_by_output_priority():
    """OUTPUT ORDER: all matches, ordered by the outputValues order."""
    rules = [(["> 0"], ['"low"']), (["> 5"], ['"high"']), (["> 3"], ['"medium"'])]
    result = _decide(rules, {"x": 7}, hit_policy="OUTPUT ORDER", output_values={"result": '"high","medium","low"'})
    assert result.result_list == [{"result": "high"}, {"result": "medium"}, {"result": "low"}]
    assert _rule_ids(result) == ["rule_2", "rule_3", "rule_1"]


def test_collect_without_aggregation_lists_every_match():
    """COLLECT: a list of the matches' outputs (several outputs per rule kept together)."""
    rules = [(["-"], ['"KTP"', "1"]), (['"business"'], ['"NIB"', "2"]), (['"citizen"'], ['"KK"', "3"])]
    result = _decide(rules, {"x": "business"}, hit_policy="COLLECT", outputs=("document", "order"))
    assert result.result_list == [{"document": "KTP", "order": 1}, {"document": "NIB", "order": 2}]
    assert result_value(result) == [{"document": "KTP", "order": 1}, {"document": "NIB", "order": 2}]


@pytest.mark.parametrize(("aggregation", "expected"), [("SUM", 60), ("MIN", 10), ("MAX", 30), ("COUNT", 3)])
def test_collect_aggregations(aggregation, expected):
    """COLLECT SUM/MIN/MAX/COUNT give one result with the aggregate of the matches' single output."""
    rules = [(["> 0"], ["10"]), (["> 1"], ["20"]), (["> 2"], ["30"]), (["> 100"], ["1000"])]
    result = _decide(rules, {"x": 5}, hit_policy="COLLECT", aggregation=aggregation)
    assert result.result_list == [{"result": expected}] and result.single_result
    assert result_value(result) == expected
    assert len(result.matched) == 3


def test_collect_aggregation_without_match():
    """With no match, SUM gives no result (None as a value) and COUNT gives 0."""
    rules = [(["> 100"], ["10"])]
    assert result_value(_decide(rules, {"x": 1}, hit_policy="COLLECT", aggregation="SUM")) is None
    assert result_value(_decide(rules, {"x": 1}, hit_policy="COLLECT", aggregation="COUNT")) == 0


def test_collect_sum_of_text_is_an_error():
    """SUM over text outputs is an error naming the decision, not a concatenation."""
    with pytest.raises(DecisionEvaluationError, match="SUM needs numbers"):
        _decide([(["-"], ['"a"']), (["-"], ['"b"'])], {"x": 1}, hit_policy="COLLECT", aggregation="SUM")


def test_aggregation_with_several_outputs_is_refused_at_parse_time():
    """An aggregation needs a single output; two outputs are a parse error."""
    with pytest.raises(DefinitionInvalidError, match="not valid"):
        parse_dmn(table_xml([(["-"], ["1", "2"])], outputs=("a", "b"), hit_policy="COLLECT", aggregation="SUM"))


def test_inputs_and_outputs_are_expressions_on_the_context():
    """Input expressions read paths of the data; output entries may compute (arithmetic on the data)."""
    rules = [(['"business"', ">= 100"], ["area * 5000", '"high"']), (['"business"', "< 100"], ["250000", '"low"'])]
    result = _decide(rules, {"applicant": {"type": "business"}, "area": 120},
                     inputs=("applicant.type", "area"), outputs=("fee", "risk"))
    assert result.result_list == [{"fee": 600000, "risk": "high"}]
    assert result_value(result) == {"fee": 600000, "risk": "high"}


def test_a_failing_input_names_decision_and_line():
    """A missing variable in an input expression is an error with the decision id and the file line."""
    with pytest.raises(DecisionEvaluationError) as caught:
        _decide(OVERLAPPING, {})
    assert "Decision 'decision'" in str(caught.value) and "'x' is not defined" in str(caught.value)
    assert caught.value.line == 5


def test_a_failing_output_names_the_rule():
    """An output entry that fails (division by zero) names the rule index and id."""
    with pytest.raises(DecisionEvaluationError) as caught:
        _decide([(["-"], ["100 / x"])], {"x": 0})
    assert "rule 1 ('rule_1')" in str(caught.value) and caught.value.rule == 1


def test_unknown_decision_id_is_an_error():
    """Asking for a decision that is not in the set names the known ones."""
    with pytest.raises(DecisionEvaluationError, match="known: decision"):
        evaluate(parse_dmn(table_xml(OVERLAPPING)), "nope", {"x": 1})


def test_a_single_decision_can_be_evaluated_directly():
    """evaluate accepts one Decision as well as a DecisionSet."""
    decision = next(iter(parse_dmn(table_xml(OVERLAPPING))))
    assert evaluate(decision, "decision", {"x": 30}).result_list == [{"result": "large"}]


REQUIREMENTS = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="Fees" namespace="x">
  <decision id="risk_level" name="risk">
    <decisionTable id="risk_table" hitPolicy="FIRST">
      <input id="i1"><inputExpression id="e1"><text>area</text></inputExpression></input>
      <output id="o1" name="risk_level" />
      <rule id="risky"><inputEntry><text>&gt; 500</text></inputEntry>
        <outputEntry><text>"high"</text></outputEntry></rule>
      <rule id="calm"><inputEntry><text>-</text></inputEntry><outputEntry><text>"low"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="fee" name="Fee">
    <informationRequirement id="req1"><requiredDecision href="#risk_level" /></informationRequirement>
    <decisionTable id="fee_table">
      <input id="i2"><inputExpression id="e2"><text>risk_level</text></inputExpression></input>
      <output id="o2" name="fee" />
      <rule id="fee_high"><inputEntry><text>"high"</text></inputEntry>
        <outputEntry><text>1000</text></outputEntry></rule>
      <rule id="fee_low"><inputEntry><text>"low"</text></inputEntry><outputEntry><text>100</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def test_required_decisions_are_evaluated_first_and_feed_the_context():
    """A decision's required decision runs first; its output is an input of the requiring decision."""
    result = evaluate(parse_dmn(REQUIREMENTS), "fee", {"area": 800})
    assert result.result_list == [{"fee": 1000}]
    assert [required.decision_id for required in result.required] == ["risk_level"]
    assert result.summary()["required"][0]["matched_rules"] == [{"index": 1, "id": "risky"}]
    assert evaluate(parse_dmn(REQUIREMENTS), "fee", {"area": 10}).result_list == [{"fee": 100}]


def test_missing_or_cyclic_requirements_are_refused():
    """A required decision that is not deployed, or a cycle of requirements, does not parse."""
    from engine.dmn import parse_dmn_files

    missing = REQUIREMENTS.replace(b'href="#risk_level"', b'href="#nowhere"')
    with pytest.raises(DefinitionInvalidError) as caught:
        parse_dmn_files({"fees.dmn": missing})
    assert "requires decision 'nowhere'" in caught.value.errors[0]["message"]
    cyclic = REQUIREMENTS.replace(
        b'<decisionTable id="risk_table"',
        b'<informationRequirement id="req2"><requiredDecision href="#fee" /></informationRequirement>'
        b'<decisionTable id="risk_table"')
    with pytest.raises(DefinitionInvalidError) as caught:
        parse_dmn_files({"fees.dmn": cyclic})
    assert any("requires itself" in error["message"] for error in caught.value.errors)


def test_decision_result_summary_is_json_ready():
    """The summary written to history holds ids, indices and outputs with dates as ISO text."""
    result = _decide([(["-"], ['date("2026-05-01")'])], {"x": 1})
    summary = result.summary()
    assert summary == {"decision_id": "decision", "hit_policy": "UNIQUE",
                       "matched_rules": [{"index": 1, "id": "rule_1"}], "outputs": [{"result": "2026-05-01"}],
                       "required": []}


def test_camunda_7_juel_cells_are_translated():
    """Camunda 7 tables may write JUEL (``${...}``) in input expressions and output entries."""
    rules = [(['"business"'], ["${kind.toUpperCase()}"]), (["-"], ['${"none"}'])]
    with pytest.raises(DefinitionInvalidError) as caught:
        parse_dmn(table_xml(rules, inputs=("${applicant.kind}",)))
    assert "outside the supported JUEL subset" in caught.value.errors[0]["message"]
    rules = [(['"business"'], ["${kind}"]), (["-"], ['${"none"}'])]
    result = _decide(rules, {"applicant": {"kind": "business"}, "kind": "permit"}, inputs=("${applicant.kind}",),
                     hit_policy="FIRST")
    assert result.result_list == [{"result": "permit"}]


def test_evaluation_does_not_change_the_context():
    """A cell that changes a value in place works on a copy; the caller's data stays as it was."""
    context = {"x": 1, "items": ["a"]}
    result = _decide([(["-"], ["items.append('b') or len(items)"])], context)
    assert result.result_list == [{"result": 2}]
    assert context == {"x": 1, "items": ["a"]}
