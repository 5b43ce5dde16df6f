"""Form patterns (``engine.forms``): matched as JSON Schema says, and never for longer than the time limit."""

import time

from engine.forms import NON_FIELD_ERRORS, PATTERN_SECONDS, form_errors

# Python's re needs exponential time on these against 40 characters that almost match.
CATASTROPHIC = "^(a|a)*$"
NEARLY = "a" * 40 + "!"


def test_a_pattern_matches_anywhere_in_the_value_as_json_schema_says():
    schema = {"type": "object", "properties": {"nik": {"type": "string", "pattern": "[0-9]{16}"}}}
    assert form_errors(schema, {"nik": "NIK 3578012345678901"}) == {}
    assert form_errors(schema, {"nik": "3578-0123"}) == {"nik": ["'3578-0123' does not match '[0-9]{16}'"]}
    assert form_errors(schema, {"nik": 3578}) == {"nik": ["3578 is not of type 'string'"]}


def test_a_pattern_that_backtracks_without_end_is_refused_within_the_time_limit():
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": CATASTROPHIC}}}
    started = time.monotonic()
    errors = form_errors(schema, {"code": NEARLY})
    assert time.monotonic() - started < 10 * PATTERN_SECONDS
    assert errors == {"code": [f"Checking the value against the pattern {CATASTROPHIC!r} took too long."]}
    assert form_errors(schema, {"code": "aaaa"}) == {}


def test_property_name_patterns_are_time_limited_too():
    schema = {"type": "object", "patternProperties": {CATASTROPHIC: {"type": "integer"}},
              "additionalProperties": False}
    started = time.monotonic()
    errors = form_errors(schema, {NEARLY: 1})
    assert time.monotonic() - started < 20 * PATTERN_SECONDS
    assert "took too long" in " ".join(errors[NON_FIELD_ERRORS])


def test_pattern_properties_and_additional_properties_keep_their_meaning():
    schema = {"type": "object", "properties": {"nama": {"type": "string"}},
              "patternProperties": {"^dok_": {"type": "string"}}, "additionalProperties": False}
    assert form_errors(schema, {"nama": "Budi", "dok_ktp": "ada"}) == {}
    assert form_errors(schema, {"dok_ktp": 5}) == {"dok_ktp": ["5 is not of type 'string'"]}
    assert form_errors(schema, {"alamat": "Jl. Merdeka"}) == {
        NON_FIELD_ERRORS: ["Additional properties are not allowed ('alamat' unexpected)"]}
    typed = {"type": "object", "properties": {}, "additionalProperties": {"type": "integer"}}
    assert form_errors(typed, {"lantai": "dua"}) == {"lantai": ["'dua' is not of type 'integer'"]}
