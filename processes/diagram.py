"""Pictures of a BPMN process: as the designer drew it, else laid out by Graphviz.

When the file holds a complete drawing of the process (BPMN DI), ``render_svg``
draws it at the designer's positions (``processes.diagram_di``) and ``render_png``
converts that SVG with ``rsvg-convert`` (Debian package librsvg2-bin).

Otherwise Graphviz lays the process out left to right: events are small circles
and gateways small diamonds (their names written beside them), activities
rounded boxes, sequence flows arrows, and expanded sub-processes clusters around
their contents, so files without diagram information render too.

In both pictures every element is an SVG ``<g id="...">`` named by its BPMN
element id (and, in ``class``, its BPMN type), so later overlays (current task,
history) can find it. ``highlight`` fills chosen elements with a colour.

All text taken from the file goes through ``graphviz.escape`` (or lxml, for
drawn pictures): quotes, angle brackets and backslashes are shown literally,
never interpreted.

Plain Python + lxml + graphviz (+ rsvg-convert for drawn PNGs): no Django, no SpiffWorkflow.
"""

from __future__ import annotations

import shutil
import subprocess

import graphviz
from lxml import etree

from engine.exceptions import EngineError
from processes.bpmn_xml import (
    CONTAINER_TAGS,
    FLOW_NODE_TAGS,
    bpmn,
    child_elements,
    local_name,
    process_element,
)
from processes.diagram_di import di_svg

FONT = "Helvetica"

# Events and gateways are drawn as small symbols of a fixed size.
_SYMBOL = {"fixedsize": "true", "width": "0.4", "height": "0.4"}


SVG_TO_PNG = "rsvg-convert"
SVG_TO_PNG_SECONDS = 30


class DiagramUnavailableError(EngineError):
    """The program that draws the diagram (Graphviz's ``dot``, or ``rsvg-convert`` for PNG) is not installed."""


def render_svg(tree, process_id: str, highlight: dict[str, str] | None = None) -> bytes:
    """SVG picture of the process; ``highlight`` maps element id -> fill colour."""
    drawn = di_svg(tree, process_id, highlight or {})
    return drawn if drawn is not None else _render(tree, process_id, highlight, "svg")


def render_png(tree, process_id: str, highlight: dict[str, str] | None = None) -> bytes:
    """PNG picture of the process; same arguments as ``render_svg``."""
    drawn = di_svg(tree, process_id, highlight or {})
    return svg_to_png(drawn) if drawn is not None else _render(tree, process_id, highlight, "png")


def svg_to_png(svg: bytes) -> bytes:
    """The SVG rasterised by ``rsvg-convert`` (librsvg: no scripts, no network)."""
    program = shutil.which(SVG_TO_PNG)
    if program is None:
        raise DiagramUnavailableError(
            "Cannot draw the PNG diagram: 'rsvg-convert' is not installed. "
            "Install librsvg2-bin (for example 'apt-get install librsvg2-bin')."
        )
    try:
        finished = subprocess.run(  # noqa: S603 - fixed program, the SVG goes through stdin
            [program, "--format=png"], input=svg, capture_output=True, timeout=SVG_TO_PNG_SECONDS, check=True
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as problem:
        raise DiagramUnavailableError(f"rsvg-convert could not draw the diagram: {problem}") from None
    return finished.stdout


def _render(tree, process_id: str, highlight: dict[str, str] | None, image_format: str) -> bytes:
    graph = build_graph(tree, process_id, highlight or {})
    try:
        return graph.pipe(format=image_format, quiet=True)
    except graphviz.ExecutableNotFound as exc:
        raise DiagramUnavailableError(
            "Cannot draw the diagram: Graphviz's 'dot' program is not installed. "
            "Install graphviz (for example 'apt-get install graphviz')."
        ) from exc


def build_graph(tree, process_id: str, highlight: dict[str, str]) -> graphviz.Digraph:
    """The Graphviz graph of the process, ready to be rendered."""
    process = process_element(tree, process_id)
    graph = graphviz.Digraph(
        name=graphviz.escape(process_id),
        engine="dot",
        graph_attr={"rankdir": "LR", "compound": "true", "forcelabels": "true", "fontname": FONT},
        node_attr={"fontname": FONT, "fontsize": "11"},
        edge_attr={"fontname": FONT, "fontsize": "10"},
    )
    clusters: dict[str, tuple[str, str]] = {}
    nodes = _draw_container(graph, process, highlight, clusters)
    drawn = set(nodes) | set(clusters)
    _draw_sequence_flows(graph, process, highlight, clusters, drawn)
    _draw_boundary_attachments(graph, process, clusters, drawn)
    return graph


# --------------------------------------------------------------------------
# Nodes and clusters
# --------------------------------------------------------------------------

def _node_name(element_id: str) -> str:
    # A ':' would be read as a port in edge statements; valid BPMN ids have none.
    return graphviz.escape(element_id.replace(":", "_"))


def _cluster_name(element_id: str) -> str:
    return _node_name(f"cluster_{element_id}")


def _label(element: etree._Element) -> str:
    return graphviz.escape(element.get("name") or element.get("id"))


def _is_cluster(element: etree._Element) -> bool:
    """An expanded sub-process: a container that holds flow nodes of its own."""
    return local_name(element) in CONTAINER_TAGS and bool(child_elements(element, FLOW_NODE_TAGS))


def _shape(tag: str) -> dict[str, str]:
    """Graphviz shape of a flow node; small symbols get their text beside them."""
    if tag.endswith("Gateway"):
        return {"shape": "diamond", **_SYMBOL, "width": "0.55", "height": "0.55"}
    if tag == "endEvent":
        return {"shape": "circle", **_SYMBOL, "penwidth": "3"}
    if tag == "startEvent":
        return {"shape": "circle", **_SYMBOL}
    if tag.endswith("Event"):
        return {"shape": "doublecircle", **_SYMBOL}
    return {"shape": "box", "style": "rounded"}


def _fill(attributes: dict[str, str], colour: str | None) -> dict[str, str]:
    if colour:
        styles = [style for style in (attributes.get("style"), "filled") if style]
        attributes = {**attributes, "style": ",".join(styles), "fillcolor": graphviz.escape(colour)}
    return attributes


def _node_attributes(element: etree._Element, highlight: dict[str, str]) -> dict[str, str]:
    element_id = element.get("id")
    shape = _shape(local_name(element))
    text_place = "xlabel" if shape.get("fixedsize") else "label"
    attributes = {"id": graphviz.escape(element_id), "class": local_name(element), "label": "",
                  text_place: _label(element), **shape}
    return _fill(attributes, highlight.get(element_id))


def _draw_container(graph, container, highlight, clusters) -> list[str]:
    """Draw the flow nodes of a process or sub-process; return the plain node ids drawn."""
    nodes = []
    for element in child_elements(container, FLOW_NODE_TAGS):
        if _is_cluster(element):
            nodes.extend(_draw_cluster(graph, element, highlight, clusters))
        else:
            graph.node(_node_name(element.get("id")), **_node_attributes(element, highlight))
            nodes.append(element.get("id"))
    return nodes


def _first_of(container: etree._Element, tag: str, default: str) -> str:
    found = child_elements(container, frozenset({tag}))
    return found[0].get("id") if found else default


def _draw_cluster(graph, subprocess, highlight, clusters) -> list[str]:
    """Draw an expanded sub-process as a cluster and remember its entry and exit nodes."""
    element_id = subprocess.get("id")
    with graph.subgraph(name=_cluster_name(element_id)) as cluster:
        attributes = {"id": graphviz.escape(element_id), "label": _label(subprocess),
                      "style": "rounded", "labeljust": "l"}
        cluster.attr(**_fill(attributes, highlight.get(element_id)))
        nodes = _draw_container(cluster, subprocess, highlight, clusters)
    entry = _first_of(subprocess, "startEvent", nodes[0])
    exit_ = _first_of(subprocess, "endEvent", nodes[-1])
    clusters[element_id] = (entry, exit_)
    return nodes


# --------------------------------------------------------------------------
# Edges
# --------------------------------------------------------------------------

def _endpoint(element_id: str, clusters, is_tail: bool) -> tuple[str, dict[str, str]]:
    """Node to attach an edge to; edges to a cluster attach to its entry or exit node."""
    if element_id not in clusters:
        return _node_name(element_id), {}
    entry, exit_ = clusters[element_id]
    clip = "ltail" if is_tail else "lhead"
    return _node_name(exit_ if is_tail else entry), {clip: _cluster_name(element_id)}


def _edge(graph, source: str, target: str, clusters, attributes: dict[str, str]) -> None:
    tail, tail_clip = _endpoint(source, clusters, is_tail=True)
    head, head_clip = _endpoint(target, clusters, is_tail=False)
    graph.edge(tail, head, **attributes, **tail_clip, **head_clip)


def _flow_attributes(flow: etree._Element, highlight: dict[str, str]) -> dict[str, str]:
    flow_id = flow.get("id") or ""
    attributes = {"id": graphviz.escape(flow_id)} if flow_id else {}
    if flow.get("name"):
        attributes["label"] = graphviz.escape(flow.get("name"))
    if flow_id in highlight:
        attributes.update(color=graphviz.escape(highlight[flow_id]), penwidth="2")
    return attributes


def _draw_sequence_flows(graph, process, highlight, clusters, drawn: set[str]) -> None:
    for flow in process.iter(bpmn("sequenceFlow")):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in drawn and target in drawn:
            _edge(graph, source, target, clusters, _flow_attributes(flow, highlight))


def _draw_boundary_attachments(graph, process, clusters, drawn: set[str]) -> None:
    """Tie each boundary event to its activity with a dashed line so they stay close."""
    for event in process.iter(bpmn("boundaryEvent")):
        host, event_id = event.get("attachedToRef"), event.get("id")
        if host in drawn and event_id in drawn:
            _edge(graph, host, event_id, clusters, {"style": "dashed", "arrowhead": "none"})
