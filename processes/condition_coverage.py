"""Can all the conditions leaving a gateway be false at once? Decided for the common case.

The common case is conditions that test one variable against constants::

    amount > 1000        amount <= 1000          -> always one holds
    amount > 1000        amount < 500            -> none holds for 500 <= amount <= 1000
    approved == True     approved == False       -> always one holds (also ``approved`` / ``not approved``)
    status == 'new'      status in ('open', 'closed')  -> none holds for any other text

``and``, ``or``, ``not`` and chained comparisons (``500 <= amount < 1000``) combine such tests. The
conditions are only parsed (``ast.parse``), never run. Anything else (two variables, arithmetic,
calls, constants of mixed kinds) is undecidable and answered with ``None``.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

NUMBER, BOOLEAN, TEXT = "number", "boolean", "text"


class Undecidable(Exception):
    """The condition is not a test of one variable against constants."""


# --------------------------------------------------------------------------
# Sets of values, one kind per domain
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    low: float
    low_closed: bool
    high: float
    high_closed: bool

    def is_empty(self) -> bool:
        return self.low > self.high or (self.low == self.high and not (self.low_closed and self.high_closed))


class NumberSet:
    """A union of disjoint intervals of real numbers, in order."""

    def __init__(self, intervals):
        self.intervals = _normalise([interval for interval in intervals if not interval.is_empty()])

    def union(self, other):
        return NumberSet(self.intervals + other.intervals)

    def complement(self):
        gaps, low, low_closed = [], -math.inf, False
        for interval in self.intervals:
            gaps.append(Interval(low, low_closed, interval.low, not interval.low_closed))
            low, low_closed = interval.high, not interval.high_closed
        gaps.append(Interval(low, low_closed, math.inf, False))
        return NumberSet(gaps)

    def intersection(self, other):
        return self.complement().union(other.complement()).complement()

    def example(self):
        """A number in the set (None when empty)."""
        if not self.intervals:
            return None
        first = self.intervals[0]
        if first.low_closed:
            return first.low
        if first.low == -math.inf:
            return first.high - 1 if first.high != math.inf else 0
        if first.high == math.inf:
            return first.low + 1
        return (first.low + first.high) / 2


def _normalise(intervals):
    merged = []
    for interval in sorted(intervals, key=lambda item: (item.low, not item.low_closed)):
        if merged and _touches(merged[-1], interval):
            last = merged[-1]
            if (interval.high, interval.high_closed) > (last.high, last.high_closed):
                merged[-1] = Interval(last.low, last.low_closed, interval.high, interval.high_closed)
        else:
            merged.append(interval)
    return merged


def _touches(left, right):
    return right.low < left.high or (right.low == left.high and (left.high_closed or right.low_closed))


class ValueSet:
    """A finite set of values, or everything except a finite set (``negated``): for texts and booleans."""

    def __init__(self, values, negated=False):
        self.values = frozenset(values)
        self.negated = negated

    def union(self, other):
        if self.negated and other.negated:
            return ValueSet(self.values & other.values, True)
        if self.negated:
            return ValueSet(self.values - other.values, True)
        if other.negated:
            return ValueSet(other.values - self.values, True)
        return ValueSet(self.values | other.values)

    def complement(self):
        return ValueSet(self.values, not self.negated)

    def intersection(self, other):
        return self.complement().union(other.complement()).complement()


def _gap(covered, kind):
    """A value no condition accepts, as text, or None when the conditions cover every value."""
    if kind == NUMBER:
        example = covered.complement().example()
        if example is None:
            return None
        return str(int(example)) if float(example).is_integer() else str(example)
    if kind == BOOLEAN:
        missing = {True, False} - covered.values if not covered.negated else covered.values & {True, False}
        return repr(sorted(missing)[0]) if missing else None
    if covered.negated:
        return repr(sorted(covered.values)[0]) if covered.values else None
    return "any other text"


# --------------------------------------------------------------------------
# Reading conditions
# --------------------------------------------------------------------------

_FLIPPED = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}


def _variable(node):
    """The variable path a test is about (``amount``, ``form.amount``, ``form['amount']``), or None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and _variable(node.value):
        return ast.unparse(node)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and _variable(node.value):
        return ast.unparse(node)
    return None


def _constant(node):
    """(kind, value) of a constant operand; negative numbers included."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        kind, value = _constant(node.operand)
        if kind != NUMBER:
            raise Undecidable
        return kind, -value
    if not isinstance(node, ast.Constant):
        raise Undecidable
    value = node.value
    if isinstance(value, bool):
        return BOOLEAN, value
    if isinstance(value, (int, float)):
        return NUMBER, float(value)
    if isinstance(value, str):
        return TEXT, value
    raise Undecidable


class _Reader:
    """Turns conditions into sets over the one variable they all test."""

    def __init__(self):
        self.variable = None
        self.kind = None

    def use(self, variable, kind):
        if self.variable not in (None, variable) or self.kind not in (None, kind):
            raise Undecidable
        self.variable, self.kind = variable, kind

    def read(self, node):
        if isinstance(node, ast.Expression):
            return self.read(node.body)
        if isinstance(node, ast.BoolOp):
            sets = [self.read(value) for value in node.values]
            combine = (lambda a, b: a.union(b)) if isinstance(node.op, ast.Or) else (lambda a, b: a.intersection(b))
            result = sets[0]
            for other in sets[1:]:
                result = combine(result, other)
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.read(node.operand).complement()
        if isinstance(node, ast.Compare):
            return self.compare(node)
        variable = _variable(node)
        if variable is not None:  # a bare variable is tested for truth
            self.use(variable, BOOLEAN)
            return ValueSet({True})
        raise Undecidable

    def compare(self, node):
        result = None
        left = node.left
        for operator, right in zip(node.ops, node.comparators, strict=True):
            found = self.single(left, operator, right)
            result = found if result is None else result.intersection(found)
            left = right
        return result

    def single(self, left, operator, right):
        if isinstance(operator, (ast.In, ast.NotIn)):
            return self.membership(left, operator, right)
        if isinstance(operator, (ast.Is, ast.IsNot)):
            operator = ast.Eq() if isinstance(operator, ast.Is) else ast.NotEq()
        if _variable(left) is not None:
            variable, (kind, value) = _variable(left), _constant(right)
        elif _variable(right) is not None:
            variable, (kind, value) = _variable(right), _constant(left)
            operator = _FLIPPED[type(operator)]()
        else:
            raise Undecidable
        self.use(variable, kind)
        return _compared(kind, type(operator), value)

    def membership(self, left, operator, right):
        variable = _variable(left)
        if variable is None or not isinstance(right, (ast.Tuple, ast.List, ast.Set)) or not right.elts:
            raise Undecidable
        constants = [_constant(element) for element in right.elts]
        kinds = {kind for kind, _value in constants}
        if len(kinds) != 1:
            raise Undecidable
        kind = kinds.pop()
        self.use(variable, kind)
        found = _compared(kind, ast.Eq, constants[0][1])
        for _kind, value in constants[1:]:
            found = found.union(_compared(kind, ast.Eq, value))
        return found.complement() if isinstance(operator, ast.NotIn) else found


def _compared(kind, operator, value):
    if kind == NUMBER:
        inf = math.inf
        intervals = {
            ast.Lt: [Interval(-inf, False, value, False)],
            ast.LtE: [Interval(-inf, False, value, True)],
            ast.Gt: [Interval(value, False, inf, False)],
            ast.GtE: [Interval(value, True, inf, False)],
            ast.Eq: [Interval(value, True, value, True)],
            ast.NotEq: [Interval(-inf, False, value, False), Interval(value, False, inf, False)],
        }
        if operator not in intervals:
            raise Undecidable
        return NumberSet(intervals[operator])
    if operator is ast.Eq:
        return ValueSet({value})
    if operator is ast.NotEq:
        return ValueSet({value}, negated=True)
    raise Undecidable


# --------------------------------------------------------------------------
# The question
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Coverage:
    """Answer for a set of conditions: ``gap`` is a value none accepts (None when they cover all)."""

    variable: str
    gap: str | None


def coverage(conditions: list[str]) -> Coverage | None:
    """Whether at least one of ``conditions`` always holds; None when that cannot be decided."""
    reader = _Reader()
    covered = None
    try:
        for text in conditions:
            found = reader.read(ast.parse(text.strip(), mode="eval"))
            covered = found if covered is None else covered.union(found)
    except (Undecidable, SyntaxError, ValueError, RecursionError):
        return None
    if covered is None:
        return None
    return Coverage(reader.variable, _gap(covered, reader.kind))
