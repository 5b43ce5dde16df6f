"""Pictures of a process at the positions its designer drew: SVG from the file's BPMN DI.

Modeling tools store the drawing next to the model (``bpmndi:BPMNDiagram``: a ``dc:Bounds`` box per
shape, ``di:waypoint`` points per edge, optional label boxes). ``di_svg`` draws one process from it:

- the process's own pool (the ``participant`` whose ``processRef`` is the process) and its lanes;
  other pools of a collaboration and message flows between pools are left out, so every picture
  shows one process, the same as the Graphviz layout;
- events as circles (end events thick, intermediate and boundary events doubled, non-interrupting
  ones dashed), gateways as diamonds with their marker, activities as rounded boxes (call
  activities thick, collapsed sub-processes with a ``+``, event sub-processes dashed), data objects,
  data stores and text annotations;
- sequence flows as lines through their waypoints with an arrowhead, associations dashed;
- names inside tasks (wrapped to the box), under events and gateways, or in the label box the
  designer placed.

Every element is an SVG ``<g id="<element id>" class="<BPMN type>">``, as in the Graphviz picture
(``processes.diagram``), so overlays find it; ``highlight`` fills the element's shape (a flow's line
is coloured). The SVG is built with lxml, so text from the file is always escaped, never markup.

``di_svg`` returns None when the file has no drawing of the process, or one that misses a flow node:
the caller then falls back to the Graphviz layout. Plain Python + lxml only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lxml import etree

from .bpmn_xml import (
    BPMNDI_NS,
    CONTAINER_TAGS,
    DC_NS,
    DI_NS,
    FLOW_NODE_TAGS,
    bpmn,
    child_elements,
    local_name,
    process_element,
)

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "Helvetica, Arial, sans-serif"
FONT_SIZE = 11
LINE_HEIGHT = 13
CHAR_WIDTH = 6.2  # average width of a character at FONT_SIZE, for wrapping
MARGIN = 20
STROKE = "#22242a"
DEFAULT_FILL = "#ffffff"

_EVENT_TAGS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
                         "boundaryEvent", "implicitThrowEvent"})
_DATA_TAGS = frozenset({"dataObjectReference", "dataObject", "dataStoreReference", "dataInput", "dataOutput"})
_EDGE_DASHES = {"association": "4 3", "dataInputAssociation": "2 3", "dataOutputAssociation": "2 3"}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self):
        return self.x + self.width / 2, self.y + self.height / 2


def _di(name):
    return f"{{{BPMNDI_NS}}}{name}"


def _svg(name):
    return f"{{{SVG_NS}}}{name}"


def _number(value):
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _box(node):
    """The dc:Bounds box directly under a DI shape or label, or None."""
    bounds = node.find(f"{{{DC_NS}}}Bounds") if node is not None else None
    if bounds is None:
        return None
    try:
        values = [float(bounds.get(name)) for name in ("x", "y", "width", "height")]
    except (TypeError, ValueError):
        return None
    return Box(*values) if all(math.isfinite(value) for value in values) else None


def _waypoints(edge):
    points = []
    for point in edge.iterchildren(f"{{{DI_NS}}}waypoint"):
        try:
            points.append((float(point.get("x")), float(point.get("y"))))
        except (TypeError, ValueError):
            return []
    return points if all(math.isfinite(value) for point in points for value in point) else []


# --------------------------------------------------------------------------
# Finding the drawing
# --------------------------------------------------------------------------

@dataclass
class _Drawing:
    process: etree._Element
    elements: dict  # element id -> BPMN element (process contents and its participant)
    shapes: dict  # element id -> (DI shape, Box)
    edges: dict  # element id -> (DI edge, waypoints)


def _plane_for(root, process_id):
    participants = [item for item in root.iter(bpmn("participant")) if item.get("processRef") == process_id]
    owners = {process_id} | {item.getparent().get("id") for item in participants}
    for plane in root.iter(_di("BPMNPlane")):
        if plane.get("bpmnElement") in owners:
            return plane, participants
    return None, participants


def _required_nodes(container, shapes):
    """Flow nodes that must have a shape: the process's, and those of sub-processes drawn expanded here."""
    nodes = child_elements(container, FLOW_NODE_TAGS)
    required = list(nodes)
    for node in nodes:
        children = child_elements(node, FLOW_NODE_TAGS) if local_name(node) in CONTAINER_TAGS else []
        if any(child.get("id") in shapes for child in children):
            required.extend(_required_nodes(node, shapes))
    return required


def _drawing(tree, process, process_id):
    root = tree.getroot()
    plane, participants = _plane_for(root, process_id)
    if plane is None:
        return None
    elements = {node.get("id"): node for node in process.iter(tag=etree.Element) if node.get("id")}
    elements.update({item.get("id"): item for item in participants if item.get("id")})
    shapes, edges = {}, {}
    for shape in plane.iter(_di("BPMNShape")):
        box = _box(shape)
        if shape.get("bpmnElement") in elements and box is not None:
            shapes.setdefault(shape.get("bpmnElement"), (shape, box))
    for edge in plane.iter(_di("BPMNEdge")):
        points = _waypoints(edge)
        if edge.get("bpmnElement") in elements and len(points) >= 2:
            edges.setdefault(edge.get("bpmnElement"), (edge, points))
    if not shapes or any(node.get("id") not in shapes for node in _required_nodes(process, shapes)):
        return None
    return _Drawing(process, elements, shapes, edges)


# --------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------

def _wrap(text, width):
    """Lines of ``text`` that fit ``width`` pixels (words longer than a line are cut)."""
    per_line = max(int(width / CHAR_WIDTH), 1)
    lines = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in paragraph.split():
            while len(word) > per_line:
                if current:
                    lines.append(current)
                    current = ""
                lines.append(word[:per_line])
                word = word[per_line:]
            candidate = f"{current} {word}".strip()
            if len(candidate) <= per_line:
                current = candidate
            else:
                lines.append(current)
                current = word
        if current:
            lines.append(current)
    return lines


def _text_lines(group, lines, centre_x, top, anchor="middle"):
    for number, line in enumerate(lines):
        text = etree.SubElement(group, _svg("text"), {
            "x": _number(centre_x), "y": _number(top + (number + 1) * LINE_HEIGHT - 3),
            "text-anchor": anchor, "font-family": FONT, "font-size": str(FONT_SIZE), "fill": STROKE,
        })
        text.text = line


def _label_box(di_node):
    label = di_node.find(_di("BPMNLabel"))
    return _box(label)


def _label_in(group, name, box):
    """The name wrapped inside ``box``, centred both ways."""
    lines = _wrap(name, box.width - 8)
    top = box.y + (box.height - len(lines) * LINE_HEIGHT) / 2
    _text_lines(group, lines, box.centre[0], top)


def _label_under(group, name, di_node, box):
    """The name of an event or gateway: in its label box, else centred under the shape."""
    placed = _label_box(di_node)
    if placed is not None and placed.width > 0:
        lines = _wrap(name, max(placed.width, 90))
        _text_lines(group, lines, placed.centre[0], placed.y)
    else:
        lines = _wrap(name, 100)
        _text_lines(group, lines, box.centre[0], box.y + box.height + 2)


# --------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------

def _shape_style(fill, stroke_width=1.5, dashed=False):
    style = {"fill": fill or DEFAULT_FILL, "stroke": STROKE, "stroke-width": _number(stroke_width)}
    if dashed:
        style["stroke-dasharray"] = "5 3"
    return style


def _line(group, points, width=1.5):
    etree.SubElement(group, _svg("polyline"), {
        "points": " ".join(f"{_number(x)},{_number(y)}" for x, y in points),
        "fill": "none", "stroke": STROKE, "stroke-width": _number(width)})


def _draw_event(group, element, box, fill):
    tag = local_name(element)
    centre_x, centre_y = box.centre
    radius = min(box.width, box.height) / 2
    dashed = (tag == "boundaryEvent" and element.get("cancelActivity") == "false") or (
        tag == "startEvent" and element.get("isInterrupting") == "false")
    width = 4 if tag == "endEvent" else 1.5
    circle = {"cx": _number(centre_x), "cy": _number(centre_y), "r": _number(radius)}
    etree.SubElement(group, _svg("circle"), {**circle, **_shape_style(fill, width, dashed)})
    if tag in {"intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}:
        inner = {**circle, "r": _number(max(radius - 3, 1))}
        etree.SubElement(group, _svg("circle"), {**inner, "fill": "none", "stroke": STROKE, "stroke-width": "1",
                                                  **({"stroke-dasharray": "5 3"} if dashed else {})})
    _draw_event_marker(group, element, centre_x, centre_y, radius)


def _draw_event_marker(group, element, centre_x, centre_y, radius):
    """A small sign of the event's trigger: clock (timer), envelope (message), triangle (signal), dot (terminate)."""
    size = radius * 0.5
    filled = local_name(element) in {"endEvent", "intermediateThrowEvent"}
    paint = {"fill": STROKE if filled else "none", "stroke": STROKE, "stroke-width": "1"}
    if element.find(bpmn("timerEventDefinition")) is not None:
        etree.SubElement(group, _svg("circle"), {"cx": _number(centre_x), "cy": _number(centre_y),
                                                 "r": _number(size * 1.2), "fill": "none", "stroke": STROKE,
                                                 "stroke-width": "1.2"})
        _line(group, [(centre_x, centre_y - size), (centre_x, centre_y), (centre_x + size * 0.7, centre_y)], 1.2)
    elif element.find(bpmn("messageEventDefinition")) is not None:
        left, top = centre_x - size, centre_y - size * 0.7
        etree.SubElement(group, _svg("rect"), {"x": _number(left), "y": _number(top), "width": _number(2 * size),
                                               "height": _number(1.4 * size), **paint})
        _line(group, [(left, top), (centre_x, centre_y), (left + 2 * size, top)], 1)
    elif element.find(bpmn("signalEventDefinition")) is not None:
        corners = [(centre_x, centre_y - size), (centre_x + size, centre_y + size * 0.7),
                   (centre_x - size, centre_y + size * 0.7)]
        points = " ".join(f"{_number(x)},{_number(y)}" for x, y in corners)
        etree.SubElement(group, _svg("polygon"), {"points": points, **paint})
    elif element.find(bpmn("terminateEventDefinition")) is not None:
        etree.SubElement(group, _svg("circle"), {"cx": _number(centre_x), "cy": _number(centre_y),
                                                 "r": _number(size * 1.1), "fill": STROKE})


def _draw_gateway(group, element, box, fill):
    left, top = box.x, box.y
    centre_x, centre_y = box.centre
    right, bottom = left + box.width, top + box.height
    points = f"{_number(centre_x)},{_number(top)} {_number(right)},{_number(centre_y)} " \
             f"{_number(centre_x)},{_number(bottom)} {_number(left)},{_number(centre_y)}"
    etree.SubElement(group, _svg("polygon"), {"points": points, **_shape_style(fill)})
    tag, size = local_name(element), min(box.width, box.height) / 4
    if tag == "exclusiveGateway":
        arm = size * 0.7
        _line(group, [(centre_x - arm, centre_y - arm), (centre_x + arm, centre_y + arm)], 3)
        _line(group, [(centre_x - arm, centre_y + arm), (centre_x + arm, centre_y - arm)], 3)
    elif tag in {"parallelGateway", "complexGateway"}:
        _line(group, [(centre_x, centre_y - size), (centre_x, centre_y + size)], 3)
        _line(group, [(centre_x - size, centre_y), (centre_x + size, centre_y)], 3)
    elif tag in {"inclusiveGateway", "eventBasedGateway"}:
        etree.SubElement(group, _svg("circle"), {"cx": _number(centre_x), "cy": _number(centre_y),
                                                 "r": _number(size), "fill": "none", "stroke": STROKE,
                                                 "stroke-width": "2.5"})


def _draw_activity(group, element, box, fill, expanded):
    tag = local_name(element)
    dashed = tag == "subProcess" and element.get("triggeredByEvent") == "true"
    width = 3 if tag == "callActivity" else 1.5
    rect = {"x": _number(box.x), "y": _number(box.y), "width": _number(box.width), "height": _number(box.height),
            "rx": "10", "ry": "10"}
    etree.SubElement(group, _svg("rect"), {**rect, **_shape_style(fill, width, dashed)})
    if tag == "transaction":
        inner = {"x": _number(box.x + 3), "y": _number(box.y + 3), "width": _number(box.width - 6),
                 "height": _number(box.height - 6), "rx": "8", "ry": "8"}
        etree.SubElement(group, _svg("rect"), {**inner, "fill": "none", "stroke": STROKE, "stroke-width": "1"})
    name = element.get("name") or ""
    if expanded:
        lines = _wrap(name, box.width - 12)
        _text_lines(group, lines, box.x + 8, box.y + 2, anchor="start")
        return
    if tag in CONTAINER_TAGS or (tag == "callActivity"):
        marker_x, marker_y = box.centre[0] - 7, box.y + box.height - 16
        etree.SubElement(group, _svg("rect"), {"x": _number(marker_x), "y": _number(marker_y), "width": "14",
                                               "height": "14", "fill": "none", "stroke": STROKE, "stroke-width": "1"})
        _line(group, [(marker_x + 3, marker_y + 7), (marker_x + 11, marker_y + 7)], 1)
        _line(group, [(marker_x + 7, marker_y + 3), (marker_x + 7, marker_y + 11)], 1)
    if name:
        _label_in(group, name, box)


def _draw_data(group, element, box, fill):
    style = _shape_style(fill, 1.2)
    x, y, width, height = box.x, box.y, box.width, box.height
    if local_name(element) == "dataStoreReference":
        rim = min(height / 6, 8)
        path = (f"M {_number(x)} {_number(y + rim)} a {_number(width / 2)} {_number(rim)} 0 0 0 {_number(width)} 0 "
                f"a {_number(width / 2)} {_number(rim)} 0 0 0 {_number(-width)} 0 v {_number(height - 2 * rim)} "
                f"a {_number(width / 2)} {_number(rim)} 0 0 0 {_number(width)} 0 v {_number(-(height - 2 * rim))}")
    else:
        fold = min(width, height) / 4
        path = (f"M {_number(x)} {_number(y)} h {_number(width - fold)} l {_number(fold)} {_number(fold)} "
                f"v {_number(height - fold)} h {_number(-width)} Z")
    etree.SubElement(group, _svg("path"), {"d": path, **style})


def _draw_annotation(group, element, box):
    path = (f"M {_number(box.x + 10)} {_number(box.y)} h -10 v {_number(box.height)} h 10")
    etree.SubElement(group, _svg("path"), {"d": path, "fill": "none", "stroke": STROKE, "stroke-width": "1"})
    text = "".join("".join(node.itertext()) for node in element.iterchildren(bpmn("text")))
    lines = _wrap(text, box.width - 8)
    _text_lines(group, lines, box.x + 5, box.y + 2, anchor="start")


def _draw_pool_or_lane(group, element, di_shape, box, fill):
    rect = {"x": _number(box.x), "y": _number(box.y), "width": _number(box.width), "height": _number(box.height)}
    etree.SubElement(group, _svg("rect"), {**rect, "fill": fill or "none", "stroke": STROKE, "stroke-width": "1.2"})
    name = element.get("name") or ""
    if not name:
        return
    if di_shape.get("isHorizontal") == "false":
        _line(group, [(box.x, box.y + 30), (box.x + box.width, box.y + 30)], 1.2)
        _text_lines(group, _wrap(name, box.width - 8), box.centre[0], box.y + 6)
        return
    if local_name(element) == "participant":
        _line(group, [(box.x + 30, box.y), (box.x + 30, box.y + box.height)], 1.2)
    label_x, label_y = box.x + 15, box.centre[1]
    text = etree.SubElement(group, _svg("text"), {
        "x": _number(label_x), "y": _number(label_y), "text-anchor": "middle", "dominant-baseline": "middle",
        "transform": f"rotate(-90 {_number(label_x)} {_number(label_y)})",
        "font-family": FONT, "font-size": str(FONT_SIZE), "fill": STROKE,
    })
    text.text = name


# --------------------------------------------------------------------------
# Edges
# --------------------------------------------------------------------------

def _draw_edge(group, element, di_edge, points, colour):
    tag = local_name(element)
    attributes = {"points": " ".join(f"{_number(x)},{_number(y)}" for x, y in points), "fill": "none",
                  "stroke": colour or STROKE, "stroke-width": "2.5" if colour else "1.5",
                  "stroke-linejoin": "round"}
    if tag in _EDGE_DASHES:
        attributes["stroke-dasharray"] = _EDGE_DASHES[tag]
    if tag in {"sequenceFlow", "dataInputAssociation", "dataOutputAssociation"} or (
            tag == "association" and element.get("associationDirection") in {"One", "Both"}):
        attributes["marker-end"] = "url(#arrow)" if tag == "sequenceFlow" else "url(#open-arrow)"
    etree.SubElement(group, _svg("polyline"), attributes)
    if tag == "sequenceFlow" and _is_default_flow(element):
        _default_mark(group, points)
    name = element.get("name")
    if not name:
        return
    placed = _label_box(di_edge)
    if placed is not None and placed.width > 0:
        _text_lines(group, _wrap(name, max(placed.width, 90)), placed.centre[0], placed.y)
        return
    middle = len(points) // 2
    (x1, y1), (x2, y2) = points[middle - 1], points[middle]
    _text_lines(group, _wrap(name, 100), (x1 + x2) / 2, (y1 + y2) / 2 - LINE_HEIGHT - 2)


def _is_default_flow(flow):
    source = flow.getparent().xpath("*[@id = $ref]", ref=flow.get("sourceRef") or "")
    return bool(source) and source[0].get("default") == flow.get("id")


def _default_mark(group, points):
    """The short slash across a default flow, near its source."""
    (x1, y1), (x2, y2) = points[0], points[1]
    length = math.hypot(x2 - x1, y2 - y1)
    if length < 1:
        return
    unit_x, unit_y = (x2 - x1) / length, (y2 - y1) / length
    at_x, at_y = x1 + unit_x * min(12, length / 2), y1 + unit_y * min(12, length / 2)
    normal_x, normal_y = -unit_y, unit_x
    _line(group, [(at_x - 5 * normal_x - 3 * unit_x, at_y - 5 * normal_y - 3 * unit_y),
                  (at_x + 5 * normal_x + 3 * unit_x, at_y + 5 * normal_y + 3 * unit_y)], 1.5)


# --------------------------------------------------------------------------
# The picture
# --------------------------------------------------------------------------

def _layer(element, expanded_ids):
    """Drawing order: pools, lanes, expanded sub-processes (outer first), nodes, boundary events."""
    tag = local_name(element)
    if tag == "participant":
        return (0, 0)
    if tag == "lane":
        return (1, sum(1 for _ in element.iterancestors(bpmn("lane"))))
    if element.get("id") in expanded_ids:
        return (2, sum(1 for _ in element.iterancestors(*(bpmn(name) for name in CONTAINER_TAGS))))
    if tag == "boundaryEvent":
        return (4, 0)
    return (3, 0)


def _defs(svg):
    defs = etree.SubElement(svg, _svg("defs"))
    arrow = etree.SubElement(defs, _svg("marker"), {"id": "arrow", "viewBox": "0 0 10 10", "refX": "10",
                                                    "refY": "5", "markerWidth": "10", "markerHeight": "10",
                                                    "markerUnits": "userSpaceOnUse", "orient": "auto"})
    etree.SubElement(arrow, _svg("path"), {"d": "M 0 0 L 10 5 L 0 10 Z", "fill": STROKE})
    open_arrow = etree.SubElement(defs, _svg("marker"), {"id": "open-arrow", "viewBox": "0 0 10 10", "refX": "10",
                                                         "refY": "5", "markerWidth": "10", "markerHeight": "10",
                                                         "markerUnits": "userSpaceOnUse", "orient": "auto"})
    etree.SubElement(open_arrow, _svg("path"), {"d": "M 0 0 L 10 5 L 0 10", "fill": "none", "stroke": STROKE})


def _extent(drawing):
    xs, ys = [], []
    for di_shape, box in drawing.shapes.values():
        xs += [box.x, box.x + box.width]
        ys += [box.y, box.y + box.height]
        label = _label_box(di_shape)
        if label is not None:
            xs += [label.x, label.x + label.width]
            ys += [label.y, label.y + label.height + LINE_HEIGHT]
    for _edge, points in drawing.edges.values():
        xs += [x for x, _y in points]
        ys += [y for _x, y in points]
    for _di_shape, box in drawing.shapes.values():  # room for names under events and gateways
        ys.append(box.y + box.height + 3 * LINE_HEIGHT)
    return min(xs) - MARGIN, min(ys) - MARGIN, max(xs) + MARGIN, max(ys) + MARGIN


def _draw_shape(group, element, di_shape, box, fill, expanded_ids):
    tag = local_name(element)
    if tag in {"participant", "lane"}:
        _draw_pool_or_lane(group, element, di_shape, box, fill)
    elif tag in _EVENT_TAGS:
        _draw_event(group, element, box, fill)
        if element.get("name"):
            _label_under(group, element.get("name"), di_shape, box)
    elif tag.endswith("Gateway"):
        _draw_gateway(group, element, box, fill)
        if element.get("name"):
            _label_under(group, element.get("name"), di_shape, box)
    elif tag in _DATA_TAGS:
        _draw_data(group, element, box, fill)
        if element.get("name"):
            _label_under(group, element.get("name"), di_shape, box)
    elif tag == "textAnnotation":
        _draw_annotation(group, element, box)
    else:
        _draw_activity(group, element, box, fill, element.get("id") in expanded_ids)


def di_svg(tree, process_id: str, highlight: dict[str, str]) -> bytes | None:
    """SVG of the process as drawn in the file's DI; None when the file has no complete drawing of it."""
    process = process_element(tree, process_id)
    drawing = _drawing(tree, process, process_id)
    if drawing is None:
        return None
    expanded_ids = {element_id for element_id, element in drawing.elements.items()
                    if local_name(element) in CONTAINER_TAGS and element is not process
                    and any(child.get("id") in drawing.shapes for child in child_elements(element, FLOW_NODE_TAGS))}
    left, top, right, bottom = _extent(drawing)
    width, height = right - left, bottom - top
    svg = etree.Element(_svg("svg"), nsmap={None: SVG_NS}, attrib={
        "version": "1.1", "width": _number(width), "height": _number(height),
        "viewBox": f"{_number(left)} {_number(top)} {_number(width)} {_number(height)}",
        "font-family": FONT, "font-size": str(FONT_SIZE),
    })
    _defs(svg)
    etree.SubElement(svg, _svg("rect"), {"x": _number(left), "y": _number(top), "width": _number(width),
                                         "height": _number(height), "fill": "#ffffff"})
    title = etree.SubElement(svg, _svg("title"))
    title.text = process.get("name") or process_id
    ordered = sorted(drawing.shapes.items(), key=lambda item: _layer(drawing.elements[item[0]], expanded_ids))
    edges_drawn = False
    for element_id, (di_shape, box) in ordered:
        element = drawing.elements[element_id]
        if not edges_drawn and _layer(element, expanded_ids)[0] >= 3:
            _draw_edges(svg, drawing, highlight)
            edges_drawn = True
        group = etree.SubElement(svg, _svg("g"), {"id": element_id, "class": local_name(element)})
        _draw_shape(group, element, di_shape, box, highlight.get(element_id), expanded_ids)
    if not edges_drawn:
        _draw_edges(svg, drawing, highlight)
    return etree.tostring(svg, xml_declaration=True, encoding="UTF-8")


def _draw_edges(svg, drawing, highlight):
    for element_id, (di_edge, points) in drawing.edges.items():
        element = drawing.elements[element_id]
        group = etree.SubElement(svg, _svg("g"), {"id": element_id, "class": local_name(element)})
        _draw_edge(group, element, di_edge, points, highlight.get(element_id))
