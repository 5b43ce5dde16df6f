"""Pictures for managers: the process coloured by waiting time, and the directly-follows graph.

The heatmap uses ``processes.diagram.render_svg`` / ``render_png`` with a fill colour per element (five
steps of one colour scale by median waiting time, relative to the longest); the SVG also gets a legend
and, on every coloured element, a tooltip with its numbers. The DFG is drawn by graphviz: node size
by completions, edge labels with frequency and median time, edge width by frequency.
"""

from __future__ import annotations

import graphviz
from lxml import etree

from processes.bpmn_xml import parse_xml
from processes.diagram import DiagramUnavailableError, render_png, render_svg

# Light to dark: short to long median waiting.
SCALE = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#e6550d", "#a63603"]
SVG_NS = "http://www.w3.org/2000/svg"


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def heat_colours(bottlenecks: list[dict]) -> dict[str, str]:
    """Element id -> colour by median waiting (the longest gets the darkest step)."""
    longest = max((item["waiting"]["p50_seconds"] or 0 for item in bottlenecks), default=0)
    colours = {}
    for item in bottlenecks:
        median = item["waiting"]["p50_seconds"]
        if median is None:
            continue
        step = 0 if longest <= 0 else min(len(SCALE) - 1, int(median / longest * len(SCALE)))
        colours[item["element_id"]] = SCALE[step]
    return colours


def heatmap(definition, bottlenecks: list[dict], image_format: str) -> bytes:
    tree = parse_xml(definition.bpmn_xml.encode("utf-8"))
    colours = heat_colours(bottlenecks)
    if image_format == "png":
        return render_png(tree, definition.key, highlight=colours)
    svg = render_svg(tree, definition.key, highlight=colours)
    return _annotate(svg, bottlenecks, colours)


def _annotate(svg: bytes, bottlenecks: list[dict], colours: dict[str, str]) -> bytes:
    """Tooltips on the coloured elements and a legend under the drawing."""
    root = etree.fromstring(svg, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    by_id = {item["element_id"]: item for item in bottlenecks}
    for group in root.iter(f"{{{SVG_NS}}}g"):
        item = by_id.get(group.get("id"))
        if item is None:
            continue
        title = group.find(f"{{{SVG_NS}}}title")
        if title is None:
            title = etree.SubElement(group, f"{{{SVG_NS}}}title")
        title.text = (f"{item['element_id']}: {item['visits']} visits, waiting p50 "
                      f"{human_duration(item['waiting']['p50_seconds'])}, p90 "
                      f"{human_duration(item['waiting']['p90_seconds'])}, working p50 "
                      f"{human_duration(item['working']['p50_seconds'])}")
    height = float(root.get("height", "0pt").removesuffix("pt") or 0)
    legend_height = 34.0
    root.set("height", f"{height + legend_height}pt")
    view_box = root.get("viewBox")
    if view_box:
        x, y, w, h = (float(part) for part in view_box.split())
        root.set("viewBox", f"{x} {y} {w} {h + legend_height}")
    legend = etree.SubElement(root, f"{{{SVG_NS}}}g", id="heatmap-legend")
    longest = max((item["waiting"]["p50_seconds"] or 0 for item in bottlenecks), default=0)
    text = etree.SubElement(legend, f"{{{SVG_NS}}}text", x="4", y=str(height + 14), attrib={"font-size": "10"})
    text.text = f"Median waiting (created to claimed), longest {human_duration(longest)}:"
    for index, colour in enumerate(SCALE):
        low = longest * index / len(SCALE)
        etree.SubElement(legend, f"{{{SVG_NS}}}rect", x=str(4 + index * 70), y=str(height + 19), width="12",
                         height="10", fill=colour, stroke="#555")
        label = etree.SubElement(legend, f"{{{SVG_NS}}}text", x=str(20 + index * 70), y=str(height + 28),
                                 attrib={"font-size": "9"})
        label.text = f">= {human_duration(low)}"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def dfg_picture(report: dict, image_format: str) -> bytes:
    graph = graphviz.Digraph(
        name="dfg", engine="dot",
        graph_attr={"rankdir": "LR", "fontname": "Helvetica"},
        node_attr={"fontname": "Helvetica", "fontsize": "11", "shape": "box", "style": "rounded,filled",
                   "fillcolor": "#eef3fb"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
    most = max((edge["frequency"] for edge in report["edges"]), default=1)
    for node in report["nodes"]:
        graph.node(f"n_{node['element_id']}", label=f"{graphviz.escape(node['element_id'])}\\n{node['completions']}",
                   id=graphviz.escape(node["element_id"]))
    for edge in report["edges"]:
        graph.edge(
            f"n_{edge['source']}", f"n_{edge['target']}",
            label=f"{edge['frequency']}\\nmedian {human_duration(edge['median_seconds'])}",
            penwidth=f"{1 + 4 * edge['frequency'] / most:.2f}",
        )
    try:
        return graph.pipe(format=image_format, quiet=True)
    except graphviz.ExecutableNotFound as exc:
        raise DiagramUnavailableError("Cannot draw the graph: Graphviz's 'dot' program is not installed.") from exc
