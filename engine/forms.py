"""Task forms as JSON Schema: which draft a schema is written in, and the errors of submitted data.

A schema without ``$schema`` is read as draft 2020-12. Errors are keyed by the field's dotted path
(``amount``, ``address.city``, ``items.0.name``); problems of the form as a whole are under
``non_field_errors``, as Django REST Framework names them. Formats (``date``, ``email``...) are
checked.

The form's regular expressions (``pattern``, ``patternProperties`` and the ``additionalProperties`` that
depend on them) come from whoever drew the model; a pattern like ``^(a|a)*$`` takes Python's ``re``
longer than the universe's age on 40 characters. They are matched with the ``regex`` package under a
time limit (``PATTERN_SECONDS``): a value whose check runs out of time is refused with that reason.
"""

from functools import cache

import regex
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

NON_FIELD_ERRORS = "non_field_errors"
# The longest one pattern may take on one value (a sane pattern takes microseconds).
PATTERN_SECONDS = 0.1


class _PatternTooSlow(Exception):
    pass


def _matches(pattern, text):
    """Whether ``pattern`` matches somewhere in ``text`` (JSON Schema's rule), within ``PATTERN_SECONDS``."""
    try:
        return regex.search(pattern, text, timeout=PATTERN_SECONDS) is not None
    except TimeoutError as error:
        raise _PatternTooSlow from error


def _too_slow(pattern):
    return ValidationError(f"Checking the value against the pattern {pattern!r} took too long.")


def _pattern(validator, pattern, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    try:
        if not _matches(pattern, instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")
    except _PatternTooSlow:
        yield _too_slow(pattern)


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for name, value in instance.items():
            try:
                matched = _matches(pattern, name)
            except _PatternTooSlow:
                yield _too_slow(pattern)
                continue
            if matched:
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):
    """Draft 2020-12's ``additionalProperties``, with the property names matched under the time limit."""
    if not validator.is_type(instance, "object"):
        return
    named, patterns = schema.get("properties", {}), list(schema.get("patternProperties", {}))
    extras = []
    for name in instance:
        if name in named:
            continue
        try:
            if any(_matches(pattern, name) for pattern in patterns):
                continue
        except _PatternTooSlow:
            yield ValidationError(f"Checking the property name {name!r} against the patterns took too long.")
            continue
        extras.append(name)
    if validator.is_type(additional, "object"):
        for name in extras:
            yield from validator.descend(instance[name], additional, path=name)
    elif not additional and extras:
        names = ", ".join(repr(name) for name in sorted(extras, key=str))
        yield ValidationError(f"Additional properties are not allowed ({names} unexpected)")


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
    return validators.extend(base, {"required": _required, "pattern": _pattern,
                                    "patternProperties": _pattern_properties,
                                    "additionalProperties": _additional_properties})


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
