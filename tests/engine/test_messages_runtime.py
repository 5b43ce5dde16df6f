"""Messages through the SpiffWorkflow seam in memory: what waits for which message, and delivering one."""

import json

import pytest

from engine.exceptions import TaskDataInvalidError
from engine.spiff import ProcessRuntime, parse_process
from processes.bpmn_xml import parse_xml
from tests.conftest import fixture_bytes, library_bytes

_CORRELATED_BY_PROPERTY = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:correlationProperty id="application_id" name="application_id">
    <bpmn:correlationPropertyRetrievalExpression messageRef="msg_survey">
      <bpmn:formalExpression>application_id</bpmn:formalExpression>
    </bpmn:correlationPropertyRetrievalExpression>
  </bpmn:correlationProperty>
  <bpmn:message id="msg_survey" name="survey_done" />
  <bpmn:collaboration id="collaboration">
    <bpmn:participant id="office" processRef="site_survey" />
    <bpmn:correlationKey name="application">
      <bpmn:correlationPropertyRef>application_id</bpmn:correlationPropertyRef>
    </bpmn:correlationKey>
  </bpmn:collaboration>
  <bpmn:process id="site_survey" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="survey_done" />
    <bpmn:receiveTask id="survey_done" messageRef="msg_survey" />
    <bpmn:sequenceFlow id="f2" sourceRef="survey_done" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def _parse(content, process_id):
    return parse_process(parse_xml(content).getroot(), process_id)


def _started(filename, process_id, data=None):
    runtime = ProcessRuntime.new(_parse(fixture_bytes(f"messages/{filename}"), process_id), data or {})
    assert runtime.start().error is None
    return runtime


def _resubmission(data=None):
    return _started("document_resubmission.bpmn", "document_resubmission", data)


def _complete(runtime, element_id, data=None):
    task = next(task for task in runtime.ready_human_tasks() if task.element_id == element_id)
    return runtime.complete_human_task(task.task_id, data or {})


def _waiting(runtime):
    return sorted((message.message_name, message.element_id, message.kind) for message in runtime.waiting_messages())


def _ready(runtime):
    return sorted(task.element_id for task in runtime.ready_human_tasks())


def _finished(result):
    return [activity.element_id for activity in result.finished]


def test_an_open_task_waits_for_its_boundary_messages():
    """While the check is open, its two message boundary events wait, each with its kind."""
    runtime = _resubmission()
    assert _waiting(runtime) == [
        ("applicant_note", "applicant_note", "boundary"),
        ("application_withdrawn", "application_withdrawn", "boundary"),
    ]


def test_intermediate_catch_event_waits_and_passes_on_the_message():
    """Asked for a revision, the instance waits in the subprocess; the message brings it back to the check."""
    runtime = _resubmission()
    _complete(runtime, "check_documents", {"documents_complete": False})
    assert _waiting(runtime) == [("documents_resubmitted", "documents_resubmitted", "catch")]
    result = runtime.deliver_message("documents_resubmitted", {"files": ["ktp.pdf"]})
    assert result.error is None
    assert _finished(result)[:3] == ["documents_resubmitted", "await_end", "await_resubmission"]
    assert _ready(runtime) == ["check_documents"]


def test_message_data_lands_in_the_process_data_of_the_catching_path():
    """The message's data is merged into the data that flows on from the catch event."""
    runtime = _resubmission({"applicant": "Budi"})
    _complete(runtime, "check_documents", {"documents_complete": False})
    runtime.deliver_message("documents_resubmitted", {"files": ["ktp.pdf"], "documents_complete": True})
    assert runtime.data == {"applicant": "Budi", "files": ["ktp.pdf"], "documents_complete": True}


def test_receive_task_waits_for_the_reply_and_reports_its_declared_key():
    """A receive task waits with kind 'receive' and the zeebe:subscription key expression of its message."""
    runtime = _started("agency_reply.bpmn", "agency_consultation", {"request_number": "REQ-7"})
    _complete(runtime, "send_request")
    (waiting,) = runtime.waiting_messages()
    assert (waiting.message_name, waiting.element_id, waiting.kind) == ("agency_reply", "agency_reply", "receive")
    assert waiting.correlation_expression == "request_number"
    result = runtime.deliver_message("agency_reply", {"approved": True})
    assert _finished(result) == ["agency_reply"]
    assert _ready(runtime) == ["decide"] and runtime.data["approved"] is True


def test_interrupting_boundary_message_cancels_the_task():
    """A withdrawal cancels the open check and ends the instance on the withdrawn path."""
    runtime = _resubmission()
    result = runtime.deliver_message("application_withdrawn", {"reason": "moved away"})
    assert "withdrawn" in _finished(result)
    assert runtime.ready_human_tasks() == [] and runtime.waiting_messages() == []
    assert runtime.is_completed


def test_non_interrupting_boundary_message_runs_its_branch_and_keeps_the_task():
    """A note runs its own branch while the check stays open; SpiffWorkflow catches it once per activation."""
    runtime = _resubmission()
    result = runtime.deliver_message("applicant_note", {"note": "New phone number"})
    assert _finished(result) == ["applicant_note", "record_note", "note_recorded"]
    assert _ready(runtime) == ["check_documents"]
    assert _waiting(runtime) == [("application_withdrawn", "application_withdrawn", "boundary")]


def test_event_based_gateway_follows_the_branch_of_the_message():
    """Both message branches of the gateway wait; the message that arrives picks its branch."""
    runtime = _started("payment_gateway.bpmn", "fee_payment")
    assert _waiting(runtime) == [
        ("payment_received", "payment_received", "gateway"),
        ("payment_refused", "payment_refused", "gateway"),
    ]
    result = runtime.deliver_message("payment_refused", {"reason": "insufficient funds"})
    assert _finished(result) == ["payment_outcome", "payment_refused", "refused"]
    assert runtime.is_completed and runtime.data["reason"] == "insufficient funds"


def test_nothing_waiting_for_the_message_gives_none_and_changes_nothing():
    """Delivering a message nobody waits for returns None and leaves the state as it was."""
    runtime = _resubmission()
    before = json.dumps(runtime.dump(), sort_keys=True)
    assert runtime.deliver_message("documents_resubmitted", {}) is None
    assert runtime.deliver_message("no_such_message", {}) is None
    assert json.dumps(runtime.dump(), sort_keys=True) == before


def test_waiting_messages_survive_a_json_round_trip():
    """A restored instance waits for the same messages and can still catch them."""
    process = _parse(fixture_bytes("messages/document_resubmission.bpmn"), "document_resubmission")
    runtime = ProcessRuntime.new(process, {})
    runtime.start()
    _complete(runtime, "check_documents", {"documents_complete": False})
    restored = ProcessRuntime.restore(process, json.loads(json.dumps(runtime.dump())))
    assert restored.waiting_messages() == runtime.waiting_messages()
    assert restored.deliver_message("documents_resubmitted", {}).error is None
    assert _ready(restored) == ["check_documents"]


def test_spiff_correlation_property_is_the_key_and_must_be_in_the_message():
    """A message with one correlation property reports its retrieval expression; its data must carry it."""
    runtime = ProcessRuntime.new(_parse(_CORRELATED_BY_PROPERTY, "site_survey"), {"application_id": "A-1"})
    runtime.start()
    (waiting,) = runtime.waiting_messages()
    assert waiting.correlation_expression == "application_id"
    with pytest.raises(TaskDataInvalidError, match="application_id"):
        runtime.deliver_message("survey_done", {"result": "ok"})
    assert runtime.deliver_message("survey_done", {"application_id": "A-1", "result": "ok"}).error is None
    assert runtime.is_completed


def test_a_process_knows_whether_anything_in_it_waits_for_a_message():
    """Receive tasks, catch events, boundary events and gateway branches (in subprocesses too) count; a
    process of user tasks only does not (its steps then skip the subscriptions)."""
    assert _parse(_CORRELATED_BY_PROPERTY, "site_survey").catches_messages
    for filename, process_id in (("document_resubmission.bpmn", "document_resubmission"),
                                 ("agency_reply.bpmn", "agency_consultation"), ("payment_gateway.bpmn", "fee_payment")):
        assert _parse(fixture_bytes(f"messages/{filename}"), process_id).catches_messages, filename
    plain = _parse(library_bytes("permit_application/permit_application.bpmn"), "permit_application")
    assert not plain.catches_messages
    assert not ProcessRuntime.new(plain, {}).catches_messages
