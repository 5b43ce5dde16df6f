"""Task forms at deploy time: Camunda 7 form fields converted to JSON Schema, and JSON Schema files.

A user task's form comes from one of (the first that applies):

1. SpiffArena: ``spiffworkflow:property name="formJsonSchemaFilename"`` (and ``formUiSchemaFilename``)
   names a file deployed with the model;
2. a form file named after the task: ``<element id>.json`` (its UI schema, optionally,
   ``<element id>.uischema.json``), from the process folder's ``forms/`` or uploaded as ``forms``;
3. Camunda 7: ``camunda:formData`` with its ``camunda:formField`` elements.

Form files are given as ``{file name: bytes}``. A referenced file that is missing, is not JSON, or is
not a valid JSON Schema raises ``FormProblem``; the deploy answers 400.
"""

import json

from jsonschema.exceptions import SchemaError

from engine.forms import schema_validator_class

from .expression_translator import is_camunda_expression

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_FORM_FILE_BYTES = 1024 * 1024

_CAMUNDA_TYPES = {
    "string": {"type": "string"},
    "long": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "enum": {"type": "string"},
}
_CAMUNDA_CONSTRAINTS = {"minlength": "minLength", "maxlength": "maxLength", "min": "minimum", "max": "maximum"}


class FormProblem(ValueError):
    """A form cannot be used; ``line`` is where it is written, when known."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.line = line


# ----------------------------------------------------------------------------- JSON Schema files


def _local_ref_problem(reference, schema):
    if reference == "#":
        return None
    if reference.startswith("#/"):
        node = schema
        for part in reference[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return f"$ref {reference!r} points at nothing in the schema"
        return None
    return f"$ref {reference!r} is not a reference inside the schema (only '#/...' references are supported)"


def _ref_problems(node, schema):
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str):
            problem = _local_ref_problem(reference, schema)
            if problem:
                yield problem
        for value in node.values():
            yield from _ref_problems(value, schema)
    elif isinstance(node, list):
        for value in node:
            yield from _ref_problems(value, schema)


def check_schema(schema, what):
    """Raise ``FormProblem`` unless ``schema`` is a JSON Schema object whose references stay inside it."""
    if not isinstance(schema, dict):
        raise FormProblem(f"{what} is not a JSON Schema: it must be a JSON object.")
    try:
        schema_validator_class(schema).check_schema(schema)
    except SchemaError as problem:
        where = "/".join(str(part) for part in problem.absolute_path) or "the top level"
        raise FormProblem(f"{what} is not a valid JSON Schema (at {where}): {problem.message}.") from None
    for problem in _ref_problems(schema, schema):
        raise FormProblem(f"{what}: {problem}.")


def load_json_file(name, form_files, *, line=None):
    """The JSON in the form file ``name`` (from ``{file name: bytes}``), or ``FormProblem``."""
    content = form_files.get(name)
    if content is None:
        raise FormProblem(f"The form file '{name}' was not deployed with the model.", line)
    if len(content) > MAX_FORM_FILE_BYTES:
        raise FormProblem(f"The form file '{name}' is larger than {MAX_FORM_FILE_BYTES:,} bytes.", line)
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as problem:
        raise FormProblem(f"The form file '{name}' is not valid JSON: {problem}.", line) from None


def schema_file(name, form_files, *, line=None):
    """The JSON Schema in the form file ``name``, checked."""
    schema = load_json_file(name, form_files, line=line)
    try:
        check_schema(schema, f"The form file '{name}'")
    except FormProblem as problem:
        raise FormProblem(str(problem), line) from None
    return schema


# ----------------------------------------------------------------------------- Camunda 7 formData


def _number(text, field_id, constraint, line):
    try:
        number = float(text)
    except (TypeError, ValueError):
        raise FormProblem(f"Form field '{field_id}': {constraint} needs a number, not {text!r}.", line) from None
    return int(number) if number.is_integer() else number


def _default(field, kind, field_id):
    text = field.get("defaultValue")
    if text is None or is_camunda_expression(text):
        return None  # an expression default is filled in by a form renderer, not by the schema
    if kind == "long":
        return _number(text, field_id, "defaultValue", field.sourceline)
    if kind == "boolean":
        return text.strip().lower() == "true"
    return text


def _enum_options(field, namespace):
    options = [
        {"const": value.get("id"), "title": value.get("name") or value.get("id")}
        for value in field.iterchildren(f"{{{namespace}}}value")
        if value.get("id")
    ]
    if not options:
        raise FormProblem(f"Form field '{field.get('id')}' is an enum without camunda:value entries.",
                          field.sourceline)
    return options


def _constraints(field, namespace):
    validation = field.find(f"{{{namespace}}}validation")
    if validation is None:
        return []
    return [
        ((constraint.get("name") or "").strip().lower(), constraint.get("config"), constraint.sourceline)
        for constraint in validation.iterchildren(f"{{{namespace}}}constraint")
    ]


def _camunda_property(field, namespace):
    """One form field as a JSON Schema property; also whether it is required."""
    field_id = field.get("id")
    kind = (field.get("type") or "string").strip()
    if kind not in _CAMUNDA_TYPES:
        raise FormProblem(f"Form field '{field_id}' has type '{kind}'; supported: {', '.join(_CAMUNDA_TYPES)}.",
                          field.sourceline)
    prop = dict(_CAMUNDA_TYPES[kind])
    if field.get("label"):
        prop["title"] = field.get("label")
    if kind == "enum":
        prop["oneOf"] = _enum_options(field, namespace)
    default = _default(field, kind, field_id)
    if default is not None:
        prop["default"] = default
    required = False
    for name, config, line in _constraints(field, namespace):
        if name == "required":
            required = True
        elif name == "readonly":
            prop["readOnly"] = True
        elif name in _CAMUNDA_CONSTRAINTS:
            value = _number(config, field_id, name, line)
            prop[_CAMUNDA_CONSTRAINTS[name]] = int(value) if name.endswith("length") else value
        # other constraints (custom validator classes) belong to Camunda's Java side and are skipped
    return prop, required


def camunda_form(form_data, namespace):
    """``camunda:formData`` as {"schema": JSON Schema (draft 2020-12), "ui_schema": field order}."""
    properties, required = {}, []
    for field in form_data.iterchildren(f"{{{namespace}}}formField"):
        field_id = field.get("id")
        if not field_id:
            raise FormProblem("A camunda:formField has no id.", field.sourceline)
        if field_id in properties:
            raise FormProblem(f"Form field '{field_id}' is defined twice.", field.sourceline)
        properties[field_id], is_required = _camunda_property(field, namespace)
        if is_required:
            required.append(field_id)
    schema = {"$schema": JSON_SCHEMA_DIALECT, "type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"schema": schema, "ui_schema": {"ui:order": list(properties)}}
