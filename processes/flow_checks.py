"""Checks of a process's flow: what no path reaches, and gateways that may leave the token stuck.

Plain lxml, nothing in the model is run (conditions are only parsed, see ``condition_coverage``).
"""

from __future__ import annotations

from lxml import etree

from engine.exceptions import ScriptError
from engine.expressions import sandbox

from .bpmn_xml import CONTAINER_TAGS, FLOW_NODE_TAGS, bpmn, child_elements, local_name
from .condition_coverage import coverage

CONDITIONAL_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})
_GATEWAY_WORDS = {"exclusiveGateway": "Exclusive gateway", "inclusiveGateway": "Inclusive gateway"}


def _describe(element: etree._Element) -> str:
    name = element.get("name")
    return f"'{element.get('id')}' ({name})" if name else f"'{element.get('id')}'"


def _condition_text(flow: etree._Element) -> str:
    condition = flow.find(bpmn("conditionExpression"))
    return (condition.text or "").strip() if condition is not None else ""


def _compiles(condition: str) -> bool:
    try:
        sandbox.check_syntax(condition, "eval")
    except ScriptError:
        return False
    return True


def _link_name(event: etree._Element) -> str | None:
    link = event.find(bpmn("linkEventDefinition"))
    return (link.get("name") or "").strip() or None if link is not None else None


# --------------------------------------------------------------------------
# Reachability
# --------------------------------------------------------------------------

class _Reachability:
    """Walks a process from its start events, into sub-processes and along boundary events and links."""

    def __init__(self, process: etree._Element):
        self.reached: set[str] = set()
        self.pending: list[etree._Element] = []
        self.by_id = {node.get("id"): node for node in process.iter() if isinstance(node.tag, str) and node.get("id")}
        self.targets: dict[str, list[str]] = {}
        self.boundary_of: dict[str, list[str]] = {}
        self.link_catches: dict[tuple[int, str], list[str]] = {}
        for flow in process.iter(bpmn("sequenceFlow")):
            self.targets.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
        for event in process.iter(bpmn("boundaryEvent")):
            self.boundary_of.setdefault(event.get("attachedToRef"), []).append(event.get("id"))
        for event in process.iter(bpmn("intermediateCatchEvent")):
            name = _link_name(event)
            if name:
                self.link_catches.setdefault((id(event.getparent()), name), []).append(event.get("id"))

    def enter(self, container: etree._Element) -> None:
        """A process or sub-process starts: its start events (or, without any, its unconnected nodes) run."""
        nodes = child_elements(container, FLOW_NODE_TAGS)
        starts = [node for node in nodes if local_name(node) == "startEvent"]
        if not starts:
            incoming = {flow.get("targetRef") for flow in container.iterchildren(bpmn("sequenceFlow"))}
            starts = [node for node in nodes if node.get("id") not in incoming
                      and local_name(node) != "boundaryEvent" and not _is_compensation(node)]
        for node in starts:
            self.reach(node.get("id"))
        for node in nodes:  # event sub-processes wait for their trigger while the container runs
            if local_name(node) == "subProcess" and node.get("triggeredByEvent") == "true":
                self.reach(node.get("id"))

    def reach(self, element_id: str | None) -> None:
        if element_id and element_id not in self.reached and element_id in self.by_id:
            self.reached.add(element_id)
            self.pending.append(self.by_id[element_id])

    def run(self, process: etree._Element) -> set[str]:
        self.enter(process)
        while self.pending:
            node = self.pending.pop()
            node_id = node.get("id")
            for target in self.targets.get(node_id, []):
                self.reach(target)
            for event_id in self.boundary_of.get(node_id, []):
                self.reach(event_id)
            if local_name(node) in CONTAINER_TAGS:
                self.enter(node)
            name = _link_name(node) if local_name(node) == "intermediateThrowEvent" else None
            for catch_id in self.link_catches.get((id(node.getparent()), name), []) if name else []:
                self.reach(catch_id)
        return self.reached


def _is_compensation(node: etree._Element) -> bool:
    return node.get("isForCompensation") == "true"


def unreachable_nodes(process: etree._Element) -> list[etree._Element]:
    """Flow nodes no path from a start event reaches; inside an unreachable sub-process only the sub-process."""
    reached = _Reachability(process).run(process)
    found = []

    def visit(container):
        for node in child_elements(container, FLOW_NODE_TAGS):
            if _is_compensation(node):
                continue  # compensation handlers are reached by association, not by sequence flow
            if node.get("id") not in reached:
                found.append(node)
            elif local_name(node) in CONTAINER_TAGS:
                visit(node)

    visit(process)
    return found


def check_reachability(process: etree._Element, report) -> None:
    for node in unreachable_nodes(process):
        report.warning(
            "unreachable",
            f"{local_name(node)} {_describe(node)} is reached by no path from a start event: it never runs.",
            element_id=node.get("id"), line=node.sourceline,
        )


# --------------------------------------------------------------------------
# Gateways
# --------------------------------------------------------------------------

def _outgoing(gateway: etree._Element) -> list[etree._Element]:
    container = gateway.getparent()
    return [flow for flow in container.iterchildren(bpmn("sequenceFlow")) if flow.get("sourceRef") == gateway.get("id")]


def _check_gateway(gateway: etree._Element, report) -> None:
    flows = _outgoing(gateway)
    default = gateway.get("default")
    kind = _GATEWAY_WORDS[local_name(gateway)]
    where = {"element_id": gateway.get("id"), "line": gateway.sourceline}
    if default and default not in {flow.get("id") for flow in flows}:
        report.error("gateway_default_invalid",
                     f"{kind} {_describe(gateway)} names default flow '{default}', which does not leave it.", **where)
        default = None
    candidates = [flow for flow in flows if flow.get("id") != default]
    unconditioned = [flow for flow in candidates if not _condition_text(flow)]
    if len(flows) > 1 and unconditioned:
        for flow in unconditioned:
            report.error(
                "gateway_flow_without_condition",
                f"Sequence flow '{flow.get('id')}' leaves {kind.lower()} {_describe(gateway)} without a condition "
                "and is not its default flow: give it a condition or make it the gateway's default.",
                element_id=flow.get("id"), line=flow.sourceline,
            )
        return
    if default or not candidates or unconditioned:
        return
    conditions = [_condition_text(flow) for flow in candidates]
    if "True" in conditions:
        return  # a flow that is always open (processes.dialects opens ungated flows): never stuck
    if not all(_compiles(text) for text in conditions):
        return  # reported as condition_invalid already
    answer = coverage(conditions)
    if answer is not None and answer.gap is None:
        return
    if answer is not None:
        message = (f"{kind} {_describe(gateway)} has no default flow and none of its conditions holds when "
                   f"{answer.variable} is {answer.gap}: the instance would stop with an error there. "
                   "Add a default flow or cover every value.")
    else:
        message = (f"{kind} {_describe(gateway)} has no default flow and its conditions might all be false "
                   "(they could not be checked automatically): the instance would then stop with an error. "
                   "Add a default flow.")
    report.warning("gateway_without_default", message, **where)


def check_gateways(process: etree._Element, report) -> None:
    for gateway in process.iter(*(bpmn(tag) for tag in CONDITIONAL_GATEWAYS)):
        if gateway.get("id"):
            _check_gateway(gateway, report)
