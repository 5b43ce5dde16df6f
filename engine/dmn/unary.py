"""FEEL unary tests: the input entries of a decision table rule.

Supported forms (``x`` is the input value)::

    -   or empty            any value
    "a"  12  true  null      x equals the value (a name or path, e.g. ``limit``, compares with that variable)
    < 10  <= 10  > 5  >= 5   comparisons (also with dates: ``< date("2026-01-01")``)
    != "a"                   x differs from the value
    [1..10]  (1..10]  ]1..10[  [1..10)   ranges; ``(``/``]`` on the left and ``)``/``[`` on the right are open
    "a", "b"   1, 2, 3       any of the tests
    not("a", "b")            none of the tests
    ? > 5 and ? < 10         an expression on ``?`` (translated like any other expression)

Values of different kinds never match (a text is not equal to a number, null is less than nothing),
as in FEEL where such a comparison is null. Text input compared with a date becomes a date when it is
an ISO 8601 date.
"""

import operator
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from . import feel
from .feel import FeelError
from .model import Compiled

INPUT_NAME = "dmn_input_value"

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<temporal>(?:date\s+and\s+time|date|time)\s*\(\s*"[^"]*"\s*\))
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<range>\.\.)
      | (?P<op><=|>=|!=|==|<|>|=|\[|\]|\(|\)|,|-)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
            "=": operator.eq, "!=": operator.ne}  # fmt: skip


@dataclass(frozen=True)
class UnaryTests:
    """A parsed input entry; ``matches(value, context)`` says whether the input value passes."""

    text: str
    tests: tuple  # any of them passing is a match; empty: any value matches
    negated: bool = False
    expression: str | None = None  # the ``?`` form, as a sandbox expression

    @property
    def is_any(self):
        return not self.tests and self.expression is None

    def matches(self, value, context):
        if self.expression is not None:
            return feel.run(Compiled(self.text, None, expression=self.expression), {**context, INPUT_NAME: value}) \
                is True
        if not self.tests:
            return True
        hit = any(test.matches(value, context) for test in self.tests)
        return not hit if self.negated else hit


@dataclass(frozen=True)
class _Comparison:
    operator: str
    endpoint: Compiled

    def matches(self, value, context):
        return compare(value, self.operator, feel.run(self.endpoint, context))


@dataclass(frozen=True)
class _Range:
    low: Compiled
    low_closed: bool
    high: Compiled
    high_closed: bool

    def matches(self, value, context):
        return (
            compare(value, ">=" if self.low_closed else ">", feel.run(self.low, context))
            and compare(value, "<=" if self.high_closed else "<", feel.run(self.high, context))
        )


def _kind(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    return type(value).__name__


def _aware(moment):
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _coerced(value, endpoint):
    """The input value in the endpoint's kind where FEEL-like usage expects it (ISO text as a date)."""
    if isinstance(endpoint, datetime):
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
        elif isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        return _aware(value) if isinstance(value, datetime) else value
    if isinstance(endpoint, date):
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10]) if len(value) >= 10 else value
            except ValueError:
                return value
        if isinstance(value, datetime):
            return value.date()
    return value


def compare(value, operator_symbol, endpoint):
    """``value <op> endpoint`` in FEEL's spirit: different kinds (or null in an order) never match."""
    value = _coerced(value, endpoint)
    if isinstance(endpoint, datetime):
        endpoint = _aware(endpoint)
    if operator_symbol in ("=", "!="):
        same = _kind(value) == _kind(endpoint) and value == endpoint
        return same if operator_symbol == "=" else not same
    if value is None or endpoint is None or _kind(value) != _kind(endpoint):
        return False
    try:
        return _COMPARE[operator_symbol](value, endpoint)
    except TypeError:
        return False


# ------------------------------------------------------------------------------------------- parsing

def _tokens(text):
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FeelError(f"unexpected {text[position:].strip()[:20]!r}")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text, line):
        self.text = text
        self.line = line
        self.tokens = _tokens(text)
        self.position = 0

    def peek(self, offset=0):
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else (None, None)

    def take(self, expected=None):
        if self.position >= len(self.tokens):
            raise FeelError("the test ends too early")
        kind, value = self.tokens[self.position]
        if expected is not None and value != expected:
            raise FeelError(f"expected {expected!r}, found {value!r}")
        self.position += 1
        return kind, value

    def parse(self):
        if self.peek() == ("name", "not") and self.peek(1)[1] == "(":
            self.take()
            self.take("(")
            tests = self.test_list()
            self.take(")")
            negated = True
        else:
            tests, negated = self.test_list(), False
        if self.position < len(self.tokens):
            raise FeelError(f"{self.peek()[1]!r} is not expected here")
        return UnaryTests(self.text, tuple(tests), negated)

    def test_list(self):
        tests = [self.test()]
        while self.peek()[1] == ",":
            self.take(",")
            tests.append(self.test())
        return tests

    def test(self):
        kind, value = self.peek()
        if kind == "op" and value in _COMPARE and value != "=":
            self.take()
            return _Comparison(value, self.endpoint())
        if kind == "op" and value in ("=", "=="):  # "==" is how SpiffArena tables write it
            self.take()
            return _Comparison("=", self.endpoint())
        if kind == "op" and value in ("[", "(", "]"):
            return self.range()
        return _Comparison("=", self.endpoint())

    def range(self):
        low_closed = self.take()[1] == "["
        low = self.endpoint()
        self.take("..")
        high = self.endpoint()
        kind, closing = self.take()
        if closing not in ("]", ")", "["):
            raise FeelError(f"a range ends with ']', ')' or '[', not {closing!r}")
        return _Range(low, low_closed, high, closing == "]")

    def endpoint(self):
        kind, value = self.take()
        if kind == "op" and value == "-" and self.peek()[0] == "number":
            return Compiled("-" + self.peek()[1], self.line, constant=-feel.number(self.take()[1]))
        if kind in ("string", "number", "temporal") or (kind == "name" and value in ("true", "false", "null")):
            constant = feel.literal(value)
            if constant is feel.NO_LITERAL:
                raise FeelError(f"{value!r} is not a valid value")
            return Compiled(value, self.line, constant=constant)
        if kind == "name" and value not in ("not", "and", "or"):
            return Compiled(value, self.line, expression=feel.expression(value))
        raise FeelError(f"{value!r} is not a value")


def parse_unary_tests(text, line=None):
    """The ``UnaryTests`` of an input entry's text; FeelError when it is outside the subset."""
    text = (text or "").strip()
    if text in ("", "-"):
        return UnaryTests(text, ())
    if re.search(r'\?(?=(?:[^"]*"[^"]*")*[^"]*$)', text):
        replaced = re.sub(r'\?(?=(?:[^"]*"[^"]*")*[^"]*$)', INPUT_NAME, text)
        return UnaryTests(text, (), expression=feel.expression(replaced))
    return _Parser(text, line).parse()
