"""What modeling tools write, made ready for the engine before SpiffWorkflow parses a file.

The stored file is never changed: this rewrites the parsed lxml tree, at deploy time and again
whenever a definition's spec is parsed from its stored file, so both see the same process.

- **Conditions** (sequence flow ``conditionExpression``, conditional events' ``condition``,
  multi-instance ``completionCondition``, loop ``loopCondition``) and **timer expressions** are
  written in the tool's language: JUEL ``${amount > 1000}`` / ``#{approved}`` (Camunda 7, Flowable,
  Activiti), FEEL ``= amount > 1000`` (Camunda 8), or plain text. They are translated into the
  restricted evaluator's language by ``processes.expression_translator``; plain text that is already
  a valid sandbox expression is kept as it is, plain text in JUEL style (``approved == true``,
  ``a && b``) is translated as JUEL, else as FEEL (``priority = 'urgent'``). Anything outside the
  subset is an error naming the element and line: nothing is evaluated here, and nothing outside the
  subset is ever evaluated.
- **Camunda 8 script tasks** (``zeebe:script expression="=..." resultVariable="x"``) become the
  script ``x = <translated FEEL expression>``.
- **Exclusive and inclusive gateways**: an outgoing sequence flow that is neither the default nor
  conditional has no gate (BPMN 2.0, 10.5.2: a token is held back only by a condition that is false),
  so it gets the condition ``True``; as in Camunda and Flowable, an exclusive gateway takes the first
  flow whose condition holds, an inclusive one every such flow.
- **Several outgoing flows from an activity** are an implicit split (BPMN 2.0, 13.2.1): a parallel
  gateway when none is conditional, else an inclusive one (which keeps the activity's default flow),
  is put after the activity, since SpiffWorkflow accepts several outgoing flows only from gateways.
- **Link events** (a "go to" within one process level, BPMN 2.0 10.5.6) become a sequence flow from
  each throwing link event to the catching one of the same name, which SpiffWorkflow lacks.
- **A sub-process (or process) without a start event** starts every flow node that has no incoming
  flow (BPMN 2.0, 10.5.6 and 13.2.1): a start event is added, with a parallel gateway when there are
  several such nodes. A sub-process without an end event gets one, reached from every node without an
  outgoing flow; so an empty (collapsed) sub-process starts and ends at once.
- **References**: an event's ``eventDefinitionRef`` to a definition declared at the top of the file is
  replaced by a copy of it, and a ``messageRef``/``signalRef``/... written as a QName
  (``semantic:sid-1``) by the id it names.
- **Data associations** that name a data object itself (not a reference to it) get a data object
  reference, the only kind SpiffWorkflow resolves.
- **isExecutable**: the process chosen as executable by ``bpmn_xml.all_processes`` (a single
  process that can start, which bpmn.io marks ``isExecutable="false"`` by default) is marked
  executable for SpiffWorkflow, which otherwise refuses it.
"""

import re
from copy import deepcopy

from lxml import etree

from engine.exceptions import ScriptError
from engine.expressions import sandbox
from engine.spiff.script_engine import iso_8601_literal

from .bpmn_xml import BPMN_NS, error, parse_xml
from .expression_translator import UntranslatableExpression, feel, is_camunda_expression, juel

_CONDITION_TAGS = ("conditionExpression", "condition", "completionCondition", "loopCondition")
_TIMER_TAGS = ("timeDate", "timeDuration", "timeCycle")
_PYTHON_LANGUAGES = {"", "python", "text/python", "text/x-python", "py"}
_JUEL_LANGUAGES = {"juel", "uel", "el", "http://www.omg.org/spec/bpmn/20100524/el"}
_FEEL_LANGUAGES = {"feel", "http://www.omg.org/spec/feel/20140401", "https://www.omg.org/spec/dmn/20191111/feel/"}
_XPATH_BOOLEANS = {"true": "True", "true()": "True", "false": "False", "false()": "False"}
_JUEL_ONLY_NAMES = re.compile(r"(?<![\w'\".])(true|false|null|eq|ne|lt|gt|le|ge|div|mod|empty)(?![\w'\"])")
_WHOLE_EXPRESSION = re.compile(r"^\s*[$#]\{(?P<inner>.*)\}\s*$", re.DOTALL)


class ExpressionOutsideSubset(ValueError):
    """A condition or timer expression the translator does not accept; the message says why."""


def _is_sandbox_expression(text):
    try:
        sandbox.check_syntax(text, "eval")
    except ScriptError:
        return False
    return True


def _strip_quotes(text):
    """Parts of ``text`` outside string literals (so a word inside quotes is not taken as JUEL)."""
    return re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "''", text)


def to_sandbox(text, language=None):
    """The sandbox expression for a tool's condition or value ``text``; raises ``ExpressionOutsideSubset``."""
    source = text.strip()
    language = (language or "").strip().lower()
    if "xpath" in language and source.lower() in _XPATH_BOOLEANS:
        return _XPATH_BOOLEANS[source.lower()]
    if language and language not in _PYTHON_LANGUAGES | _JUEL_LANGUAGES | _FEEL_LANGUAGES:
        raise ExpressionOutsideSubset(
            f"expression language '{language}' is not supported (JUEL, FEEL and the restricted Python subset are)"
        )
    try:
        if source.startswith("=") or (language in _FEEL_LANGUAGES and not is_camunda_expression(source)):
            return feel(source[1:] if source.startswith("=") else source)
        if is_camunda_expression(source):
            whole = _WHOLE_EXPRESSION.match(source)
            if whole is None or is_camunda_expression(whole.group("inner")):
                raise UntranslatableExpression("text around ${...} is not an expression")
            return juel(whole.group("inner"))
        if _is_sandbox_expression(source) and not _JUEL_ONLY_NAMES.search(_strip_quotes(source)):
            return source
        return _plain(source)
    except UntranslatableExpression as problem:
        raise ExpressionOutsideSubset(str(problem)) from None


def _plain(source):
    """Plain text that is no sandbox expression: JUEL without ``${}`` (``approved == true``), else FEEL
    without its ``=`` (``priority = 'urgent'``); the JUEL reason is given when neither fits."""
    try:
        return juel(source)
    except UntranslatableExpression as juel_problem:
        try:
            return feel(source)
        except UntranslatableExpression:
            raise juel_problem from None


def _is_plain(text, language):
    """Text with no tool marker (``${}``, ``#{}``, ``=``) nor a declared language."""
    text = text.strip()
    return not (language or "").strip() and not text.startswith("=") and not is_camunda_expression(text)


def _enclosing_element(node):
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node


def _located(node, message, code="expression_invalid"):
    """An error dict (``processes.bpmn_xml.error``) with the validation report's ``code``."""
    owner = _enclosing_element(node)
    element_id = owner.get("id") if owner is not None else None
    return {**error(message, node.sourceline, element_id), "code": code}


def _iter(scope, *tags):
    """The elements with these BPMN tags inside the processes of ``scope``."""
    for process in scope:
        yield from process.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in tags))


def _translate_conditions(scope):
    errors = []
    for tag in _CONDITION_TAGS:
        for node in _iter(scope, tag):
            text = (node.text or "").strip()
            if not text:
                continue
            try:
                node.text = to_sandbox(text, node.get("language"))
            except ExpressionOutsideSubset as problem:
                if _is_plain(text, node.get("language")):
                    continue  # neither JUEL nor FEEL: the restricted evaluator's compile check says why
                errors.append(_located(node, f"Condition outside the safe subset: {text!r}: {problem}."))
    return errors


def _translate_timers(scope):
    errors = []
    for definition in _iter(scope, "timerEventDefinition"):
        if not any(definition.find(f"{{{BPMN_NS}}}{tag}") is not None for tag in _TIMER_TAGS):
            message = "The timer has no timeDate, timeDuration or timeCycle."
            errors.append(_located(definition, message, "timer_invalid"))
    for tag in _TIMER_TAGS:
        for node in _iter(scope, tag):
            text = (node.text or "").strip()
            if not text or iso_8601_literal(text) is not None:
                continue
            if not (text.startswith("=") or is_camunda_expression(text)):
                continue  # a sandbox expression (or an error the timer check reports)
            try:
                node.text = to_sandbox(text)
            except ExpressionOutsideSubset as problem:
                errors.append(_located(node, f"Timer expression outside the safe subset: {text!r}: {problem}."))
    return errors


def _open_ungated_gateway_flows(scope, notes):
    for gateway in _iter(scope, "exclusiveGateway", "inclusiveGateway"):
        container, gateway_id = gateway.getparent(), gateway.get("id")
        for flow in container.iterchildren(f"{{{BPMN_NS}}}sequenceFlow"):
            if flow.get("sourceRef") != gateway_id or flow.get("id") == gateway.get("default"):
                continue
            condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
            if condition is None:
                condition = etree.SubElement(flow, f"{{{BPMN_NS}}}conditionExpression")
            if not (condition.text or "").strip():
                condition.text = "True"
                notes.append(error(
                    f"Sequence flow '{flow.get('id')}' leaves gateway '{gateway_id}' without a condition and is not "
                    "its default flow: it is always open (BPMN 2.0), so "
                    + ("it is taken whenever no flow before it is." if etree.QName(gateway).localname
                       == "exclusiveGateway" else "it is always taken."), flow.sourceline, flow.get("id")))


ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _zeebe_scripts(scope):
    errors = []
    for task in _iter(scope, "scriptTask"):
        script = task.find(f"{{{BPMN_NS}}}extensionElements/{{{ZEEBE_NS}}}script")
        if script is None or (task.findtext(f"{{{BPMN_NS}}}script") or "").strip():
            continue
        expression, variable = (script.get("expression") or "").strip(), (script.get("resultVariable") or "").strip()
        if not _IDENTIFIER.match(variable):
            errors.append(_located(script, f"zeebe:script resultVariable '{variable}' is not a variable name."))
            continue
        try:
            translated = to_sandbox(expression if expression.startswith("=") else "=" + expression)
        except ExpressionOutsideSubset as problem:
            errors.append(_located(script, f"Script expression outside the safe subset: {expression!r}: {problem}."))
            continue
        body = task.find(f"{{{BPMN_NS}}}script")
        if body is None:
            body = etree.SubElement(task, f"{{{BPMN_NS}}}script")
        body.text = f"{variable} = {translated}"
    return errors


_EVENT_REFERENCES = (("errorEventDefinition", "errorRef", "error"),
                     ("escalationEventDefinition", "escalationRef", "escalation"),
                     ("messageEventDefinition", "messageRef", "message"),
                     ("signalEventDefinition", "signalRef", "signal"))


def _dangling_event_references(root, scope):
    """An event naming an element the file does not have, or a message or signal without a name (which
    is what matches it): SpiffWorkflow cannot build such an event."""
    errors = []
    for definition_tag, attribute, target_tag in _EVENT_REFERENCES:
        targets = {node.get("id"): node for node in root.iter(f"{{{BPMN_NS}}}{target_tag}")}
        for node in _iter(scope, definition_tag):
            reference = node.get(attribute)
            if not reference:
                continue
            target = targets.get(reference.split(":")[-1])
            if target is not None and reference != target.get("id"):
                node.set(attribute, target.get("id"))  # a QName ("semantic:sid-1"): the id it names
            if target is None:
                message = f"{definition_tag} {attribute} '{reference}' names no bpmn:{target_tag}."
                errors.append(_located(node, message, "event_reference_invalid"))
            elif target_tag in ("message", "signal") and not (target.get("name") or "").strip():
                message = f"bpmn:{target_tag} '{reference}' has no name; events are matched by name."
                errors.append(_located(node, message, "event_reference_invalid"))
    return errors


_GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
                       "complexGateway"})
_SPLITS_ALONE = _GATEWAYS | {"startEvent", "boundaryEvent"}
_CONTAINERS = ("process", "subProcess", "transaction")
_NOT_FLOW_NODES = frozenset({"sequenceFlow", "dataObject", "dataObjectReference", "dataStoreReference", "laneSet",
                             "textAnnotation", "association", "group", "ioSpecification", "documentation",
                             "extensionElements", "property", "dataInputAssociation", "dataOutputAssociation",
                             "multiInstanceLoopCharacteristics", "standardLoopCharacteristics", "incoming",
                             "outgoing", "category", "boundaryEvent"})


def _bpmn_tag(node):
    qname = etree.QName(node)
    return qname.localname if qname.namespace == BPMN_NS else None


def _new_element(container, tag, position, **attributes):
    element = etree.Element(f"{{{BPMN_NS}}}{tag}", {key: value for key, value in attributes.items() if value})
    container.insert(position, element)
    return element


def _flow_nodes(container):
    return [child for child in container.iterchildren(tag=etree.Element)
            if _bpmn_tag(child) and _bpmn_tag(child) not in _NOT_FLOW_NODES and child.get("id")]


def _split_activity_outflows(scope):
    for container in _iter(scope, *_CONTAINERS):
        flows = list(container.iterchildren(f"{{{BPMN_NS}}}sequenceFlow"))
        for node in _flow_nodes(container):
            outgoing = [flow for flow in flows if flow.get("sourceRef") == node.get("id")]
            if len(outgoing) < 2 or _bpmn_tag(node) in _SPLITS_ALONE:
                continue
            conditional = any(flow.find(f"{{{BPMN_NS}}}conditionExpression") is not None for flow in outgoing)
            split_id = f"{node.get('id')}__split"
            position = container.index(node) + 1
            _new_element(container, "inclusiveGateway" if conditional else "parallelGateway", position,
                         id=split_id, default=node.attrib.pop("default", None) if conditional else None)
            _new_element(container, "sequenceFlow", position + 1, id=f"{split_id}_flow",
                         sourceRef=node.get("id"), targetRef=split_id)
            for flow in outgoing:
                flow.set("sourceRef", split_id)
            for reference in node.findall(f"{{{BPMN_NS}}}outgoing"):
                node.remove(reference)


def _link_name(event):
    definition = event.find(f"{{{BPMN_NS}}}linkEventDefinition")
    return None if definition is None else (definition.get("name") or definition.get("id") or "").strip()


def _connect_links(scope):
    errors = []
    for container in _iter(scope, *_CONTAINERS):
        catchers = {}
        for event in container.iterchildren(f"{{{BPMN_NS}}}intermediateCatchEvent"):
            if _link_name(event):
                catchers.setdefault(_link_name(event), event)
        for event in container.iterchildren(f"{{{BPMN_NS}}}intermediateThrowEvent"):
            name = _link_name(event)
            if not name:
                continue
            target = catchers.get(name)
            if target is None:
                errors.append(_located(event, f"Link event '{name}' has no catching link event of that name "
                                       "in the same process or sub-process.", "event_reference_invalid"))
                continue
            _new_element(container, "sequenceFlow", len(container), id=f"{event.get('id')}__link",
                         sourceRef=event.get("id"), targetRef=target.get("id"))
    return errors


def _start_implicitly(scope):
    for container in _iter(scope, *_CONTAINERS):
        if container.get("triggeredByEvent") == "true" or container.find(f"{{{BPMN_NS}}}startEvent") is not None:
            continue
        targets = {flow.get("targetRef") for flow in container.iterchildren(f"{{{BPMN_NS}}}sequenceFlow")}
        first = [node for node in _flow_nodes(container)
                 if node.get("id") not in targets and _bpmn_tag(node) not in ("endEvent",)
                 and not (_bpmn_tag(node) == "subProcess" and node.get("triggeredByEvent") == "true")]
        start_id = f"{container.get('id')}__implicit_start"
        _new_element(container, "startEvent", 0, id=start_id)
        source = start_id
        if len(first) > 1:
            source = f"{start_id}_split"
            _new_element(container, "parallelGateway", 1, id=source)
            _new_element(container, "sequenceFlow", 2, id=f"{start_id}_flow", sourceRef=start_id, targetRef=source)
        for index, node in enumerate(first):
            _new_element(container, "sequenceFlow", len(container), id=f"{start_id}_flow_{index}",
                         sourceRef=source, targetRef=node.get("id"))


def _end_implicitly(scope):
    """A sub-process without an end event ends where its paths end (SpiffWorkflow wants an end event)."""
    for container in _iter(scope, "subProcess", "transaction"):
        if container.find(f"{{{BPMN_NS}}}endEvent") is not None:
            continue
        sources = {flow.get("sourceRef") for flow in container.iterchildren(f"{{{BPMN_NS}}}sequenceFlow")}
        boundary = list(container.iterchildren(f"{{{BPMN_NS}}}boundaryEvent"))
        leaves = [node for node in _flow_nodes(container) + boundary
                  if node.get("id") not in sources and node.get("triggeredByEvent") != "true"]
        end_id = f"{container.get('id')}__implicit_end"
        _new_element(container, "endEvent", len(container), id=end_id)
        for index, node in enumerate(leaves):
            _new_element(container, "sequenceFlow", len(container), id=f"{end_id}_flow_{index}",
                         sourceRef=node.get("id"), targetRef=end_id)


def _inline_event_definition_refs(root, scope):
    """``<eventDefinitionRef>`` naming a definition declared at the top of the file becomes a copy of that
    definition inside the event (the same model; SpiffWorkflow reads only inline definitions)."""
    errors = []
    declared = {node.get("id"): node for node in root.iterchildren(tag=etree.Element)
                if etree.QName(node).localname.endswith("EventDefinition") and node.get("id")}
    for reference in list(_iter(scope, "eventDefinitionRef")):
        event, target_id = reference.getparent(), (reference.text or "").strip().split(":")[-1]
        definition = declared.get(target_id)
        if definition is None:
            errors.append(_located(reference, f"eventDefinitionRef '{target_id}' names no event definition of the "
                                   "file.", "event_reference_invalid"))
            continue
        copy = deepcopy(definition)
        copy.set("id", f"{event.get('id')}__{target_id}")
        event.replace(reference, copy)
    return errors


def _reference_data_objects(scope):
    """A data association may name a data object itself (it is an item-aware element); SpiffWorkflow
    resolves only data object references, so one is added for it."""
    objects = {node.get("id"): node for node in _iter(scope, "dataObject") if node.get("id")}
    added = {}
    for tag, end in (("dataInputAssociation", "sourceRef"), ("dataOutputAssociation", "targetRef")):
        for association in _iter(scope, tag):
            for node in association.findall(f"{{{BPMN_NS}}}{end}"):
                data_object = objects.get((node.text or "").strip())
                if data_object is None:
                    continue
                object_id = data_object.get("id")
                if object_id not in added:
                    container = data_object.getparent()
                    added[object_id] = f"{object_id}__reference"
                    _new_element(container, "dataObjectReference", container.index(data_object) + 1,
                                 id=added[object_id], dataObjectRef=object_id, name=data_object.get("name"))
                node.text = added[object_id]


def _boundary_events_without_definition(scope):
    return [
        _located(event, "A boundary event needs an event definition (timer, message, error, escalation, ...).",
                 "event_definition_missing")
        for event in _iter(scope, "boundaryEvent")
        if not any(etree.QName(child).localname.endswith("EventDefinition") or
                   etree.QName(child).localname == "eventDefinitionRef" for child in event.iterchildren(etree.Element))
    ]


def _mark_executable(root, process_id):
    for process in root.iterchildren(f"{{{BPMN_NS}}}process"):
        if process.get("id") == process_id:
            process.set("isExecutable", "true")


def _scope(root, process_id):
    """The process to run and the processes its call activities call in this file (transitively)."""
    processes = {process.get("id"): process for process in root.iterchildren(f"{{{BPMN_NS}}}process")}
    wanted, scope = [process_id], []
    while wanted:
        process = processes.pop(wanted.pop(), None)
        if process is None:
            continue
        scope.append(process)
        wanted.extend(node.get("calledElement") for node in process.iter(f"{{{BPMN_NS}}}callActivity"))
    return scope


def prepare_for_engine(tree, process_id, notes=None):
    """Rewrite ``tree`` in place for the engine (see the module docstring); returns the errors found
    (error dicts with a ``code``). ``notes`` (a list) receives what an analyst should know (flows that
    were opened), as error dicts.

    Only the process to run and the processes it calls are looked at: the other pools of a
    collaboration (often drawn, not executable) are not run, so their contents cannot reject the file.
    """
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    scope = _scope(root, process_id)
    _mark_executable(root, process_id)
    link_errors = _connect_links(scope) + _inline_event_definition_refs(root, scope)
    _reference_data_objects(scope)
    _split_activity_outflows(scope)
    _open_ungated_gateway_flows(scope, notes if notes is not None else [])
    _start_implicitly(scope)
    _end_implicitly(scope)
    return (link_errors + _translate_conditions(scope) + _translate_timers(scope) + _zeebe_scripts(scope)
            + _dangling_event_references(root, scope) + _boundary_events_without_definition(scope))


def engine_root(content, process_id):
    """The lxml root of a stored (already validated) file, prepared for the engine."""
    tree = parse_xml(content)
    prepare_for_engine(tree, process_id)
    return tree.getroot()


_REPEATED_BY_TRANSLATION = frozenset({"condition_invalid", "timer_invalid", "script_invalid"})


def apply_dialects(tree, process_id, report):
    """``prepare_for_engine`` for the validation report: its errors under their codes, opened flows as
    ``gateway_flow_always_open`` warnings."""
    notes = []
    for item in prepare_for_engine(tree, process_id, notes):
        report.error(item["code"], item["message"], element_id=item["element_id"], line=item["line"])
    for note in notes:
        report.warning("gateway_flow_always_open", note["message"], element_id=note["element_id"],
                       line=note["line"])


def drop_repeated_expression_errors(report):
    """An expression the translator refused is still in the tree as written, so the compile checks refuse
    it too: keep only the translator's reason."""
    refused = {(issue.element_id, issue.line) for issue in report.issues if issue.code == "expression_invalid"}
    report.issues[:] = [issue for issue in report.issues if not (
        issue.code in _REPEATED_BY_TRANSLATION and (issue.element_id, issue.line) in refused)]
