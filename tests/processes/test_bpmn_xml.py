"""Tests of processes.bpmn_xml: safe parsing and structural checks of uploaded BPMN files."""

import time
from pathlib import Path

import pytest

from engine.exceptions import DefinitionInvalidError
from processes.bpmn_xml import (
    MAX_BPMN_BYTES,
    all_processes,
    check_bpmn_structure,
    element_info,
    executable_processes,
    find_line,
    parse_xml,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "xml"

DEFINITIONS_OPEN = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs">'
)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse_fixture(name: str):
    return parse_xml(fixture_bytes(name))


def line_of(name: str, snippet: str) -> int:
    """1-based line of the first line of a fixture containing the snippet."""
    for number, text in enumerate((FIXTURES / name).read_text("utf-8").splitlines(), start=1):
        if snippet in text:
            return number
    raise AssertionError(f"{snippet!r} not in {name}")


def refusal(data: bytes) -> DefinitionInvalidError:
    with pytest.raises(DefinitionInvalidError) as caught:
        parse_xml(data)
    return caught.value


def bpmn_document(body: str) -> bytes:
    return f"{DEFINITIONS_OPEN}{body}</bpmn:definitions>".encode()


# --- hostile and broken input ---------------------------------------------

def test_external_entity_is_refused_and_never_resolved():
    """An XXE payload reading /etc/passwd is refused and the file's content never appears."""
    exc = refusal(fixture_bytes("xxe_passwd.bpmn"))
    assert "DOCTYPE" in str(exc)
    assert exc.errors[0]["line"] == line_of("xxe_passwd.bpmn", "<!DOCTYPE")
    assert "root:" not in str(exc) and "root:" not in repr(exc.errors)


def test_external_entity_in_utf16_is_refused():
    """A DOCTYPE hidden in a UTF-16 encoded upload is refused as well."""
    data = fixture_bytes("xxe_passwd.bpmn").decode("utf-8").replace('"UTF-8"', '"UTF-16"')
    exc = refusal(data.encode("utf-16"))
    assert "DOCTYPE" in str(exc)


def test_undeclared_entity_reference_is_a_syntax_error():
    """An entity reference without any declaration is reported, not resolved."""
    exc = refusal(bpmn_document('<bpmn:process id="P" name="&secret;"/>'))
    assert "not well-formed" in str(exc)
    assert exc.errors[0]["line"] == 1


def test_billion_laughs_is_refused_in_under_a_second():
    """A billion-laughs entity bomb is refused in well under one second."""
    started = time.perf_counter()
    exc = refusal(fixture_bytes("billion_laughs.bpmn"))
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    assert "ENTITY" in str(exc)


def test_oversize_file_is_refused():
    """A file above MAX_BPMN_BYTES is refused with a message naming the limit."""
    exc = refusal(b"<a>" + b" " * MAX_BPMN_BYTES + b"</a>")
    assert f"{MAX_BPMN_BYTES:,}" in str(exc)
    assert exc.errors == [{"message": str(exc), "line": None, "element_id": None}]


def test_malformed_xml_reports_line_and_column():
    """A syntax error becomes an error carrying the line (and column) lxml reports."""
    exc = refusal(fixture_bytes("malformed.bpmn"))
    expected_line = line_of("malformed.bpmn", "</bpmn:process>")
    assert exc.errors[0]["line"] == expected_line
    assert f"line {expected_line}, column" in exc.errors[0]["message"]


def test_empty_upload_is_refused():
    """An empty upload is refused as not well-formed XML."""
    exc = refusal(b"")
    assert "not well-formed" in str(exc)


# --- structure -------------------------------------------------------------

def test_valid_bpmn_io_file_has_no_structural_errors():
    """A clean bpmn.io export passes the structural checks."""
    assert check_bpmn_structure(parse_fixture("simple_process.bpmn")) == []


def test_definitions_with_default_namespace_prefix_is_accepted():
    """A root in the BPMN MODEL namespace without the 'bpmn:' prefix is accepted."""
    assert check_bpmn_structure(parse_fixture("no_executable_flag.bpmn")) == []


def test_root_other_than_definitions_is_reported():
    """A file whose root is not bpmn:definitions yields one error at the root's line."""
    tree = parse_xml(b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    errors = check_bpmn_structure(tree)
    assert len(errors) == 1
    assert "bpmn:definitions" in errors[0]["message"] and errors[0]["line"] == 1


def test_file_without_process_is_reported():
    """Definitions without any bpmn:process are reported."""
    errors = check_bpmn_structure(parse_xml(bpmn_document("")))
    assert [error["message"] for error in errors] == ["The file contains no bpmn:process."]


def test_flow_to_missing_target_reports_line_and_element_id():
    """A sequence flow whose targetRef points at nothing is reported with its line and id."""
    errors = check_bpmn_structure(parse_fixture("missing_target.bpmn"))
    assert errors == [{
        "message": "Sequence flow 'Flow_Dangling' targetRef 'Task_Deleted' points at no element.",
        "line": line_of("missing_target.bpmn", 'id="Flow_Dangling"'),
        "element_id": "Flow_Dangling",
    }]


def test_flow_into_another_process_is_reported():
    """A sequence flow reaching into a sub-process's contents is reported."""
    body = (
        '<bpmn:process id="P"><bpmn:startEvent id="S"/>'
        '<bpmn:subProcess id="Sub"><bpmn:task id="Inner"/></bpmn:subProcess>'
        '<bpmn:sequenceFlow id="F" sourceRef="S" targetRef="Inner"/></bpmn:process>'
    )
    errors = check_bpmn_structure(parse_xml(bpmn_document(body)))
    assert [error["element_id"] for error in errors] == ["F"]
    assert "outside its process" in errors[0]["message"]


def test_unconnected_flow_node_is_not_an_error():
    """A task with no incoming and no outgoing flow is not reported."""
    errors = check_bpmn_structure(parse_fixture("missing_target.bpmn"))
    assert "Task_Orphan" not in {error["element_id"] for error in errors}


def test_duplicate_ids_are_reported_at_the_second_use():
    """A repeated id is reported at its second element, naming the first line."""
    errors = check_bpmn_structure(parse_fixture("duplicate_ids.bpmn"))
    first = line_of("duplicate_ids.bpmn", 'name="First copy"')
    second = line_of("duplicate_ids.bpmn", 'name="Pasted copy"')
    assert errors == [{
        "message": f"Duplicate id 'Task_Copy' (first used on line {first}).",
        "line": second,
        "element_id": "Task_Copy",
    }]


# --- processes -------------------------------------------------------------

def test_process_missing_is_executable_with_start_event_is_executable():
    """A lone process without isExecutable but with a start event counts as executable."""
    processes = executable_processes(parse_fixture("no_executable_flag.bpmn"))
    assert [(process.id, process.name, process.is_executable) for process in processes] == [
        ("sid-process-onboarding", "Onboarding", True)
    ]
    assert processes[0].line == line_of("no_executable_flag.bpmn", "<process ")


def test_lone_process_without_start_event_is_not_executable():
    """A lone process without isExecutable and without a start event is not executable."""
    tree = parse_xml(bpmn_document('<bpmn:process id="P"><bpmn:task id="T"/></bpmn:process>'))
    assert executable_processes(tree) == []


def test_explicit_flags_decide_when_several_processes_exist():
    """With several processes only those marked isExecutable="true" are executable."""
    body = (
        '<bpmn:process id="Main" isExecutable="true"><bpmn:startEvent id="S1"/></bpmn:process>'
        '<bpmn:process id="Partner"><bpmn:startEvent id="S2"/></bpmn:process>'
    )
    tree = parse_xml(bpmn_document(body))
    assert [process.id for process in executable_processes(tree)] == ["Main"]
    assert [(p.id, p.is_executable) for p in all_processes(tree)] == [("Main", True), ("Partner", False)]


# --- elements, lanes, lines ------------------------------------------------

def test_nested_lanes_resolve_to_the_innermost_lane():
    """Elements listed in a lane and its child lane get the child lane's name."""
    info = element_info(parse_fixture("lanes_nested.bpmn"), "Process_Purchase")
    assert info["Start_Order"].lane == "Sales clerk"
    assert info["Task_Enter"].lane == "Sales clerk"
    assert info["Task_Approve"].lane == "Sales manager"
    assert info["SubProcess_Pay"].lane == "Finance"


def test_sub_process_contents_take_the_sub_process_lane():
    """Elements inside a sub-process are listed, with the lane of their sub-process."""
    info = element_info(parse_fixture("lanes_nested.bpmn"), "Process_Purchase")
    assert info["Task_Transfer"].tag == "userTask"
    assert info["Task_Transfer"].lane == "Finance"


def test_element_outside_every_lane_has_no_lane():
    """An element no lane references has lane None."""
    info = element_info(parse_fixture("lanes_nested.bpmn"), "Process_Purchase")
    assert info["End_Order"].lane is None


def test_element_info_describes_tag_name_line_and_documentation():
    """Element info carries the local tag, name, source line and stripped documentation."""
    info = element_info(parse_fixture("simple_process.bpmn"), "Process_Leave")
    review = info["Task_Review"]
    assert (review.tag, review.name, review.lane) == ("userTask", "Review request", None)
    assert review.line == line_of("simple_process.bpmn", 'id="Task_Review"')
    assert review.documentation == "Check the dates against the team calendar."
    assert info["Gateway_Approved"].documentation is None
    assert info["Flow_Yes"].tag == "sequenceFlow"


def test_element_info_of_unknown_process_is_refused():
    """Asking for a process id the file lacks raises DefinitionInvalidError."""
    with pytest.raises(DefinitionInvalidError, match="Process_Nope"):
        element_info(parse_fixture("simple_process.bpmn"), "Process_Nope")


def test_find_line_locates_elements_by_id():
    """find_line returns the source line of an id, and None for an unknown id."""
    tree = parse_fixture("simple_process.bpmn")
    assert find_line(tree, "Flow_No") == line_of("simple_process.bpmn", 'id="Flow_No"')
    assert find_line(tree, "No'Such\"Id") is None
