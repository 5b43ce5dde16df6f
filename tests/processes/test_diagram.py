"""Tests of processes.diagram: SVG/PNG pictures of a process laid out by Graphviz.

The fixtures' DI drawings are removed first, so the Graphviz layout is what is tested (pictures
drawn from DI are tested in test_diagram_di.py).
"""

import shutil
from pathlib import Path

import pytest
from lxml import etree

from engine.exceptions import EngineError
from processes.bpmn_xml import parse_xml
from processes.diagram import DiagramUnavailableError, render_png, render_svg

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "xml"
SVG = "{http://www.w3.org/2000/svg}"

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")

LEAVE_TASKS = {"Task_Review": "Review request", "Task_Record": "Record leave"}


def parse_fixture(name: str):
    """The fixture without its DI drawing, so that Graphviz lays it out."""
    tree = parse_xml((FIXTURES / name).read_bytes())
    for drawing in tree.getroot().findall("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNDiagram"):
        tree.getroot().remove(drawing)
    return tree


def svg_tree(fixture: str, process_id: str, highlight=None) -> etree._Element:
    """Render the fixture's process and parse the SVG (its DOCTYPE is Graphviz's own)."""
    svg = render_svg(parse_fixture(fixture), process_id, highlight)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(svg, parser)


def group(svg: etree._Element, element_id: str) -> etree._Element:
    matches = svg.findall(f".//{SVG}g[@id='{element_id}']")
    assert len(matches) == 1, f"expected one <g id={element_id!r}>, found {len(matches)}"
    return matches[0]


def texts(svg_group: etree._Element) -> list[str]:
    return [text.text for text in svg_group.iter(f"{SVG}text")]


@needs_dot
def test_svg_parses_as_xml():
    """The rendered SVG is well-formed XML with an <svg> root."""
    svg = svg_tree("simple_process.bpmn", "Process_Leave")
    assert svg.tag == f"{SVG}svg"


@needs_dot
def test_every_flow_node_and_flow_has_a_group_with_its_element_id():
    """Each task, event, gateway and sequence flow is an SVG <g> whose id is the BPMN id."""
    svg = svg_tree("simple_process.bpmn", "Process_Leave")
    ids = [*LEAVE_TASKS, "Start_Request", "Gateway_Approved", "End_Done", "Flow_Yes", "Flow_No"]
    for element_id in ids:
        group(svg, element_id)


@needs_dot
def test_flow_node_groups_carry_their_bpmn_type_as_class():
    """Graphviz adds the BPMN type to the node's class, as the drawn pictures have it."""
    svg = svg_tree("simple_process.bpmn", "Process_Leave")
    assert group(svg, "Task_Review").get("class") == "node userTask"
    assert group(svg, "Gateway_Approved").get("class") == "node exclusiveGateway"


@needs_dot
def test_task_labels_are_the_task_names():
    """The text drawn in a task's group is the task's name."""
    svg = svg_tree("simple_process.bpmn", "Process_Leave")
    for task_id, name in LEAVE_TASKS.items():
        assert texts(group(svg, task_id)) == [name]


@needs_dot
def test_flow_names_label_their_edges():
    """A named sequence flow shows its name on the edge."""
    svg = svg_tree("simple_process.bpmn", "Process_Leave")
    assert texts(group(svg, "Flow_Yes")) == ["Yes"]


@needs_dot
def test_highlight_fills_the_element():
    """A highlighted element is filled with the requested colour."""
    svg = svg_tree("simple_process.bpmn", "Process_Leave", {"Task_Review": "#ffcc00"})
    fills = {shape.get("fill") for shape in group(svg, "Task_Review").iter(f"{SVG}path")}
    assert fills == {"#ffcc00"}


@needs_dot
def test_script_in_a_name_is_escaped():
    """A name containing <script> is shown as text; the SVG has no <script> element."""
    svg_bytes = render_svg(parse_fixture("unsafe_names.bpmn"), "Process_Cuti")
    svg = etree.fromstring(svg_bytes, etree.XMLParser(resolve_entities=False, no_network=True))
    assert b"<script" not in svg_bytes
    assert not [element for element in svg.iter(tag=etree.Element) if etree.QName(element).localname == "script"]
    assert texts(group(svg, "Task_Script")) == ["<script>alert(1)</script>"]


@needs_dot
def test_quotes_backslashes_and_indonesian_text_render_literally():
    """Quotes, '&', '\\N' and non-ASCII characters in names are drawn exactly as written."""
    svg = svg_tree("unsafe_names.bpmn", "Process_Cuti")
    assert texts(group(svg, "Start_Cuti")) == ['Pengajuan "cuti" diterima']
    assert texts(group(svg, "Task_Tinjau")) == ["Tinjau permohonan – atasan & HRD ≥ Rp 5.000 \\N"]
    assert texts(group(svg, "Flow_2")) == ["<b>lanjut</b>"]


@needs_dot
def test_sub_process_contents_are_clustered():
    """An expanded sub-process is a cluster with its id and name, its tasks drawn as nodes."""
    svg = svg_tree("unsafe_names.bpmn", "Process_Cuti")
    cluster = group(svg, "SubProcess_Arsip")
    assert cluster.get("class") == "cluster"
    assert texts(cluster) == ["Arsipkan <dokumen>"]
    assert texts(group(svg, "Task_Simpan")) == ['Simpan ke "arsip"']


@needs_dot
def test_png_is_rendered():
    """render_png returns PNG bytes."""
    png = render_png(parse_fixture("simple_process.bpmn"), "Process_Leave", {"Task_Review": "gold"})
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_missing_dot_raises_diagram_unavailable(monkeypatch, tmp_path):
    """Without the dot executable, rendering raises DiagramUnavailableError telling to install graphviz."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DiagramUnavailableError, match="install graphviz") as caught:
        render_svg(parse_fixture("simple_process.bpmn"), "Process_Leave")
    assert isinstance(caught.value, EngineError)
