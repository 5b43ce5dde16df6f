"""What scripts may touch: the plain-data types, the operators, and the BUILTINS and ATTRIBUTES tables.

Values are None, bool, int, float, str, list, tuple, dict, set and ``datetime.date``,
``datetime.datetime`` and ``datetime.timedelta``.  Every value an expression yields is checked: any
other object (say, something odd put into the task data) is refused with ScriptForbiddenError, so a
script can never reach a Python object's attributes.  Functions are not values: a name from
``BUILTINS`` or a method from ``ATTRIBUTES`` can only be called, never stored or passed around,
and there is no way to define new functions (no lambda, def or class).

Builtins and methods that could build a huge value in one go (``range``, ``str.zfill``/``replace``/
``join``) are wrapped here so that they check the size *before* they run (see :mod:`.limits`).
"""

import ast
import builtins
import operator
from datetime import date, datetime, timedelta

from engine.exceptions import ScriptError, ScriptForbiddenError, ScriptLimitError

from .limits import (
    _SIZED,
    MAX_INT_BITS,
    MAX_LENGTH,
    MAX_RANGE_LENGTH,
    _check_power,
    _check_repeat,
    _check_shift,
    _int_too_large,
    _too_large,
)

# ---------------------------------------------------------------------------------------- plain data

# Order matters for subclasses: bool before int, datetime before date.
_PLAIN_TYPES = (type(None), bool, int, float, str, list, tuple, dict, set, datetime, date, timedelta)
_PLAIN_TYPE_SET = frozenset(_PLAIN_TYPES)
_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))


def _kind(value):
    """The plain type ``value`` counts as; ScriptForbiddenError for any other object."""
    cls = type(value)
    if cls in _PLAIN_TYPE_SET:
        return cls
    for plain in _PLAIN_TYPES:
        if isinstance(value, plain):
            return plain
    raise ScriptForbiddenError(f"values of type '{cls.__name__}' are not available to scripts")


def _checked(value):
    """Return ``value`` if it is plain data within the size limits."""
    kind = _kind(value)
    if kind is int and value.bit_length() > MAX_INT_BITS:
        raise _int_too_large()
    if kind in _SIZED and len(value) > MAX_LENGTH:
        raise _too_large()
    return value


# ----------------------------------------------------------------------------------------- operators


def _check_modulo(left, right):
    if isinstance(left, str):
        raise ScriptForbiddenError("'%' string formatting is not allowed; use an f-string")


_BINARY_OPERATORS = {  # node type: (operator, in-place operator, pre-check or None)
    ast.Add: (operator.add, operator.iadd, None),
    ast.Sub: (operator.sub, operator.isub, None),
    ast.Mult: (operator.mul, operator.imul, _check_repeat),
    ast.Div: (operator.truediv, operator.itruediv, None),
    ast.FloorDiv: (operator.floordiv, operator.ifloordiv, None),
    ast.Mod: (operator.mod, operator.imod, _check_modulo),
    ast.Pow: (operator.pow, operator.ipow, _check_power),
    ast.LShift: (operator.lshift, operator.ilshift, _check_shift),
    ast.RShift: (operator.rshift, operator.irshift, None),
    ast.BitOr: (operator.or_, operator.ior, None),
    ast.BitAnd: (operator.and_, operator.iand, None),
    ast.BitXor: (operator.xor, operator.ixor, None),
}
_UNARY_OPERATORS = {
    ast.Not: operator.not_, ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert,
}  # fmt: skip
_COMPARISONS = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda item, container: item in container,
    ast.NotIn: lambda item, container: item not in container,
}  # fmt: skip

# ------------------------------------------------------------------------------------- the whitelist


def _int(*args, **kwargs):
    if args and isinstance(args[0], str) and len(args[0]) > 5_000:
        raise ScriptLimitError("int() of a string longer than 5,000 characters")
    return int(*args, **kwargs)


def _sum(values, start=0):
    if not isinstance(start, (int, float, timedelta)):
        raise ScriptError("sum() adds numbers or timedeltas only")
    return sum(values, start)


def _range(*args):
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        length = MAX_RANGE_LENGTH + 1
    if length > MAX_RANGE_LENGTH:
        raise ScriptLimitError(f"range() of more than {MAX_RANGE_LENGTH:,} numbers")
    return list(numbers)


def _reversed(values):
    return list(reversed(values))


def _enumerate(values, start=0):
    return list(enumerate(values, start))


def _zip(*iterables, strict=False):
    return list(zip(*iterables, strict=strict))


def _str_zfill(text, width):
    if isinstance(width, int) and width > MAX_LENGTH:
        raise _too_large()
    return text.zfill(width)


def _str_replace(text, old, new, count=-1):
    if isinstance(old, str) and isinstance(new, str) and isinstance(count, int):
        hits = text.count(old) if old else len(text) + 1
        if count >= 0:
            hits = min(hits, count)
        if len(text) + hits * (len(new) - len(old)) > MAX_LENGTH:
            raise _too_large()
    return text.replace(old, new, count)


def _str_join(separator, items):
    items = list(items)
    size = len(separator) * max(len(items) - 1, 0) + sum(len(i) for i in items if isinstance(i, str))
    if size > MAX_LENGTH:
        raise _too_large()
    return separator.join(items)


# Functions a script may call by name.  Lazy builtins (reversed, enumerate, zip, range) return lists.
BUILTINS = {
    "bool": bool, "int": _int, "float": float, "str": str, "abs": abs, "round": round,
    "len": len, "min": min, "max": max, "sum": _sum, "any": any, "all": all, "sorted": sorted,
    "list": list, "tuple": tuple, "dict": dict, "set": set,
    "range": _range, "reversed": _reversed, "enumerate": _enumerate, "zip": _zip,
    "date": date, "datetime": datetime, "timedelta": timedelta,
}  # fmt: skip
# How calls pay for their arguments: these compare, hash or print nested data, so their arguments
# are measured deeply first; len and bool are free; other builtins pay for their arguments' length.
_DEEP_BUILTINS = frozenset({"dict", "max", "min", "set", "sorted", "str"})
_FREE_BUILTINS = frozenset({"len", "bool"})

# What an attribute is, and how a call pays for the work it does on its receiver:
METHOD = "method"  # the type's own method, constant time (or paid for through arguments and result)
LINEAR = "linear"  # the type's own method, walking the receiver: pays for its length
SCAN = "scan"  # the type's own method, comparing every element: the receiver is measured deeply
FIELD = "field"  # a plain attribute read, e.g. date.year


def _names(entry, *names):
    return dict.fromkeys(names, entry)


# Attributes a script may use, by the plain type of the value: one of the kinds above, or a
# function(receiver, *args, **kwargs) that stands in for the method (and pays like LINEAR).
ATTRIBUTES = {
    str: {
        **_names(LINEAR, "lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "split"),
        **_names(LINEAR, "title", "capitalize", "isdigit", "isalpha", "count", "find"),
        "replace": _str_replace,
        "join": _str_join,
        "zfill": _str_zfill,
    },
    list: {
        **_names(METHOD, "append", "extend", "copy", "clear"),
        **_names(LINEAR, "insert", "pop"),
        **_names(SCAN, "remove", "index", "count", "sort"),
    },
    tuple: _names(SCAN, "count", "index"),
    dict: _names(METHOD, "get", "keys", "values", "items", "update", "pop", "setdefault", "copy"),
    set: _names(METHOD, "add", "discard", "union", "intersection", "difference"),
    date: {**_names(METHOD, "isoformat", "weekday"), **_names(FIELD, "year", "month", "day")},
    datetime: {
        **_names(METHOD, "isoformat", "weekday", "date"),
        **_names(FIELD, "year", "month", "day", "hour", "minute", "second"),
    },
    timedelta: {**_names(METHOD, "total_seconds"), **_names(FIELD, "days", "seconds")},
}

_ATTRIBUTE_NAMES = frozenset(name for entries in ATTRIBUTES.values() for name in entries)
_PYTHON_BUILTIN_NAMES = frozenset(dir(builtins)) - BUILTINS.keys()
_EVAL_ALIASES = {"true": True, "false": False, "null": None}


def _attribute_entry(value, name):
    """(plain type, ATTRIBUTES entry) for ``value.name``; an error if it is not whitelisted."""
    kind = _kind(value)
    entry = ATTRIBUTES.get(kind, {}).get(name)
    if entry is None:
        if name.startswith("_") or name not in _ATTRIBUTE_NAMES:
            raise ScriptForbiddenError(f"attribute '{name}' is not allowed")
        raise ScriptError(f"'{type(value).__name__}' object has no attribute '{name}'")
    return kind, entry


# f-string conversions: !s, !r and !a.
_CONVERSIONS = {ord("s"): str, ord("r"): repr, ord("a"): ascii}
