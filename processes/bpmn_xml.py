"""Safe reading of uploaded BPMN 2.0 (and DMN) files.

Analysts upload files exported by modeling tools (Camunda Modeler, bpmn.io,
Signavio, Bizagi, SpiffArena...). This module turns the raw bytes into an lxml
tree while refusing hostile input (oversized files, DOCTYPE/entity tricks such
as XXE and "billion laughs"), checks the overall BPMN structure, and extracts
the facts the rest of the application needs: processes, flow elements, lanes,
documentation and source line numbers.

Every problem is reported as ``DefinitionInvalidError`` (or a list of error
dicts) shaped ``{"message": str, "line": int | None, "element_id": str | None}``
so the upload screen can point at the offending line and element.

Plain Python + lxml only: no Django, no SpiffWorkflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from engine.exceptions import DefinitionInvalidError

MAX_BPMN_BYTES = 5 * 1024 * 1024

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

# Elements that may hold flow elements (and therefore sequence flows).
CONTAINER_TAGS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})

# BPMN flow nodes: the events, activities and gateways that sequence flows connect.
FLOW_NODE_TAGS = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "implicitThrowEvent",
    "task", "userTask", "manualTask", "serviceTask", "scriptTask",
    "businessRuleTask", "sendTask", "receiveTask", "callActivity",
    "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "eventBasedGateway", "complexGateway",
})

# BPMN flow elements: flow nodes plus sequence flows and data elements.
FLOW_ELEMENT_TAGS = FLOW_NODE_TAGS | {
    "sequenceFlow", "dataObject", "dataObjectReference", "dataStoreReference",
}

# A DOCTYPE is the only way to declare entities, so any sign of one is refused
# before lxml sees the document.
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)

# lxml appends ", line N, column M" to its messages; the position is reported separately.
_LXML_POSITION_SUFFIX = re.compile(r",\s*line \d+, column \d+\s*$")

_TRUE_VALUES = frozenset({"true", "1"})
_OMG_SPEC = "http://www.omg.org/spec/"


@dataclass(frozen=True)
class ProcessInfo:
    """One ``bpmn:process`` of an uploaded file."""

    id: str
    name: str | None
    is_executable: bool
    line: int | None


@dataclass(frozen=True)
class ElementInfo:
    """One flow element (task, event, gateway, flow, data element) of a process."""

    id: str
    tag: str
    name: str | None
    line: int | None
    lane: str | None
    documentation: str | None


def error(message: str, line: int | None = None, element_id: str | None = None) -> dict:
    """Build the error dict carried by ``DefinitionInvalidError.errors``."""
    return {"message": message, "line": line, "element_id": element_id}


def bpmn(name: str) -> str:
    """Clark-notation tag of a BPMN MODEL element, e.g. ``{...MODEL}process``."""
    return f"{{{BPMN_NS}}}{name}"


def _root(tree) -> etree._Element:
    return tree.getroot() if hasattr(tree, "getroot") else tree


def local_name(element: etree._Element) -> str:
    """Tag name without namespace, e.g. ``userTask``."""
    return etree.QName(element).localname


def is_bpmn(element: etree._Element, *names: str) -> bool:
    """True when the element is in the BPMN MODEL namespace (and has one of ``names``)."""
    qname = etree.QName(element)
    return qname.namespace == BPMN_NS and (not names or qname.localname in names)


def _elements(root: etree._Element):
    """Every element of the document (comments and processing instructions skipped)."""
    return root.iter(tag=etree.Element)


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------

def _secure_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def _refuse(message: str, line: int | None = None) -> DefinitionInvalidError:
    return DefinitionInvalidError(message, errors=[error(message, line)])


def _check_size(data: bytes) -> None:
    if len(data) > MAX_BPMN_BYTES:
        raise _refuse(
            f"The file is {len(data):,} bytes; the limit is {MAX_BPMN_BYTES:,} bytes."
        )


def _check_no_declarations(data: bytes) -> None:
    # Dropping NUL bytes also exposes declarations written in UTF-16/UTF-32.
    match = _DECLARATION.search(data.replace(b"\x00", b""))
    if match:
        line = data[: match.start()].count(b"\n") + 1
        raise _refuse(
            "DOCTYPE and ENTITY declarations are not allowed in BPMN files.", line
        )


def _syntax_error(exc: etree.XMLSyntaxError) -> DefinitionInvalidError:
    line, column = exc.position if exc.position else (exc.lineno, None)
    reason = _LXML_POSITION_SUFFIX.sub("", exc.msg or "syntax error")
    where = f"line {line}, column {column}" if column else f"line {line}"
    return _refuse(f"The file is not well-formed XML ({where}): {reason}.", line)


def parse_xml(data: bytes) -> etree._ElementTree:
    """Parse uploaded XML bytes safely, or raise ``DefinitionInvalidError``."""
    data = bytes(data)
    _check_size(data)
    _check_no_declarations(data)
    try:
        root = etree.fromstring(data, parser=_secure_parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise _refuse("DOCTYPE declarations are not allowed in BPMN files.")
    return tree


# --------------------------------------------------------------------------
# Structure checks
# --------------------------------------------------------------------------

def _duplicate_id_errors(root: etree._Element) -> list[dict]:
    first_line: dict[str, int | None] = {}
    errors = []
    for element in _elements(root):
        element_id = element.get("id")
        if element_id is None or not (etree.QName(element).namespace or "").startswith(_OMG_SPEC):
            continue  # extension elements' ids (camunda:formField id is a variable name) are not BPMN ids
        if element_id in first_line:
            errors.append(error(
                f"Duplicate id '{element_id}' (first used on line {first_line[element_id]}).",
                element.sourceline, element_id,
            ))
        else:
            first_line[element_id] = element.sourceline
    return errors


def _flow_reference_errors(flow: etree._Element, local_ids: set[str], all_ids: set[str]) -> list[dict]:
    flow_id = flow.get("id")
    errors = []
    for attribute in ("sourceRef", "targetRef"):
        ref = flow.get(attribute)
        if not ref:
            problem = f"has no {attribute}"
        elif ref in local_ids:
            continue
        elif ref in all_ids:
            problem = f"{attribute} '{ref}' is outside its process or sub-process"
        else:
            problem = f"{attribute} '{ref}' points at no element"
        errors.append(error(f"Sequence flow '{flow_id}' {problem}.", flow.sourceline, flow_id))
    return errors


def _sequence_flow_errors(root: etree._Element) -> list[dict]:
    """Sequence flows must connect elements of their own process or sub-process."""
    all_ids = {element.get("id") for element in _elements(root) if element.get("id")}
    errors = []
    for container in root.iter(*(bpmn(tag) for tag in CONTAINER_TAGS)):
        local_ids = {child.get("id") for child in container.iterchildren(tag=etree.Element)}
        for flow in container.iterchildren(bpmn("sequenceFlow")):
            errors.extend(_flow_reference_errors(flow, local_ids, all_ids))
    return errors


def check_bpmn_structure(tree) -> list[dict]:
    """Return readable structural errors of a parsed BPMN file ([] when fine).

    Flow nodes without any incoming or outgoing flow are deliberately not
    reported: modeling tools often leave such drafts in executable processes.
    """
    root = _root(tree)
    if not is_bpmn(root, "definitions"):
        return [error(
            f"The root element must be bpmn:definitions (found '{local_name(root)}').",
            root.sourceline,
        )]
    errors = []
    if root.find(bpmn("process")) is None:
        errors.append(error("The file contains no bpmn:process.", root.sourceline))
    errors.extend(_duplicate_id_errors(root))
    errors.extend(_sequence_flow_errors(root))
    return sorted(errors, key=lambda item: item["line"] or 0)


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

def _process_elements(tree) -> list[etree._Element]:
    return _root(tree).findall(bpmn("process"))


def _declared_executable(process: etree._Element) -> bool:
    return (process.get("isExecutable") or "").strip().lower() in _TRUE_VALUES


def _has_start_event(process: etree._Element) -> bool:
    return process.find(bpmn("startEvent")) is not None


def all_processes(tree) -> list[ProcessInfo]:
    """Describe every ``bpmn:process`` of the file, in document order."""
    processes = _process_elements(tree)
    flags = [_declared_executable(process) for process in processes]
    # Many tools omit isExecutable (Signavio, Bizagi) or write "false" by
    # default (bpmn.io). When nothing is marked executable and the file holds a
    # single process that can start, that process is clearly the one meant to
    # run, so it is treated as executable.
    if not any(flags) and len(processes) == 1 and _has_start_event(processes[0]):
        flags = [True]
    return [
        ProcessInfo(process.get("id"), process.get("name"), flag, process.sourceline)
        for process, flag in zip(processes, flags, strict=True)
    ]


def executable_processes(tree) -> list[ProcessInfo]:
    """The processes of the file that the engine may run (see ``all_processes``)."""
    return [process for process in all_processes(tree) if process.is_executable]


def process_element(tree, process_id: str) -> etree._Element:
    """The ``bpmn:process`` element with this id, or ``DefinitionInvalidError``."""
    for process in _process_elements(tree):
        if process.get("id") == process_id:
            return process
    message = f"The file contains no process with id '{process_id}'."
    raise DefinitionInvalidError(message, errors=[error(message, element_id=process_id)])


# --------------------------------------------------------------------------
# Flow elements, lanes, documentation
# --------------------------------------------------------------------------

def child_elements(container: etree._Element, tags: frozenset[str]) -> list[etree._Element]:
    """Direct BPMN children of the container that have an id and one of ``tags``."""
    return [
        child for child in container.iterchildren(tag=etree.Element)
        if is_bpmn(child) and local_name(child) in tags and child.get("id")
    ]


def flow_elements(container: etree._Element):
    """Yield the flow elements of a process or sub-process, nested ones included."""
    for child in child_elements(container, FLOW_ELEMENT_TAGS):
        yield child
        if local_name(child) in CONTAINER_TAGS:
            yield from flow_elements(child)


def _lane_depth(lane: etree._Element) -> int:
    return sum(1 for ancestor in lane.iterancestors(bpmn("lane")))


def _lanes_by_element(process: etree._Element) -> dict[str, str]:
    """Map flow node id -> lane name.

    Tools list a node both in a lane and in its child lane; the innermost named
    lane wins because it names the most specific role. Unnamed lanes are skipped.
    """
    named_lanes = [lane for lane in process.iter(bpmn("lane")) if lane.get("name")]
    lane_of: dict[str, str] = {}
    for lane in sorted(named_lanes, key=_lane_depth):
        for ref in lane.iterchildren(bpmn("flowNodeRef")):
            if ref.text and ref.text.strip():
                lane_of[ref.text.strip()] = lane.get("name")
    return lane_of


def _lane_for(element: etree._Element, lane_of: dict[str, str]) -> str | None:
    """Lane of the element, else of its nearest enclosing sub-process."""
    while element is not None and not is_bpmn(element, "process"):
        lane = lane_of.get(element.get("id"))
        if lane:
            return lane
        element = element.getparent()
    return None


def documentation_text(element: etree._Element) -> str | None:
    """Stripped text of the element's ``bpmn:documentation`` children, or None."""
    parts = ["".join(doc.itertext()).strip() for doc in element.iterchildren(bpmn("documentation"))]
    text = "\n\n".join(part for part in parts if part)
    return text or None


def element_info(tree, process_id: str) -> dict[str, ElementInfo]:
    """Describe every flow element of the process, sub-process contents included."""
    process = process_element(tree, process_id)
    lane_of = _lanes_by_element(process)
    return {
        element.get("id"): ElementInfo(
            id=element.get("id"),
            tag=local_name(element),
            name=element.get("name"),
            line=element.sourceline,
            lane=_lane_for(element, lane_of),
            documentation=documentation_text(element),
        )
        for element in flow_elements(process)
    }


def find_line(tree, element_id: str) -> int | None:
    """Source line of the first element carrying this id, or None."""
    matches = _root(tree).xpath("//*[@id = $element_id]", element_id=element_id)
    return matches[0].sourceline if matches else None
