"""Conditions and processes written the way modeling tools write them deploy and run as drawn."""

import pytest

from engine.exceptions import DefinitionInvalidError
from engine.models import EventType, HistoryEvent, InstanceStatus
from engine.services import instance_start
from processes.dialects import ExpressionOutsideSubset, to_sandbox
from processes.services import definition_deploy

pytestmark = pytest.mark.django_db

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://example.org">
  {declarations}
  <bpmn:process id="dialect_test" isExecutable="{executable}">
    {body}
  </bpmn:process>
</bpmn:definitions>
"""

GATEWAY = """
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="choice" />
    <bpmn:exclusiveGateway id="choice" default="to_no" />
    <bpmn:sequenceFlow id="to_yes" sourceRef="choice" targetRef="end_yes">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"{language}>{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_no" sourceRef="choice" targetRef="end_no" />
    <bpmn:endEvent id="end_yes" />
    <bpmn:endEvent id="end_no" />
"""


def _bpmn(body, executable="true", declarations=""):
    return BPMN.format(body=body, executable=executable, declarations=declarations).encode("utf-8")


def _gateway(condition, language=""):
    language = f' language="{language}"' if language else ""
    return _bpmn(GATEWAY.format(condition=condition, language=language))


def _ended_at(agency, content, data):
    definition, _created = definition_deploy(content=content, filename="t.bpmn", actor=None, agency=agency)
    instance = instance_start(definition=definition, data=data, actor=None)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED, instance.error_message
    reached = HistoryEvent.objects.filter(instance=instance, event_type=EventType.ACTIVITY_COMPLETED)
    return {"end_yes", "end_no"} & set(reached.values_list("element_id", flat=True))


@pytest.mark.parametrize(
    ("condition", "data", "branch"),
    [
        ("${amount &gt; 1000}", {"amount": 1500}, "end_yes"),
        ("${amount &gt; 1000}", {"amount": 10}, "end_no"),
        ("#{approved}", {"approved": True}, "end_yes"),
        ("= amount &gt; 1000 and status = \"open\"", {"amount": 2000, "status": "open"}, "end_yes"),
        ("= amount &gt; 1000 and status = \"open\"", {"amount": 2000, "status": "closed"}, "end_no"),
        ("approved == true", {"approved": False}, "end_no"),
        ("approved == true", {"approved": True}, "end_yes"),
        ("priority = 'urgent'", {"priority": "urgent"}, "end_yes"),
        ("amount * 2 &gt;= limit and kind in ['house', 'shop']", {"amount": 5, "limit": 10, "kind": "shop"}, "end_yes"),
        ("${not empty applicant.name &amp;&amp; applicant.age ge 17}",
         {"applicant": {"name": "Sari", "age": 30}}, "end_yes"),
        ("${not empty applicant.name &amp;&amp; applicant.age ge 17}",
         {"applicant": {"name": "", "age": 30}}, "end_no"),
    ],
)
def test_tool_conditions_choose_the_branch_they_describe(agency, condition, data, branch):
    """JUEL ${}/#{}, FEEL =, JUEL-style plain text and plain sandbox conditions all decide the gateway."""
    assert _ended_at(agency, _gateway(condition), data) == {branch}


def test_condition_outside_the_subset_is_refused_with_element_and_line(agency):
    """A method call in JUEL is not guessed at: the deploy names the flow and the line."""
    with pytest.raises(DefinitionInvalidError) as raised:
        definition_deploy(content=_gateway("${execution.getVariable('x')}"), filename="t.bpmn", actor=None,
                          agency=agency)
    problem = raised.value.errors[0]
    assert problem["element_id"] == "to_yes" and problem["line"] == 11  # the conditionExpression
    assert "outside the safe subset" in problem["message"] and "getVariable" in problem["message"]


def test_condition_in_a_script_language_is_refused(agency):
    """language="groovy" names a language the engine does not run."""
    with pytest.raises(DefinitionInvalidError) as raised:
        definition_deploy(content=_gateway("amount &gt; 1", language="groovy"), filename="t.bpmn", actor=None,
                          agency=agency)
    assert "groovy" in raised.value.errors[0]["message"]


@pytest.mark.parametrize(
    "text",
    ["${a.size() &gt; 0}", "= some x in xs satisfies x &gt; 1", "__import__('os')", "${x} and ${y}"],
)
def test_to_sandbox_refuses_what_it_cannot_translate(text):
    """Calls, FEEL quantifiers, dunder names and two expressions in one text are outside the subset."""
    with pytest.raises(ExpressionOutsideSubset):
        to_sandbox(text.replace("&gt;", ">"))


def test_plain_python_condition_is_kept_as_written():
    """A condition that already is a sandbox expression is left alone (SpiffArena writes these)."""
    assert to_sandbox("len(items) > 0 and kind != 'x'") == "len(items) > 0 and kind != 'x'"


def test_exclusive_flow_without_condition_is_taken_when_nothing_else_holds(agency):
    """An ungated non-default flow out of an exclusive gateway has no condition to fail (BPMN 2.0 10.5.2)."""
    body = GATEWAY.replace('default="to_no"', "").replace(
        '<bpmn:sequenceFlow id="to_no" sourceRef="choice" targetRef="end_no" />', "")
    body = body.replace('<bpmn:sequenceFlow id="to_yes"', '<bpmn:sequenceFlow id="to_no" sourceRef="choice" '
                        'targetRef="end_no" />\n<bpmn:sequenceFlow id="to_yes"')
    content = _bpmn(body.format(condition="${amount &gt; 1000}", language=""))
    assert _ended_at(agency, content, {"amount": 5}) == {"end_no"}


def test_flow_node_without_outgoing_flow_ends_the_instance(agency):
    """A task with no outgoing flow is an implicit end: the instance completes once nothing else runs."""
    body = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="last" />
              <bpmn:scriptTask id="last"><bpmn:script>done = True</bpmn:script></bpmn:scriptTask>"""
    definition, _created = definition_deploy(content=_bpmn(body), filename="t.bpmn", actor=None, agency=agency)
    instance = instance_start(definition=definition, data={}, actor=None)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED


def test_single_process_marked_not_executable_by_bpmn_io_runs(agency):
    """bpmn.io writes isExecutable="false" by default; the file's only process still deploys and runs."""
    content = _bpmn(GATEWAY.format(condition="${amount &gt; 1}", language=""), executable="false")
    assert _ended_at(agency, content, {"amount": 2}) == {"end_yes"}


def test_error_event_naming_no_error_is_refused_clearly(agency):
    """An errorRef to an element the file lacks is a deploy error on that event, not a parser crash."""
    body = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fail" />
              <bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="missing" /></bpmn:endEvent>"""
    with pytest.raises(DefinitionInvalidError) as raised:
        definition_deploy(content=_bpmn(body), filename="t.bpmn", actor=None, agency=agency)
    assert raised.value.errors[0]["element_id"] == "fail" and "missing" in raised.value.errors[0]["message"]


def test_unnamed_message_is_refused_clearly(agency):
    """Messages are matched by name: a message event pointing at a nameless bpmn:message is refused."""
    body = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait" />
              <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="m" />
              </bpmn:intermediateCatchEvent>"""
    with pytest.raises(DefinitionInvalidError) as raised:
        definition_deploy(content=_bpmn(body, declarations='<bpmn:message id="m" />'), filename="t.bpmn",
                          actor=None, agency=agency)
    assert "has no name" in raised.value.errors[0]["message"]


def test_timer_duration_in_juel_is_translated(agency):
    """A Camunda 7 timer ``${wait}`` reads the duration from the process data."""
    body = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="pause" />
              <bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition>
              <bpmn:timeDuration>${wait}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
              <bpmn:sequenceFlow id="f1" sourceRef="pause" targetRef="end" /><bpmn:endEvent id="end" />"""
    definition, _created = definition_deploy(content=_bpmn(body), filename="t.bpmn", actor=None, agency=agency)
    instance = instance_start(definition=definition, data={"wait": "PT2H"}, actor=None)
    timer = instance.timers.get()
    assert timer.element_id == "pause"
    assert abs((timer.due_at - instance.started_at).total_seconds() - 7200) < 60


def test_several_flows_out_of_a_task_split_in_parallel(agency):
    """Two unconditional flows out of a task both run (implicit parallel split, BPMN 2.0 13.2.1)."""
    body = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="work" />
              <bpmn:scriptTask id="work"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
              <bpmn:sequenceFlow id="a" sourceRef="work" targetRef="end_yes" />
              <bpmn:sequenceFlow id="b" sourceRef="work" targetRef="end_no" />
              <bpmn:endEvent id="end_yes" /><bpmn:endEvent id="end_no" />"""
    assert _ended_at(agency, _bpmn(body), {}) == {"end_yes", "end_no"}


def test_conditional_flows_out_of_a_task_take_each_true_one_or_the_default(agency):
    """Conditional flows out of a task behave as an inclusive gateway, with the task's default flow."""
    body = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="work" />
              <bpmn:scriptTask id="work" default="b"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
              <bpmn:sequenceFlow id="a" sourceRef="work" targetRef="end_yes">
                <bpmn:conditionExpression>${big}</bpmn:conditionExpression></bpmn:sequenceFlow>
              <bpmn:sequenceFlow id="b" sourceRef="work" targetRef="end_no" />
              <bpmn:endEvent id="end_yes" /><bpmn:endEvent id="end_no" />"""
    assert _ended_at(agency, _bpmn(body), {"big": True}) == {"end_yes"}
    assert _ended_at(agency, _bpmn(body.replace("x = 1", "x = 2")), {"big": False}) == {"end_no"}


def test_sub_process_without_start_event_starts_its_first_nodes(agency):
    """A sub-process with no start event runs the nodes without incoming flows; an empty one just ends."""
    body = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="inner" />
              <bpmn:subProcess id="inner">
                <bpmn:scriptTask id="one"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>
                <bpmn:scriptTask id="two"><bpmn:script>b = 2</bpmn:script></bpmn:scriptTask>
              </bpmn:subProcess>
              <bpmn:sequenceFlow id="f1" sourceRef="inner" targetRef="empty" />
              <bpmn:subProcess id="empty" />
              <bpmn:sequenceFlow id="f2" sourceRef="empty" targetRef="end_yes" /><bpmn:endEvent id="end_yes" />"""
    definition, _created = definition_deploy(content=_bpmn(body), filename="t.bpmn", actor=None, agency=agency)
    instance = instance_start(definition=definition, data={}, actor=None)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED, instance.error_message
    reached = set(HistoryEvent.objects.filter(instance=instance).values_list("element_id", flat=True))
    assert {"one", "two", "empty", "end_yes"} <= reached


def test_timer_without_a_time_is_refused_on_its_event(agency):
    """A timer event definition with no timeDate, timeDuration or timeCycle is named at deploy time."""
    body = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="pause" />
              <bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition id="pause_timer" />
              </bpmn:intermediateCatchEvent>"""
    with pytest.raises(DefinitionInvalidError) as raised:
        definition_deploy(content=_bpmn(body), filename="t.bpmn", actor=None, agency=agency)
    assert raised.value.errors[0]["element_id"] == "pause_timer"
    assert "no timeDate, timeDuration or timeCycle" in raised.value.errors[0]["message"]


def test_other_pools_do_not_reject_the_process_that_runs(agency):
    """A drawn-only pool with a condition outside the subset does not stop the executable one."""
    other = """<bpmn:process id="customer" isExecutable="false"><bpmn:startEvent id="c_start" />
               <bpmn:sequenceFlow id="c_flow" sourceRef="c_start" targetRef="c_end">
               <bpmn:conditionExpression>bpmn:getDataObject('x')</bpmn:conditionExpression></bpmn:sequenceFlow>
               <bpmn:endEvent id="c_end" /></bpmn:process>"""
    content = _gateway("${amount &gt; 1}").replace(b"</bpmn:definitions>", other.encode() + b"</bpmn:definitions>")
    assert _ended_at(agency, content, {"amount": 5}) == {"end_yes"}


def test_message_start_event_passes_when_the_instance_is_started(agency):
    """A process that only starts by a message starts when an instance is started (the start is the message)."""
    body = """<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent>
              <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="end_yes" /><bpmn:endEvent id="end_yes" />"""
    content = _bpmn(body, declarations='<bpmn:message id="m" name="application_received" />')
    assert _ended_at(agency, content, {}) == {"end_yes"}


def test_boundary_event_without_definition_is_refused_on_it(agency):
    """A boundary event with no event definition (a drawing slip) is named, not a parser failure."""
    body = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="work" />
              <bpmn:userTask id="work" /><bpmn:boundaryEvent id="edge" attachedToRef="work" />
              <bpmn:sequenceFlow id="f1" sourceRef="work" targetRef="end_yes" /><bpmn:endEvent id="end_yes" />"""
    with pytest.raises(DefinitionInvalidError) as raised:
        definition_deploy(content=_bpmn(body), filename="t.bpmn", actor=None, agency=agency)
    assert raised.value.errors[0]["element_id"] == "edge"


def test_link_events_jump_to_the_catching_event_of_the_same_name(agency):
    """A throwing link event continues at the catching link event of its name (a go-to)."""
    body = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="go" />
              <bpmn:intermediateThrowEvent id="go"><bpmn:linkEventDefinition name="page2" />
              </bpmn:intermediateThrowEvent>
              <bpmn:intermediateCatchEvent id="arrive"><bpmn:linkEventDefinition name="page2" />
              </bpmn:intermediateCatchEvent>
              <bpmn:sequenceFlow id="f1" sourceRef="arrive" targetRef="end_yes" /><bpmn:endEvent id="end_yes" />"""
    assert _ended_at(agency, _bpmn(body), {}) == {"end_yes"}
    with pytest.raises(DefinitionInvalidError) as raised:
        definition_deploy(content=_bpmn(body.replace('"arrive"><bpmn:linkEventDefinition name="page2"',
                                                     '"arrive"><bpmn:linkEventDefinition name="page3"')),
                          filename="t.bpmn", actor=None, agency=agency)
    assert "page2" in raised.value.errors[0]["message"] and raised.value.errors[0]["element_id"] == "go"


def test_event_definition_declared_at_the_top_and_qname_references_are_resolved(agency):
    """eventDefinitionRef to a top-level definition and a messageRef written as a QName both work."""
    declarations = """<bpmn:message id="m" name="documents_received" />
                      <bpmn:timerEventDefinition id="soon"><bpmn:timeDuration>PT1H</bpmn:timeDuration>
                      </bpmn:timerEventDefinition>"""
    body = """<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="bpmn:m" /></bpmn:startEvent>
              <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="pause" />
              <bpmn:intermediateCatchEvent id="pause"><bpmn:eventDefinitionRef>soon</bpmn:eventDefinitionRef>
              </bpmn:intermediateCatchEvent>
              <bpmn:sequenceFlow id="f1" sourceRef="pause" targetRef="end_yes" /><bpmn:endEvent id="end_yes" />"""
    definition, _created = definition_deploy(content=_bpmn(body, declarations=declarations), filename="t.bpmn",
                                             actor=None, agency=agency)
    instance = instance_start(definition=definition, data={}, actor=None)
    timer = instance.timers.get()
    assert timer.element_id == "pause"
    assert abs((timer.due_at - instance.started_at).total_seconds() - 3600) < 60


def test_data_association_may_name_the_data_object_itself(agency):
    """An output association whose targetRef is a dataObject (not a reference to it) deploys and runs."""
    body = """<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="decide" />
              <bpmn:dataObject id="approver" name="Approver" />
              <bpmn:scriptTask id="decide"><bpmn:dataOutputAssociation id="out">
                <bpmn:targetRef>approver</bpmn:targetRef></bpmn:dataOutputAssociation>
                <bpmn:script>approver = 'sari'</bpmn:script></bpmn:scriptTask>
              <bpmn:sequenceFlow id="f1" sourceRef="decide" targetRef="end_yes" /><bpmn:endEvent id="end_yes" />"""
    assert _ended_at(agency, _bpmn(body), {}) == {"end_yes"}
