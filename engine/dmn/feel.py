"""FEEL literals and expressions of decision tables, compiled for the restricted evaluator.

A cell is either a *literal* (``"text"``, ``12``, ``-2.5``, ``true``, ``null``, ``date("2026-01-01")``,
``date and time("2026-01-01T09:00:00")``), kept as a Python value, or an *expression*, translated once
at parse time into an ``engine.expressions.sandbox`` expression: first as FEEL by
``processes.expression_translator`` (names, paths, comparisons, ``and``/``or``/``not()``, lists); when
that subset does not cover it, the text is accepted as written if it is a valid restricted-Python
expression (arithmetic such as ``amount * 0.01``, which is also what SpiffArena models contain). Nothing
else is accepted, and nothing here runs Python's ``eval``.
"""

import re
from datetime import date, datetime

from engine.exceptions import ScriptError
from engine.expressions import sandbox
from processes.expression_translator import UntranslatableExpression, feel

from .model import Compiled


class FeelError(ValueError):
    """A cell of a decision table is outside the supported FEEL subset."""


_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"$', re.DOTALL)
_NUMBER = re.compile(r"^-?\s*\d+(\.\d+)?$")
_TEMPORAL = re.compile(r'^(date and time|date|time)\s*\(\s*"([^"]*)"\s*\)$')
_CONSTANTS = {"true": True, "false": False, "null": None}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}

NO_LITERAL = object()


def unescape(body):
    return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match.group(1), match.group(1)), body)


def temporal(kind, text):
    """The Python value of FEEL ``date("...")`` / ``date and time("...")``; FeelError when malformed."""
    try:
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "date and time":
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FeelError(f"{kind}(\"{text}\") is not a valid {kind}") from None
    raise FeelError(f"{kind}(...) values are not supported")


def number(text):
    text = text.replace(" ", "")
    return float(text) if "." in text else int(text)


def literal(text):
    """The value of a FEEL literal, or ``NO_LITERAL`` when the text is not one."""
    text = text.strip()
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    match = _STRING.match(text)
    if match:
        return unescape(match.group(1))
    if _NUMBER.match(text):
        return number(text)
    match = _TEMPORAL.match(text)
    if match:
        return temporal(match.group(1), match.group(2))
    return NO_LITERAL


def expression(text):
    """The sandbox expression for a FEEL (or restricted-Python) expression; FeelError if neither."""
    text = text.strip()
    if text.startswith("="):  # Camunda 8 writes some expressions with Zeebe's leading "="
        text = text[1:].strip()
    try:
        return feel(text)
    except UntranslatableExpression as feel_problem:
        try:
            sandbox.check_syntax(text, "eval")
        except ScriptError:
            raise FeelError(f"'{text}' is outside the supported FEEL subset: {feel_problem}") from None
        return text


def compile_cell(text, line):
    """A literal or expression cell (input expression, output entry) as ``Compiled``; empty is null."""
    text = (text or "").strip()
    if not text:
        return Compiled(text, line, constant=None)
    value = literal(text)
    if value is not NO_LITERAL:
        return Compiled(text, line, constant=value)
    return Compiled(text, line, expression=expression(text))


def run(compiled, context):
    """The value of a compiled cell on ``context``; ScriptError when the expression fails."""
    if compiled.expression is None:
        return compiled.constant
    return sandbox.evaluate(compiled.expression, context)
