"""Task forms as JSON Schema: which draft a schema is written in, and the errors of submitted data.

A schema without ``$schema`` is read as draft 2020-12. Errors are keyed by the field's dotted path
(``amount``, ``address.city``, ``items.0.name``); problems of the form as a whole are under
``non_field_errors``, as Django REST Framework names them. Formats (``date``, ``email``...) are
checked.
"""

from functools import cache

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

NON_FIELD_ERRORS = "non_field_errors"


def task_form(catalog, element_id):
    """The form of a task in a definition's element catalog, ``{"schema", "ui_schema"}``; or None."""
    form = (catalog or {}).get(element_id, {}).get("form")
    return {"schema": form["schema"], "ui_schema": form.get("ui_schema")} if form else None


def _required(validator, required, instance, schema):
    """``required``, reported on the missing field itself rather than on the object holding it."""
    if not validator.is_type(instance, "object"):
        return
    for name in required:
        if name not in instance:
            yield ValidationError("This field is required.", path=[name])


@cache
def _checking_class(base):
    return validators.extend(base, {"required": _required})


def schema_validator_class(schema):
    """The jsonschema validator class for the draft ``schema`` names (2020-12 when it names none)."""
    return validators.validator_for(schema, default=Draft202012Validator)


def _message(error):
    options = error.validator_value if error.validator in ("oneOf", "anyOf") else None
    if options and all(isinstance(option, dict) and "const" in option for option in options):
        return "Must be one of: " + ", ".join(repr(option["const"]) for option in options) + "."
    return error.message


def form_errors(schema, data):
    """``{field path: [messages]}`` of everything wrong with ``data`` under ``schema`` ({} when valid)."""
    base = schema_validator_class(schema)
    validator = _checking_class(base)(schema, format_checker=base.FORMAT_CHECKER)
    errors = {}
    for error in sorted(validator.iter_errors(data), key=lambda item: list(map(str, item.absolute_path))):
        field = ".".join(str(part) for part in error.absolute_path) or NON_FIELD_ERRORS
        messages = errors.setdefault(field, [])
        if _message(error) not in messages:
            messages.append(_message(error))
    return errors
