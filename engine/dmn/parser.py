"""Reading DMN 1.1 to 1.5 files (Camunda, Flowable, SpiffWorkflow, SpiffArena, bpmn.io) into ``Decision``s.

The XML is read by ``processes.bpmn_xml.parse_xml`` (size cap, no DTD, no entities, no network). The
DMN namespace differs between versions; elements are looked up in whichever DMN namespace the root
element uses. Every cell is compiled at parse time (``engine.dmn.feel``, ``engine.dmn.unary``), so a
table that parses never meets a syntax problem while it runs. All problems of a file are collected
and raised together as one ``DefinitionInvalidError``, each naming the file, decision, rule and line.
"""

import re

from lxml import etree

from engine.exceptions import DefinitionInvalidError
from processes.bpmn_xml import parse_xml

from .feel import FeelError, compile_cell
from .model import AGGREGATIONS, Decision, DecisionSet, DecisionTable, HitPolicy, InputClause, OutputClause, Rule
from .unary import parse_unary_tests

DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "https://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "https://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
}
_OTHER_DMN_NAMESPACE = re.compile(r"^https?://www\.omg\.org/spec/DMN/\d{8}/")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HIT_POLICIES = {policy.value: policy for policy in HitPolicy}


def _problem(message, line, element_id=None):
    return {"message": message, "line": line, "element_id": element_id}


def _read_xml(content, filename):
    try:
        return parse_xml(content).getroot()
    except DefinitionInvalidError as error:
        errors = [{**item, "message": f"{filename}: {item['message']}".replace("BPMN files", "DMN files")}
                  for item in error.errors]
        raise DefinitionInvalidError(f"The DMN file {filename} cannot be read.", errors) from None


def _dmn_namespace(root, filename):
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "definitions" or not (
        namespace in DMN_NAMESPACES or _OTHER_DMN_NAMESPACE.match(namespace)
    ):
        message = f"{filename}: the root element must be DMN 'definitions' (found '{root.tag}')."
        raise DefinitionInvalidError(f"{filename} is not a DMN file.", [_problem(message, root.sourceline)])
    return namespace


class _FileReader:
    """Reads the decisions of one DMN file, collecting problems instead of stopping at the first."""

    def __init__(self, root, namespace, filename):
        self.root = root
        self.ns = namespace
        self.filename = filename
        self.errors = []

    def tag(self, name):
        return f"{{{self.ns}}}{name}"

    def text_of(self, element, child="text"):
        found = element.find(self.tag(child)) if element is not None else None
        return (found.text or "").strip() if found is not None else ""

    def fail(self, message, node, element_id=None):
        self.errors.append(_problem(f"{self.filename}: {message}", node.sourceline if node is not None else None,
                                    element_id))

    def decisions(self):
        found = {}
        for node in self.root.iterchildren(self.tag("decision")):
            decision = self.decision(node)
            if decision is None:
                continue
            if decision.id in found:
                self.fail(f"decision id '{decision.id}' is used twice.", node, decision.id)
            found[decision.id] = decision
        return found

    def decision(self, node):
        decision_id = node.get("id")
        if not decision_id:
            self.fail("a decision has no id.", node)
            return None
        table_node = node.find(self.tag("decisionTable"))
        table = self.table(decision_id, table_node) if table_node is not None else None
        return Decision(
            id=decision_id,
            name=node.get("name") or decision_id,
            table=table,
            required_decisions=self.required_decisions(node),
            filename=self.filename,
            line=node.sourceline,
        )

    def required_decisions(self, node):
        required = []
        for requirement in node.iterchildren(self.tag("informationRequirement")):
            for reference in requirement.iterchildren(self.tag("requiredDecision")):
                href = (reference.get("href") or "").strip()
                if href:
                    required.append(href.split("#", 1)[-1])
        return tuple(required)

    def table(self, decision_id, node):
        where = f"decision '{decision_id}'"
        policy_text = (node.get("hitPolicy") or "UNIQUE").strip().upper()
        hit_policy = _HIT_POLICIES.get(policy_text)
        if hit_policy is None:
            self.fail(f"{where}: hit policy '{policy_text}' is not supported.", node, decision_id)
            hit_policy = HitPolicy.UNIQUE
        aggregation = (node.get("aggregation") or "").strip().upper() or None
        if aggregation is not None and (hit_policy != HitPolicy.COLLECT or aggregation not in AGGREGATIONS):
            self.fail(f"{where}: aggregation '{aggregation}' is not supported (COLLECT with SUM, MIN, MAX or "
                      "COUNT only).", node, decision_id)
            aggregation = None
        inputs = tuple(self.input_clause(where, decision_id, child)
                       for child in node.iterchildren(self.tag("input")))
        outputs = tuple(self.output_clause(where, index, child, decision_id)
                        for index, child in enumerate(node.iterchildren(self.tag("output")), start=1))
        if not outputs:
            self.fail(f"{where}: the decision table has no output.", node, decision_id)
        if aggregation and len(outputs) > 1:
            self.fail(f"{where}: COLLECT {aggregation} needs a table with a single output.", node, decision_id)
        if hit_policy in (HitPolicy.PRIORITY, HitPolicy.OUTPUT_ORDER) and not any(o.output_values for o in outputs):
            self.fail(f"{where}: hit policy {hit_policy} needs output values (the priority order) on an output.",
                      node, decision_id)
        rules = tuple(self.rule(where, decision_id, index, child, inputs, outputs)
                      for index, child in enumerate(node.iterchildren(self.tag("rule")), start=1))
        for position, clause in enumerate(inputs):
            if not clause.expression.text and any(
                position < len(rule.input_entries) and not rule.input_entries[position].is_any for rule in rules
            ):
                self.fail(f"{where}: input '{clause.label or clause.id}' has no input expression, but rules test "
                          "it.", node, decision_id)
        return DecisionTable(node.get("id") or decision_id, hit_policy, aggregation, inputs, outputs, rules,
                             node.sourceline)

    def input_clause(self, where, decision_id, node):
        expression_node = node.find(self.tag("inputExpression"))
        text = self.text_of(expression_node)
        label = node.get("label") or ""
        clause_id = node.get("id") or ""
        line = expression_node.sourceline if expression_node is not None else node.sourceline
        if not text and _IDENTIFIER.match(label):
            text = label  # older SpiffWorkflow tables name the variable only in the label
        try:
            compiled = compile_cell(text, line)
        except FeelError as problem:
            self.fail(f"{where}: input expression of '{label or clause_id}': {problem}.", node, decision_id)
            compiled = compile_cell("", line)
        type_ref = expression_node.get("typeRef") if expression_node is not None else None
        return InputClause(clause_id, label, compiled, type_ref, node.sourceline)

    def output_clause(self, where, index, node, decision_id):
        name = node.get("name") or node.get("label") or node.get("id") or f"output_{index}"
        values = ()
        values_text = self.text_of(node.find(self.tag("outputValues")))
        if values_text:
            try:
                tests = parse_unary_tests(values_text, node.sourceline)
                values = tuple(test.endpoint.constant for test in tests.tests
                               if test.operator == "=" and test.endpoint.expression is None)
                if len(values) != len(tests.tests) or tests.negated:
                    raise FeelError("output values must be a list of literals")
            except (FeelError, AttributeError) as problem:
                self.fail(f"{where}: output values of '{name}': {problem}.", node, decision_id)
                values = ()
        return OutputClause(node.get("id") or name, name, node.get("typeRef"), values, node.sourceline)

    def rule(self, where, decision_id, index, node, inputs, outputs):
        rule_id = node.get("id") or f"rule {index}"
        where = f"{where}, rule {index} ('{rule_id}')"
        input_nodes = list(node.iterchildren(self.tag("inputEntry")))
        output_nodes = list(node.iterchildren(self.tag("outputEntry")))
        if len(input_nodes) != len(inputs) or len(output_nodes) != len(outputs):
            self.fail(f"{where} has {len(input_nodes)} input and {len(output_nodes)} output entries; the table "
                      f"has {len(inputs)} inputs and {len(outputs)} outputs.", node, rule_id)
        tests = []
        for entry in input_nodes:
            try:
                tests.append(parse_unary_tests(self.text_of(entry), entry.sourceline))
            except FeelError as problem:
                self.fail(f"{where}: input entry '{self.text_of(entry)}': {problem}.", entry, rule_id)
                tests.append(parse_unary_tests(""))
        cells = []
        for entry in output_nodes:
            try:
                cells.append(compile_cell(self.text_of(entry), entry.sourceline))
            except FeelError as problem:
                self.fail(f"{where}: output entry: {problem}.", entry, rule_id)
                cells.append(compile_cell("", entry.sourceline))
        return Rule(index, rule_id, tuple(tests), tuple(cells), node.sourceline)


def _check_requirements(decisions, errors):
    for decision in decisions.values():
        for required in decision.required_decisions:
            if required not in decisions:
                errors.append(_problem(
                    f"{decision.filename}: decision '{decision.id}' requires decision '{required}', which is not "
                    "in the deployed DMN files.", decision.line, decision.id))
    for decision in decisions.values():
        if _in_cycle(decisions, decision.id):
            errors.append(_problem(f"{decision.filename}: decision '{decision.id}' requires itself (through "
                                   "its required decisions).", decision.line, decision.id))


def _in_cycle(decisions, start):
    pending, seen = list(decisions[start].required_decisions), set()
    while pending:
        current = pending.pop()
        if current == start:
            return True
        if current in seen or current not in decisions:
            continue
        seen.add(current)
        pending.extend(decisions[current].required_decisions)
    return False


def parse_dmn(content, filename="decision.dmn"):
    """The decisions of one DMN file as a ``DecisionSet``; ``DefinitionInvalidError`` lists every problem."""
    root = _read_xml(content, filename)
    reader = _FileReader(root, _dmn_namespace(root, filename), filename)
    decisions = reader.decisions()
    if reader.errors:
        raise DefinitionInvalidError(f"The DMN file {filename} is not valid.", reader.errors)
    return DecisionSet(decisions)


def parse_dmn_files(files):
    """The decisions of several DMN files (``{file name: bytes}``), with their requirements checked.

    A decision id used in two files, a required decision that is missing and a cycle of requirements
    are errors, as are the problems of every file (all are reported together).
    """
    decisions, errors = {}, []
    for filename in sorted(files or {}):
        try:
            found = parse_dmn(files[filename], filename)
        except DefinitionInvalidError as error:
            errors.extend(error.errors)
            continue
        for decision in found:
            if decision.id in decisions:
                errors.append(_problem(
                    f"{filename}: decision id '{decision.id}' is also used in {decisions[decision.id].filename}.",
                    decision.line, decision.id))
            decisions[decision.id] = decision
    _check_requirements(decisions, errors)
    if errors:
        raise DefinitionInvalidError("The DMN files are not valid.", errors)
    return DecisionSet(decisions)
