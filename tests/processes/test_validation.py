"""Tests of processes.validation: the full report of an upload, every error and warning with line and id."""

import pytest

from engine.exceptions import DefinitionInvalidError
from processes.report import ValidationReport
from processes.validation import definition_report
from tests.conftest import fixture_bytes, library_bytes

MANY = "validation/many_problems.bpmn"
BPMN_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://example.org">\n'
)


def line_of(fixture, text):
    """Line (1-based) of the first line of the fixture that contains ``text``."""
    lines = fixture_bytes(fixture).decode("utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def issues(report, severity=None):
    found = report.errors if severity == "error" else report.warnings if severity == "warning" else report.issues
    return {(issue.code, issue.element_id, issue.line) for issue in found}


def report_of(fixture, **kwargs):
    return definition_report(content=fixture_bytes(fixture), **kwargs).report


def process_file(body, process_id="p"):
    text = BPMN_HEAD + f'<bpmn:process id="{process_id}" isExecutable="true">\n{body}\n</bpmn:process>\n'
    return (text + "</bpmn:definitions>\n").encode("utf-8")


def test_every_error_is_reported_with_its_code_line_and_element():
    """All errors of the file come at once, not just the first, each with code, element id and line."""
    report = report_of(MANY)
    assert issues(report, "error") == {
        ("script_invalid", "compute", line_of(MANY, "import os")),
        ("condition_invalid", "odd", line_of(MANY, "__import__")),
        ("timer_invalid", "wait", line_of(MANY, "PT5X")),
        ("timer_invalid", "reminder", line_of(MANY, ">P5D<")),
        ("called_process_missing", "archive", line_of(MANY, 'id="archive"')),
    }


def test_warnings_are_reported_apart_from_errors():
    """Unreachable elements, uncovered gateways, tasks without candidates and flows left open are warnings."""
    report = report_of(MANY)
    assert issues(report, "warning") == {
        ("gateway_flow_always_open", "unchecked", line_of(MANY, 'id="unchecked"')),
        ("unreachable", "forgotten", line_of(MANY, 'id="forgotten"')),
        ("gateway_without_default", "amount_gateway", line_of(MANY, 'id="amount_gateway"')),
        ("task_without_candidates", "sign", line_of(MANY, 'id="sign"')),
    }


def test_gateway_warning_names_a_value_no_condition_accepts():
    """'amount > 1000' and 'amount < 500' leave 500..1000: the warning says so."""
    [warning] = [issue for issue in report_of(MANY).warnings if issue.code == "gateway_without_default"]
    assert "amount is 500" in warning.message


def test_raise_for_errors_carries_every_error_and_the_warnings():
    """The deploy error holds all errors in the old shape plus severity and code, and the warnings."""
    with pytest.raises(DefinitionInvalidError) as raised:
        report_of(MANY).raise_for_errors()
    assert len(raised.value.errors) == 5 and len(raised.value.warnings) == 4
    assert set(raised.value.errors[0]) == {"severity", "code", "message", "line", "element_id"}
    assert [error["line"] for error in raised.value.errors] == sorted(error["line"] for error in raised.value.errors)


def test_bundled_permit_process_has_no_issue():
    """The bundled permit process validates cleanly."""
    report = definition_report(content=library_bytes("permit_application/permit_application.bpmn")).report
    assert report.issues == [] and report.as_dict()["valid"] is True


def test_called_process_deployed_separately_is_reported_as_not_in_the_file():
    """A process the agency deployed on its own is known, but the engine needs it in the same file."""
    report = report_of(MANY, known_process_keys={"archiving_process"})
    codes = {issue.code for issue in report.errors if issue.element_id == "archive"}
    assert codes == {"called_process_not_in_file"}


def test_called_process_in_the_same_file_is_fine():
    """A call activity to a process of the same file raises nothing about it."""
    content = process_file(
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/>'
        '<bpmn:callActivity id="call" calledElement="sub"/><bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e"/>'
        '<bpmn:endEvent id="e"/></bpmn:process><bpmn:process id="sub" isExecutable="true">'
        '<bpmn:startEvent id="s2"/><bpmn:sequenceFlow id="f3" sourceRef="s2" targetRef="e2"/><bpmn:endEvent id="e2"/>'
    )
    report = definition_report(content=content).report
    assert report.issues == [], report.as_dict()


@pytest.mark.parametrize(
    ("tag", "text", "valid"),
    [
        ("timeDuration", "PT5M", True),
        ("timeDuration", "P1DT2H", True),
        ("timeDuration", "'P3D'", True),
        ("timeDuration", "reminder_after", True),
        ("timeDuration", "PT5X", False),
        ("timeDuration", "R3/PT1H", False),
        ("timeDuration", "after(", False),
        ("timeDate", "2026-12-01T09:00:00+07:00", True),
        ("timeDate", "2026-13-45T09:00:00Z", False),
        ("timeDate", "P5D", False),
        ("timeCycle", "R3/PT1H", True),
        ("timeCycle", "R/P1D", True),
        ("timeCycle", "PT1H", False),
        ("timeCycle", "'R2/PT10M'", True),
        ("timeCycle", "'every hour'", False),
    ],
)
def test_timer_values_are_checked_for_their_kind(tag, text, valid):
    """ISO 8601 values must fit the timer's kind; expressions must compile; nothing is run."""
    content = process_file(
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        f'<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition><bpmn:{tag}>{text}</bpmn:{tag}>'
        '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
        '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>'
    )
    report = definition_report(content=content).report
    timer_errors = [issue for issue in report.errors if issue.code == "timer_invalid"]
    assert (timer_errors == []) is valid, timer_errors
    assert all(issue.element_id == "t" and issue.line == 4 for issue in timer_errors)


def _gateway_file(conditions, default=None):
    flows = "".join(
        f'<bpmn:sequenceFlow id="out{number}" sourceRef="g" targetRef="e">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>"
        for number, condition in enumerate(conditions)
    )
    default_attribute = f' default="{default}"' if default else ""
    return process_file(
        f'<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>'
        f'<bpmn:exclusiveGateway id="g"{default_attribute}/>{flows}'
        + (f'<bpmn:sequenceFlow id="{default}" sourceRef="g" targetRef="e"/>' if default else "")
        + '<bpmn:endEvent id="e"/>'
    )


@pytest.mark.parametrize(
    ("conditions", "default", "warned"),
    [
        (["amount &gt; 1000", "amount &lt;= 1000"], None, False),
        (["amount &gt; 1000", "amount &lt; 500"], None, True),
        (["approved == True", "approved == False"], None, False),
        (["approved == True"], None, True),
        (["amount &gt; 1000", "amount &lt; 500"], "fallback", False),
        (["len(items) &gt; 2", "len(items) &lt; 1"], None, True),
    ],
)
def test_gateway_without_default_is_warned_only_when_conditions_can_all_be_false(conditions, default, warned):
    """Covered conditions or a default flow: no warning; a gap or an undecidable set: a warning."""
    report = definition_report(content=_gateway_file(conditions, default)).report
    assert report.errors == [], report.as_dict()
    found = [issue for issue in report.warnings if issue.code == "gateway_without_default"]
    assert bool(found) is warned and all(issue.element_id == "g" for issue in found)


def test_undecidable_gateway_says_there_is_no_default():
    """Conditions beyond one variable are not analysed: the warning says the gateway has no default."""
    report = definition_report(content=_gateway_file(["len(items) &gt; 2", "len(items) &lt; 1"])).report
    [warning] = report.warnings
    assert "could not be checked" in warning.message and "Add a default flow" in warning.message


def test_event_subprocess_boundary_events_and_links_count_as_reachable():
    """Elements after a boundary event, in an event sub-process, or after a link are reachable."""
    content = process_file(
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="task"/>'
        '<bpmn:task id="task"/><bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="jump"/>'
        '<bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="next"/></bpmn:intermediateThrowEvent>'
        '<bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="next"/></bpmn:intermediateCatchEvent>'
        '<bpmn:sequenceFlow id="f3" sourceRef="land" targetRef="e"/><bpmn:endEvent id="e"/>'
        '<bpmn:boundaryEvent id="late" attachedToRef="task"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
        '<bpmn:sequenceFlow id="f4" sourceRef="late" targetRef="escalate"/><bpmn:task id="escalate"/>'
        '<bpmn:sequenceFlow id="f5" sourceRef="escalate" targetRef="e"/>'
        '<bpmn:subProcess id="on_error" triggeredByEvent="true"><bpmn:startEvent id="es"/>'
        '<bpmn:sequenceFlow id="f6" sourceRef="es" targetRef="ee"/><bpmn:endEvent id="ee"/></bpmn:subProcess>'
        '<bpmn:task id="orphan"/>'
    )
    report = definition_report(content=content).report
    assert {issue.element_id for issue in report.warnings if issue.code == "unreachable"} == {"orphan"}


def test_tasks_with_a_lane_or_candidates_are_not_warned():
    """Lanes, Camunda 7 attributes and Zeebe assignment all name who may claim a task."""
    content = fixture_bytes("assignment/zeebe_assignment.bpmn")
    report = definition_report(content=content).report
    assert [issue for issue in report.warnings if issue.code == "task_without_candidates"] == []
    lanes = definition_report(content=fixture_bytes("validation/warnings_only.bpmn")).report
    flagged = {issue.element_id for issue in lanes.warnings if issue.code == "task_without_candidates"}
    assert flagged == {"approve", "leftover"}  # 'check' is in the Clerks lane


def test_unreadable_xml_gives_a_report_with_the_xml_error():
    """Even a file that does not parse gives a report (no exception) with the line of the problem."""
    report = definition_report(content=b'<definitions xmlns="x">\n<oops></definitions>').report
    assert [issue.code for issue in report.errors] == ["xml_invalid"] and report.errors[0].line == 2


def test_extra_checks_see_the_parsed_file_and_their_errors_block():
    """An extra check (e.g. DMN decisions) gets the tree and process, and its error makes the report invalid."""
    seen = []

    def check_decisions(checked):
        seen.append((checked.process.id, checked.tree is not None))
        checked.report.error("decision_missing", "Decision 'fee' is not deployed.", element_id="rules", line=9)

    content = library_bytes("permit_application/permit_application.bpmn")
    checked = definition_report(content=content, extra_checks=[check_decisions])
    assert seen == [("permit_application", True)]
    assert [issue.code for issue in checked.report.errors] == ["decision_missing"]
    assert checked.parsed is None  # SpiffWorkflow is not asked once the report has an error
    with pytest.raises(DefinitionInvalidError) as raised:
        checked.report.raise_for_errors()
    assert raised.value.errors[0]["element_id"] == "rules"


def test_report_api_for_other_checks():
    """Other checks add issues to the same report; the dict form splits errors from warnings."""
    report = ValidationReport()
    report.warning("something_odd", "Odd.", element_id="a", line=3)
    report.error("decision_missing", "Decision 'd' is not deployed.", element_id="rules", line=7)
    body = report.as_dict()
    assert body["valid"] is False
    assert body["errors"] == [{"severity": "error", "code": "decision_missing",
                               "message": "Decision 'd' is not deployed.", "line": 7, "element_id": "rules"}]
    assert [warning["code"] for warning in body["warnings"]] == ["something_odd"]


@pytest.mark.parametrize("dialect", ["camunda7", "camunda8", "spiffarena"])
def test_every_missing_decision_is_an_error_with_its_task_and_line(dialect):
    """Without the DMN file both business rule tasks are reported, not just the first; with it, none."""
    model = f"business_rules/{dialect}.bpmn"
    report = report_of(model)
    assert {(issue.code, issue.element_id) for issue in report.errors} == {
        ("decision_missing", "decide_fee"), ("decision_missing", "decide_documents")}
    assert {issue.line for issue in report.errors} == {line_of(model, 'id="decide_fee"'),
                                                       line_of(model, 'id="decide_documents"')}
    rules = {"permit_rules.dmn": fixture_bytes("business_rules/permit_rules.dmn")}
    checked = definition_report(content=fixture_bytes(model), decision_files=rules)
    assert checked.report.errors == [] and checked.parsed is not None


def test_broken_dmn_file_is_reported_first_and_hides_no_bpmn_error():
    """A DMN file that cannot be used comes first in the errors; decisions are then not second-guessed."""
    broken = fixture_bytes("business_rules/permit_rules.dmn").replace(b"<text>floor_area * 5000</text>",
                                                                      b"<text>__import__('os')</text>")
    report = report_of("business_rules/camunda7.bpmn", decision_files={"permit_rules.dmn": broken})
    assert report.errors[0].code == "decision_file_invalid" and "permit_rules.dmn" in report.errors[0].message
    assert "decision_missing" not in {issue.code for issue in report.errors}
