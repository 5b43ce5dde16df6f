"""Tests of processes.diagram_di: the SVG drawn at the designer's positions (BPMN DI), and the fallback."""

import shutil
from pathlib import Path

import pytest
from lxml import etree

from processes.bpmn_xml import parse_xml
from processes.diagram import DiagramUnavailableError, render_png, render_svg
from processes.diagram_di import di_svg
from tests.conftest import fixture_bytes, library_bytes

SVG = "{http://www.w3.org/2000/svg}"
COLLABORATION = "diagram_di/collaboration.bpmn"
FIXTURES_XML = Path(__file__).resolve().parent.parent / "fixtures" / "xml"

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
needs_rsvg = pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="rsvg-convert is not installed")


def drawn(fixture=COLLABORATION, process_id="intake", highlight=None):
    svg = render_svg(parse_xml(fixture_bytes(fixture)), process_id, highlight)
    return svg, etree.fromstring(svg, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))


def group(svg, element_id):
    [found] = svg.findall(f".//{SVG}g[@id='{element_id}']")
    return found


def texts(svg_group):
    return [text.text for text in svg_group.iter(f"{SVG}text")]


def test_every_drawn_element_is_a_group_with_its_id_and_bpmn_type():
    """Pool, lanes, events, tasks, sub-process, data object and flows are <g id> with the BPMN type as class."""
    _bytes, svg = drawn()
    expected = {
        "pool_intake": "participant", "lane_front": "lane", "lane_archive": "lane", "receive": "startEvent",
        "check": "userTask", "late": "boundaryEvent", "archive": "subProcess", "store": "task",
        "archive_start": "startEvent", "archive_end": "endEvent", "done": "endEvent",
        "file_ref": "dataObjectReference", "to_check": "sequenceFlow", "to_archive": "sequenceFlow",
    }
    for element_id, bpmn_type in expected.items():
        assert group(svg, element_id).get("class") == bpmn_type


def test_bpmn_js_export_is_drawn_from_its_di():
    """A bpmn.io export is drawn at its positions; the highlighted task's box takes the colour."""
    tree = parse_xml((FIXTURES_XML / "simple_process.bpmn").read_bytes())
    svg = etree.fromstring(render_svg(tree, "Process_Leave", {"Task_Review": "#ffcc00"}))
    box = group(svg, "Task_Review").find(f"{SVG}rect")
    assert (box.get("x"), box.get("y"), box.get("fill")) == ("240", "80", "#ffcc00")
    assert texts(group(svg, "Task_Review")) == ["Review request"]
    assert group(svg, "Gateway_Approved").get("class") == "exclusiveGateway"


def test_shapes_sit_at_the_designers_positions():
    """A task's box and an event's circle are where the DI bounds put them."""
    _bytes, svg = drawn()
    box = group(svg, "check").find(f"{SVG}rect")
    assert [box.get(name) for name in ("x", "y", "width", "height")] == ["270", "230", "100", "80"]
    circle = group(svg, "receive").find(f"{SVG}circle")
    assert (circle.get("cx"), circle.get("cy"), circle.get("r")) == ("200", "270", "18")


def test_flows_follow_their_waypoints_and_end_in_an_arrow():
    """A sequence flow is a polyline through its waypoints with an arrowhead."""
    _bytes, svg = drawn()
    line = group(svg, "to_archive").find(f"{SVG}polyline")
    assert line.get("points") == "370,270 400,270 400,430 430,430"
    assert line.get("marker-end") == "url(#arrow)"


def test_only_the_chosen_process_pool_is_drawn():
    """Another pool of the collaboration, its elements and message flows are left out."""
    _bytes, svg = drawn()
    ids = {node.get("id") for node in svg.iter(f"{SVG}g")}
    assert not ids & {"pool_applicant", "applicant_start", "applicant_flow", "message_submit"}
    _bytes, other = drawn(process_id="applicant_side")
    other_ids = {node.get("id") for node in other.iter(f"{SVG}g")}
    assert other_ids == {"pool_applicant", "applicant_start", "applicant_end", "applicant_flow"}


def test_highlight_fills_the_chosen_element_only():
    """The highlighted task is filled with the colour; a highlighted flow's line takes it; others stay plain."""
    _bytes, svg = drawn(highlight={"check": "#ffcc00", "to_archive": "#dd3333"})
    assert group(svg, "check").find(f"{SVG}rect").get("fill") == "#ffcc00"
    assert group(svg, "store").find(f"{SVG}rect").get("fill") == "#ffffff"
    assert group(svg, "to_archive").find(f"{SVG}polyline").get("stroke") == "#dd3333"
    assert group(svg, "to_check").find(f"{SVG}polyline").get("stroke") != "#dd3333"


def test_hostile_names_are_text_never_markup():
    """<script> in a name, quotes and '&' are shown literally; the SVG holds no script element."""
    svg_bytes, svg = drawn()
    assert b"<script" not in svg_bytes
    assert not [node for node in svg.iter(tag=etree.Element) if etree.QName(node).localname == "script"]
    assert "".join(texts(group(svg, "check"))) == "<script>alert(1)</script>"
    assert " ".join(texts(group(svg, "receive"))) == 'Berkas "masuk" & dicatat'
    assert texts(group(svg, "to_check")) == ["<b>lanjut</b>"]
    assert texts(group(svg, "pool_intake")) == ["Dinas <Perizinan>"]


def test_long_task_names_wrap_inside_the_box():
    """A long name is split into lines that each fit the task's width."""
    _bytes, svg = drawn()
    lines = texts(group(svg, "store"))
    assert len(lines) > 1 and " ".join(lines) == "Store the approved permit documents in the archive"
    assert all(len(line) * 6.2 <= 100 for line in lines)


def test_label_box_places_an_event_name():
    """An event name goes in the label box the designer drew."""
    _bytes, svg = drawn()
    first = group(svg, "receive").find(f"{SVG}text")
    assert first.get("x") == "200" and 295 < float(first.get("y")) < 322


@needs_dot
def test_incomplete_drawing_falls_back_to_graphviz():
    """A drawing missing a flow node's shape is not used: the Graphviz layout is, with the same ids."""
    assert di_svg(parse_xml(fixture_bytes("diagram_di/incomplete.bpmn")), "intake", {}) is None
    svg_bytes, svg = drawn("diagram_di/incomplete.bpmn")
    assert b"Generated by graphviz" in svg_bytes
    group(svg, "check")


@needs_dot
def test_bundled_permit_process_without_di_renders_with_graphviz():
    """The bundled permit process has no drawing: Graphviz lays it out, every task has its group."""
    tree = parse_xml(library_bytes("permit_application/permit_application.bpmn"))
    assert di_svg(tree, "permit_application", {}) is None
    svg = etree.fromstring(render_svg(tree, "permit_application", {"legal_review": "gold"}),
                           etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    task_ids = {node.get("id") for node in tree.getroot().iter("{*}userTask")}
    assert task_ids and task_ids <= {node.get("id") for node in svg.iter(f"{SVG}g")}


@needs_rsvg
def test_png_of_a_drawing_is_converted_from_the_svg():
    """render_png of a DI drawing gives PNG bytes (rsvg-convert)."""
    png = render_png(parse_xml(fixture_bytes(COLLABORATION)), "intake", {"check": "gold"})
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_png_without_rsvg_convert_raises_diagram_unavailable(monkeypatch, tmp_path):
    """Without rsvg-convert, the PNG of a drawing raises DiagramUnavailableError naming the package."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DiagramUnavailableError, match="librsvg2-bin"):
        render_png(parse_xml(fixture_bytes(COLLABORATION)), "intake")


def test_non_interrupting_timer_is_a_dashed_double_circle_with_a_clock():
    """The boundary timer shows as a dashed double circle with a clock inside."""
    _bytes, svg = drawn()
    circles = group(svg, "late").findall(f"{SVG}circle")
    assert len(circles) == 3 and circles[0].get("stroke-dasharray") and circles[1].get("stroke-dasharray")
    assert group(svg, "late").find(f"{SVG}polyline") is not None  # the clock's hands
