"""What modeling tools write on human tasks: assignment, due dates, priority and form (plain lxml).

At deploy time every ``userTask`` and ``manualTask`` of the process (sub-processes and processes it
calls in the same file included) gets an entry in the definition's *element catalog*, read from the
dialect the modeling tool wrote:

- Camunda 7 (Camunda Modeler, "Camunda Platform 7"): attributes on the task, ``camunda:assignee``,
  ``camunda:candidateUsers`` and ``camunda:candidateGroups`` (comma-separated), ``camunda:dueDate``,
  ``camunda:followUpDate``, ``camunda:priority``; values are literals or JUEL ``${...}``/``#{...}``;
  the form is ``camunda:formData``.
- Camunda 8 (Zeebe): ``zeebe:assignmentDefinition`` (assignee, candidateGroups, candidateUsers),
  ``zeebe:taskSchedule`` (dueDate, followUpDate) and ``zeebe:priorityDefinition`` (priority) in
  ``extensionElements``; values are literals or FEEL after a leading ``=``.
- SpiffArena: ``spiffworkflow:properties`` name the form's JSON Schema files; lane owners are a
  process variable (``lane_owners``), applied when the task is created (engine.services.task_setup).

An entry holds only what the task says (every key is optional)::

    {"line": 12, "assignee": VALUE, "candidate_users": [VALUE, ...], "candidate_groups": [VALUE, ...],
     "due_date": VALUE, "follow_up_date": VALUE, "priority": VALUE,
     "form": {"schema": {...}, "ui_schema": {...} | None, "source": "..."}}

where VALUE is ``{"text": as written, "value": literal}`` or ``{"text": as written, "expression":
sandbox expression}`` (translated by ``processes.expression_translator``). Dates given as literals
must be ISO 8601 date-times or durations; a priority literal is a whole number, clamped to 0..100.
Everything that cannot be used is collected into one ``DefinitionInvalidError`` naming element and
line.
"""

from dataclasses import dataclass, field

from engine.due_dates import is_date_value
from engine.exceptions import DefinitionInvalidError

from .bpmn_xml import bpmn, error, flow_elements, local_name
from .expression_translator import UntranslatableExpression, camunda_value, feel, split_camunda_list
from .forms import FormProblem, camunda_form, load_json_file, schema_file

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

HUMAN_TASK_TAGS = frozenset({"userTask", "manualTask"})
MIN_PRIORITY, MAX_PRIORITY = 0, 100


def clamp_priority(number):
    """A task priority within 0..100 (the inbox sorts by it; 50 is the default)."""
    return min(max(int(number), MIN_PRIORITY), MAX_PRIORITY)


def _camunda(name):
    return f"{{{CAMUNDA_NS}}}{name}"


def _zeebe(name):
    return f"{{{ZEEBE_NS}}}{name}"


def _spiff(name):
    return f"{{{SPIFF_NS}}}{name}"


@dataclass
class ElementCatalog:
    """The catalog entries by element id, and the form files they use (part of the version's checksum)."""

    entries: dict = field(default_factory=dict)
    used_form_files: dict = field(default_factory=dict)


class _TaskReader:
    """Reads one task's entry; problems are collected as error dicts rather than raised."""

    def __init__(self, task, form_files, catalog):
        self.task = task
        self.element_id = task.get("id")
        self.form_files = form_files
        self.catalog = catalog
        self.errors = []

    def problem(self, message, line=None):
        self.errors.append(error(message, line or self.task.sourceline, self.element_id))

    # --- values ---

    def value(self, text, what, line, *, feel_dialect):
        """A VALUE for ``text`` (None when empty); untranslatable expressions are reported."""
        text = (text or "").strip()
        if not text:
            return None
        try:
            if feel_dialect:
                expression = feel(text[1:]) if text.startswith("=") else None
            else:
                expression = camunda_value(text)
        except UntranslatableExpression as reason:
            self.problem(f"{what} {text!r} cannot be translated: {reason}.", line)
            return None
        return {"text": text, "expression": expression} if expression is not None else {"text": text, "value": text}

    def candidates(self, text, what, line, *, feel_dialect):
        text = (text or "").strip()
        if feel_dialect and text.startswith("="):
            items = [text]
        elif feel_dialect:
            items = [item.strip() for item in text.split(",") if item.strip()]
        else:
            items = split_camunda_list(text)
        values = [self.value(item, what, line, feel_dialect=feel_dialect) for item in items]
        return [value for value in values if value is not None]

    def date(self, text, what, line, *, feel_dialect):
        value = self.value(text, what, line, feel_dialect=feel_dialect)
        if value is not None and "value" in value and not is_date_value(value["value"]):
            self.problem(f"{what} {value['text']!r} is neither an ISO 8601 date-time nor a duration (P3D).", line)
            return None
        return value

    def priority(self, text, what, line, *, feel_dialect):
        value = self.value(text, what, line, feel_dialect=feel_dialect)
        if value is None or "expression" in value:
            return value
        try:
            number = int(value["value"])
        except ValueError:
            self.problem(f"{what} {value['text']!r} is not a whole number.", line)
            return None
        return {"text": value["text"], "value": clamp_priority(number)}

    # --- dialects ---

    def camunda7(self, entry):
        line = self.task.sourceline
        readers = [
            ("assignee", "assignee", self.value),
            ("candidate_users", "candidateUsers", self.candidates),
            ("candidate_groups", "candidateGroups", self.candidates),
            ("due_date", "dueDate", self.date),
            ("follow_up_date", "followUpDate", self.date),
            ("priority", "priority", self.priority),
        ]
        for key, attribute, read in readers:
            text = self.task.get(_camunda(attribute))
            if text is not None:
                self.put(entry, key, read(text, f"camunda:{attribute}", line, feel_dialect=False))

    def zeebe(self, entry, extensions):
        readers = [
            ("assignmentDefinition", "assignee", "assignee", self.value),
            ("assignmentDefinition", "candidateUsers", "candidate_users", self.candidates),
            ("assignmentDefinition", "candidateGroups", "candidate_groups", self.candidates),
            ("taskSchedule", "dueDate", "due_date", self.date),
            ("taskSchedule", "followUpDate", "follow_up_date", self.date),
            ("priorityDefinition", "priority", "priority", self.priority),
        ]
        for tag, attribute, key, read in readers:
            node = extensions.find(_zeebe(tag))
            if node is not None and node.get(attribute) is not None:
                what = f"zeebe:{tag} {attribute}"
                self.put(entry, key, read(node.get(attribute), what, node.sourceline, feel_dialect=True))

    @staticmethod
    def put(entry, key, value):
        if value:
            entry[key] = value

    # --- form ---

    def use_file(self, name, reader, line):
        result = reader(name, self.form_files, line=line)
        self.catalog.used_form_files[name] = self.form_files[name]
        return result

    def ui_schema(self, name, line):
        ui_schema = self.use_file(name, load_json_file, line)
        if not isinstance(ui_schema, dict):
            raise FormProblem(f"The UI schema file '{name}' must hold a JSON object.", line)
        return ui_schema

    def form(self, extensions):
        try:
            return self._form(extensions)
        except FormProblem as problem:
            self.problem(str(problem), problem.line)
            return None

    def _form(self, extensions):
        properties = {}
        if extensions is not None:
            for node in extensions.iter(_spiff("property")):
                properties[node.get("name")] = (node.get("value") or "").strip(), node.sourceline
        schema_name, line = properties.get("formJsonSchemaFilename", ("", None))
        if schema_name:
            ui_name, ui_line = properties.get("formUiSchemaFilename", ("", None))
            return {
                "schema": self.use_file(schema_name, schema_file, line),
                "ui_schema": self.ui_schema(ui_name, ui_line) if ui_name else None,
                "source": f"spiffworkflow:formJsonSchemaFilename {schema_name}",
            }
        own_name = f"{self.element_id}.json"
        if own_name in self.form_files:
            ui_name = f"{self.element_id}.uischema.json"
            return {
                "schema": self.use_file(own_name, schema_file, None),
                "ui_schema": self.ui_schema(ui_name, None) if ui_name in self.form_files else None,
                "source": f"forms/{own_name}",
            }
        form_data = extensions.find(_camunda("formData")) if extensions is not None else None
        if form_data is not None and len(form_data):
            return {**camunda_form(form_data, CAMUNDA_NS), "source": "camunda:formData"}
        return None

    def entry(self):
        entry = {"line": self.task.sourceline}
        self.camunda7(entry)
        extensions = self.task.find(bpmn("extensionElements"))
        if extensions is not None:
            self.zeebe(entry, extensions)
        self.put(entry, "form", self.form(extensions))
        return entry


def _processes(tree, process_id):
    """The process and those it calls (call activities) that are in the same file."""
    available = {process.get("id"): process for process in tree.getroot().findall(bpmn("process"))}
    found, pending = [], [process_id]
    while pending:
        current = pending.pop()
        if current in (process.get("id") for process in found) or current not in available:
            continue
        found.append(available[current])
        pending.extend(
            call.get("calledElement") for call in available[current].iter(bpmn("callActivity"))
            if call.get("calledElement")
        )
    return found


def element_catalog(tree, process_id, form_files=None):
    """The ``ElementCatalog`` of the process's user and manual tasks, or ``DefinitionInvalidError``.

    ``form_files`` is ``{file name: bytes}``: the JSON files deployed with the model.
    """
    catalog = ElementCatalog()
    errors = []
    for process in _processes(tree, process_id):
        for element in flow_elements(process):
            if local_name(element) not in HUMAN_TASK_TAGS:
                continue
            reader = _TaskReader(element, form_files or {}, catalog)
            catalog.entries[element.get("id")] = reader.entry()
            errors.extend(reader.errors)
    if errors:
        raise DefinitionInvalidError(
            "The process has task assignments, dates, priorities or forms that cannot be used.",
            sorted(errors, key=lambda item: item["line"] or 0),
        )
    return catalog
