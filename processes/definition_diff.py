"""What changed between two versions of a process, read from their BPMN files (plain lxml).

Elements are matched by id. For each element the comparison covers its type, name, lane,
documentation, incoming and outgoing flows, the conditions on its outgoing flows, timer, message and
script definitions, boundary attachment, called process, its element catalog entry (assignment,
dates, priority and form: ``processes.extensions``) and its service level (``processes.service_levels``);
the process's own name and promised completion are compared too. Sequence flows are compared on their own too
(source, target, condition). Nested sub-process contents are included; the diagram's layout is not.
"""

from .bpmn_xml import bpmn, element_info, flow_elements, local_name, parse_xml, process_element

_TIMER_PARTS = ("timeDate", "timeDuration", "timeCycle")
_EVENT_DEFINITIONS = (
    "timerEventDefinition", "messageEventDefinition", "signalEventDefinition", "errorEventDefinition",
    "escalationEventDefinition", "conditionalEventDefinition", "terminateEventDefinition",
    "compensateEventDefinition", "linkEventDefinition",
)


def _text(element):
    return "".join(element.itertext()).strip() if element is not None else None


def _condition(flow):
    return _text(flow.find(bpmn("conditionExpression")))


def _timer(node):
    definition = node.find(bpmn("timerEventDefinition"))
    if definition is None:
        return None
    for part in _TIMER_PARTS:
        value = definition.find(bpmn(part))
        if value is not None:
            return {"kind": part, "expression": _text(value)}
    return {"kind": None, "expression": None}


def _event_definitions(node):
    kinds = []
    for tag in _EVENT_DEFINITIONS:
        for definition in node.iterchildren(bpmn(tag)):
            reference = definition.get("messageRef") or definition.get("signalRef") or definition.get("errorRef")
            kinds.append(f"{tag}:{reference}" if reference else tag)
    return kinds


def _flows(process):
    return {
        flow.get("id"): {
            "source": flow.get("sourceRef"),
            "target": flow.get("targetRef"),
            "condition": _condition(flow),
        }
        for flow in flow_elements(process)
        if local_name(flow) == "sequenceFlow"
    }


def catalog_entry_of(catalog, element_id):
    entry = dict(catalog.get(element_id) or {})
    entry.pop("line", None)  # where it sits in the file is not a change of the process
    return entry or None


def service_level_of(levels, element_id):
    """The element's part of the definition's service levels (``processes.service_levels``), or None."""
    entry = {
        "due": (levels.get("tasks") or {}).get(element_id),
        "escalation": (levels.get("escalations") or {}).get(element_id),
        "business_time": element_id in (levels.get("business_timers") or []) or None,
        "pauses_clock": element_id in (levels.get("pauses") or []) or None,
    }
    entry = {key: value for key, value in entry.items() if value is not None}
    return entry or None


def describe_process(bpmn_xml, process_id, catalog, service_levels=None):
    """``({element id: description}, {flow id: description})`` of one deployed version."""
    tree = parse_xml(bpmn_xml.encode("utf-8"))
    process = process_element(tree, process_id)
    infos = element_info(tree, process_id)
    flows = _flows(process)
    elements = {}
    for node in flow_elements(process):
        tag = local_name(node)
        if tag in ("sequenceFlow", "dataObject", "dataObjectReference", "dataStoreReference"):
            continue
        element_id = node.get("id")
        info = infos[element_id]
        outgoing = sorted(flow_id for flow_id, flow in flows.items() if flow["source"] == element_id)
        incoming = sorted(flow_id for flow_id, flow in flows.items() if flow["target"] == element_id)
        elements[element_id] = {
            "type": tag,
            "name": info.name,
            "lane": info.lane,
            "documentation": info.documentation,
            "incoming": incoming,
            "outgoing": outgoing,
            "conditions": {flow_id: flows[flow_id]["condition"] for flow_id in outgoing if flows[flow_id]["condition"]},
            "default_flow": node.get("default"),
            "timer": _timer(node),
            "event_definitions": _event_definitions(node),
            "script": _text(node.find(bpmn("script"))),
            "attached_to": node.get("attachedToRef"),
            "cancel_activity": node.get("cancelActivity"),
            "called_element": node.get("calledElement"),
            "catalog": catalog_entry_of(catalog, element_id),
            "service_level": service_level_of(service_levels or {}, element_id),
        }
    return elements, flows


def _summary(element_id, description):
    return {"id": element_id, "type": description["type"], "name": description["name"]}


def _changes(before, after):
    return {
        key: {"from": before[key], "to": after[key]}
        for key in before
        if before[key] != after[key]
    }


def definition_diff(source, target):
    """The differences from ``source`` to ``target`` (two ``ProcessDefinition`` rows of one key).

    Returns ``{"process": {"changes"}, "elements": {"added", "removed", "changed"}, "flows": {"added",
    "removed", "changed"}}``;
    a changed element lists each changed attribute as ``{"from": ..., "to": ...}``.
    """
    old_elements, old_flows = describe_process(
        source.bpmn_xml, source.key, source.element_catalog or {}, source.service_levels or {})
    new_elements, new_flows = describe_process(
        target.bpmn_xml, target.key, target.element_catalog or {}, target.service_levels or {})
    process_before = {"name": source.name, "service_level": (source.service_levels or {}).get("process")}
    process_after = {"name": target.name, "service_level": (target.service_levels or {}).get("process")}
    changed = []
    for element_id in sorted(set(old_elements) & set(new_elements)):
        changes = _changes(old_elements[element_id], new_elements[element_id])
        if changes:
            changed.append({**_summary(element_id, new_elements[element_id]), "changes": changes})
    changed_flows = []
    for flow_id in sorted(set(old_flows) & set(new_flows)):
        changes = _changes(old_flows[flow_id], new_flows[flow_id])
        if changes:
            changed_flows.append({"id": flow_id, "changes": changes})
    return {
        "process": {"changes": _changes(process_before, process_after)},
        "elements": {
            "added": [_summary(i, new_elements[i]) for i in sorted(set(new_elements) - set(old_elements))],
            "removed": [_summary(i, old_elements[i]) for i in sorted(set(old_elements) - set(new_elements))],
            "changed": changed,
        },
        "flows": {
            "added": [{"id": i, **new_flows[i]} for i in sorted(set(new_flows) - set(old_flows))],
            "removed": [{"id": i, **old_flows[i]} for i in sorted(set(old_flows) - set(new_flows))],
            "changed": changed_flows,
        },
    }
