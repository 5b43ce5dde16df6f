"""A restricted evaluator for the scripts and conditions of uploaded BPMN models.

Uploading a model must never mean running arbitrary code on the server, so user code is never
handed to ``exec``, ``eval`` or ``compile``.  Instead:

1. The text is parsed with :func:`ast.parse` and *checked statically* (:func:`check_syntax`, also
   run before every evaluation): each node type must belong to the supported subset, no name or
   attribute may start with ``_``, attributes must be whitelisted, only whitelisted functions may
   be called, ``key=`` arguments are refused, and the source length and tree depth are capped.
2. The checked tree is *interpreted* by :class:`_Interpreter`, a tree walker that dispatches on
   the node type (``EXPRESSIONS`` / ``STATEMENTS`` tables) and only ever handles plain data.

The safe subset
---------------
Values are None, bool, int, float, str, list, tuple, dict, set and ``datetime.date``,
``datetime.datetime`` and ``datetime.timedelta``.  Every value an expression yields is checked: any
other object (say, something odd put into the task data) is refused with ScriptForbiddenError, so a
script can never reach a Python object's attributes.  Functions are not values: a name from
``BUILTINS`` or a method from ``ATTRIBUTES`` can only be called, never stored or passed around,
and there is no way to define new functions (no lambda, def or class).

Expressions: literals, names, list/tuple/dict/set displays, subscripts and slices, arithmetic,
boolean and comparison operators (chained too), ``a if c else b``, f-strings with simple format
specs, and list/set/dict comprehensions and generator expressions (each with its own scope;
generator expressions are evaluated eagerly into a list).  Statements: expressions, assignment
(tuple unpacking, ``d["k"] = v``), augmented assignment, ``if``, ``for`` and ``while`` (with
``break``, ``continue`` and ``else``), ``pass``, ``del`` and ``assert``.

Scripts run directly on the context dict (the task data): top-level assignments write into it and
``del name`` removes from it.  Names resolve in the context first, so data may shadow a builtin.
``evaluate`` also accepts ``true``, ``false`` and ``null``, which modelling tools write, unless the
context defines them.

Limits
------
The limits are deterministic (steps and sizes, no clock), so a script fails the same way every time.
Every node evaluated costs a step (``MAX_STEPS``); bulk work on data (copying, comparing, hashing,
printing, scanning a string) costs one step per ``ELEMENTS_PER_STEP`` elements, and nested data is
measured before it is compared or printed, so shared references (``[[big] * 1000] * 1000``) cannot
hide a huge walk.  No string or collection may exceed ``MAX_LENGTH`` and no integer
``MAX_INT_BITS``; operations that could build a huge value in one go (``*``, ``**``, ``<<``,
``range``, ``str.zfill``/``replace``/``join``, f-string widths) are checked *before* they run.
Together these keep any call to well under a second.  Every failure is a ScriptError subclass
from :mod:`engine.exceptions` carrying the line number; no other exception escapes.
"""

import ast
import builtins
import math
import operator
import re
import textwrap
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache, partial
from itertools import compress

from engine.exceptions import ScriptError, ScriptForbiddenError, ScriptLimitError, ScriptSyntaxError

__all__ = ["evaluate", "execute", "check_syntax", "BUILTINS", "ATTRIBUTES"]

# --------------------------------------------------------------------------------------------- limits

MAX_SOURCE_LENGTH = 100_000  # characters of script text
MAX_DEPTH = 100  # nesting of the syntax tree; the interpreter recurses about this deep
MAX_STEPS = 100_000  # node evaluations (plus bulk work, see below) per evaluate()/execute() call
ELEMENTS_PER_STEP = 100  # copying, comparing or printing this many elements costs one step
MAX_LENGTH = 1_000_000  # characters/elements of any value, and of nested data compared or printed
MAX_INT_BITS = 10_000  # size of any integer (about 3000 digits); bounds ** and <<
MAX_RANGE_LENGTH = 100_000  # items range() may produce
MAX_FORMAT_WIDTH = 1_000  # width and precision in f-string format specs (and strftime spec length)
MAX_CACHED_SOURCE_LENGTH = 5_000  # parsed trees of sources up to this length are kept for reuse

# ---------------------------------------------------------------------------------------- plain data

_SIZED = (str, list, tuple, dict, set)
_CONTAINERS = (list, tuple, dict, set)
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


def _too_large():
    return ScriptLimitError(f"value too large (more than {MAX_LENGTH:,} elements or characters)")


def _int_too_large():
    return ScriptLimitError(f"integer too large (more than {MAX_INT_BITS:,} bits)")


def _checked(value):
    """Return ``value`` if it is plain data within the size limits."""
    kind = _kind(value)
    if kind is int and value.bit_length() > MAX_INT_BITS:
        raise _int_too_large()
    if kind in _SIZED and len(value) > MAX_LENGTH:
        raise _too_large()
    return value


_IS_STR = partial(operator.is_, str)
_IS_CONTAINER = frozenset({list, tuple, dict, set}).__contains__


def _deep_size(value):
    """About the printed length of ``value``, counting shared references every time.

    Comparing, hashing or printing nested data walks all of it, and ``[[big] * 1000] * 1000`` is
    cheap to build but huge to walk; this measures first (with C-level loops over each container's
    elements) and stops once past MAX_LENGTH.  Only exact plain types are descended into: scripts
    cannot create subclasses, and the server's own data is not what this guards against.
    """
    total, pending = 0, [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item)
            continue
        total += 2 + (4 if isinstance(item, dict) else 2) * len(item)
        for elements in (item.keys(), item.values()) if isinstance(item, dict) else (item,):
            types = list(map(type, elements))
            total += sum(map(len, compress(elements, map(_IS_STR, types))))
            pending.extend(compress(elements, map(_IS_CONTAINER, types)))
        if total > MAX_LENGTH:
            raise ScriptLimitError(f"value too large to compare or print (more than {MAX_LENGTH:,} elements)")
    return total


def _at(error_class, message, line):
    """An error whose message and ``line_number`` name ``line`` (when known)."""
    return error_class(f"{message} (line {line})", line) if line else error_class(message)


def _script_error(exc, node):
    """Translate any exception raised while running ``node`` into a ScriptError with its line."""
    line = getattr(node, "lineno", None)
    if isinstance(exc, ScriptError):
        if exc.line_number is not None or line is None:
            return exc
        return _at(type(exc), str(exc), line)
    if isinstance(exc, (RecursionError, MemoryError)):
        return _at(ScriptLimitError, "script needs too much memory or nesting", line)
    return _at(ScriptError, f"{type(exc).__name__}: {exc}", line)


# ------------------------------------------------------------------------------- operator pre-checks


def _check_repeat(left, right):
    """``seq * n`` and ``int * int`` must not build something huge."""
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(count, int) and len(seq) * count > MAX_LENGTH:
            raise _too_large()
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise _int_too_large()


def _check_power(base, exponent):
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent > MAX_INT_BITS or exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise _int_too_large()


def _check_shift(value, shift):
    if isinstance(value, int) and isinstance(shift, int) and value and shift > 0:
        if value.bit_length() + shift > MAX_INT_BITS:
            raise _int_too_large()


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


_FORMAT_SPEC = re.compile(  # [[fill]align][sign][z][#][0][width][grouping][.precision][type]
    r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)[,_]?(?:\.(?P<precision>\d+))?[bcdeEfFgGnosxX%]?"
)


def _check_format_spec(value, spec):
    if not spec:
        return
    if isinstance(value, date):  # strftime directives
        if len(spec) > MAX_FORMAT_WIDTH:
            raise ScriptLimitError(f"format spec longer than {MAX_FORMAT_WIDTH:,} characters")
        return
    match = _FORMAT_SPEC.fullmatch(spec)
    if match is None:
        raise ScriptError(f"unsupported format spec {spec!r}")
    for number in (match["width"], match["precision"]):
        if number and int(number) > MAX_FORMAT_WIDTH:
            raise ScriptLimitError(f"format width or precision over {MAX_FORMAT_WIDTH:,}")


_CONVERSIONS = {ord("s"): str, ord("r"): repr, ord("a"): ascii}

# ------------------------------------------------------------------------------------ the interpreter

_BREAK, _CONTINUE = object(), object()  # signals statement handlers return to the enclosing loop


class _Interpreter:
    """Walks a checked tree; one instance per evaluate()/execute() call."""

    def __init__(self, context, aliases=None):
        self._scopes = [context]  # the context, then one dict per comprehension being evaluated
        self._aliases = aliases or {}
        self._steps = 0

    def run_expression(self, tree):
        return self._eval(tree.body)

    def run_module(self, tree):
        self._run_block(tree.body)

    # -- accounting

    def _tick(self, steps=1):
        self._steps += steps
        if self._steps > MAX_STEPS:
            raise ScriptLimitError(f"script ran too long (more than {MAX_STEPS:,} steps)")

    def _charge(self, *values):
        """Bulk work proportional to the (top-level) size of ``values``."""
        self._tick(sum(len(value) for value in values if isinstance(value, _SIZED)) // ELEMENTS_PER_STEP)

    def _measure(self, *values):
        """Check and pay for an operation that walks all of ``values`` (compare, hash, print, scan)."""
        for value in values:
            if isinstance(value, str):
                self._tick(len(value) // ELEMENTS_PER_STEP)
            elif isinstance(value, _CONTAINERS):
                self._tick(_deep_size(value) // ELEMENTS_PER_STEP)

    # -- dispatch

    def _eval(self, node):
        try:
            self._tick()
            handler = self.EXPRESSIONS.get(type(node))
            if handler is None:
                raise ScriptSyntaxError(f"{type(node).__name__} is not supported here")
            return _checked(handler(self, node))
        except Exception as exc:
            raise _script_error(exc, node) from None

    def _exec(self, node):
        try:
            self._tick()
            return self.STATEMENTS[type(node)](self, node)
        except Exception as exc:
            raise _script_error(exc, node) from None

    def _run_block(self, body):
        for statement in body:
            signal = self._exec(statement)
            if signal is not None:
                return signal
        return None

    # -- names and values

    def _load_name(self, name):
        for scope in reversed(self._scopes):
            if name in scope:
                return scope[name]
        if name in self._aliases:
            return self._aliases[name]
        if name in BUILTINS:
            raise ScriptError(f"'{name}' is a function; it can only be called")
        if name in _PYTHON_BUILTIN_NAMES:
            raise ScriptForbiddenError(f"name '{name}' is not allowed")
        raise ScriptError(f"name '{name}' is not defined")

    def _key(self, node):
        """Evaluate a value that will be hashed: a dict key, set element or subscript."""
        value = self._eval(node)
        self._measure(value)
        return value

    def _subscript_key(self, node):
        if isinstance(node, ast.Slice):
            parts = (node.lower, node.upper, node.step)
            return slice(*(None if part is None else self._eval(part) for part in parts))
        return self._key(node)

    # -- expressions

    def _constant(self, node):
        return node.value

    def _name(self, node):
        return self._load_name(node.id)

    def _list(self, node):
        return [self._eval(element) for element in node.elts]

    def _tuple(self, node):
        return tuple(self._eval(element) for element in node.elts)

    def _set(self, node):
        return {self._key(element) for element in node.elts}

    def _dict(self, node):
        result = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:  # {**other}
                other = self._eval(value)
                if not isinstance(other, dict):
                    raise ScriptError(f"'**' needs a dict, not '{type(other).__name__}'")
                self._charge(other)
                result.update(other)
            else:
                result[self._key(key)] = self._eval(value)
        return result

    def _binop(self, node):
        return self._binary(type(node.op), self._eval(node.left), self._eval(node.right))

    def _binary(self, op, left, right, inplace=False):
        function, inplace_function, check = _BINARY_OPERATORS[op]
        if check is not None:
            check(left, right)
        result = (inplace_function if inplace else function)(left, right)
        if isinstance(result, complex):
            raise ScriptError("the result is a complex number")
        if inplace and result is left:  # xs += ys only walks ys
            self._charge(right)
        else:
            self._charge(left, right, result)
        return _checked(result)

    def _unaryop(self, node):
        return _UNARY_OPERATORS[type(node.op)](self._eval(node.operand))

    def _boolop(self, node):
        is_and = isinstance(node.op, ast.And)
        for operand in node.values:
            value = self._eval(operand)
            if bool(value) != is_and:  # first falsy operand of `and`, first truthy one of `or`
                return value
        return value

    def _compare(self, node):
        left, result = self._eval(node.left), True
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self._eval(comparator)
            if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (dict, set)):
                self._measure(left)  # hashed, not compared with every element
            elif not isinstance(op, (ast.Is, ast.IsNot)):
                self._measure(left, right)
            result = _COMPARISONS[type(op)](left, right)
            if not result:
                return result
            left = right
        return result

    def _ifexp(self, node):
        return self._eval(node.body if self._eval(node.test) else node.orelse)

    def _subscript(self, node):
        container = self._eval(node.value)
        result = container[self._subscript_key(node.slice)]
        if isinstance(node.slice, ast.Slice):
            self._charge(result)
        return result

    def _attribute(self, node):
        value = self._eval(node.value)
        _, entry = _attribute_entry(value, node.attr)
        if entry is not FIELD:
            raise ScriptError(f"'{node.attr}' is a method; it can only be called")
        return getattr(value, node.attr)

    def _call(self, node):
        if isinstance(node.func, ast.Attribute):
            result = self._call_method(node)
        elif isinstance(node.func, ast.Name):
            result = self._call_function(node)
        else:
            raise ScriptForbiddenError("only whitelisted functions and methods can be called")
        if isinstance(result, _DICT_VIEWS):
            result = list(result)
        self._charge(result)
        return result

    def _arguments(self, node):
        args = [self._eval(arg) for arg in node.args]
        kwargs = {keyword.arg: self._eval(keyword.value) for keyword in node.keywords}
        if "key" in kwargs:
            raise ScriptForbiddenError("key= functions are not allowed")
        return args, kwargs

    def _call_function(self, node):
        name = node.func.id
        for scope in reversed(self._scopes):
            if name in scope:
                raise ScriptError(f"'{type(scope[name]).__name__}' object is not callable")
        if name not in BUILTINS:
            raise ScriptForbiddenError(f"calling '{name}' is not allowed")
        args, kwargs = self._arguments(node)
        if name in _DEEP_BUILTINS:
            self._measure(*args, *kwargs.values())
        elif name not in _FREE_BUILTINS:
            self._charge(*args, *kwargs.values())
        return BUILTINS[name](*args, **kwargs)

    def _call_method(self, node):
        receiver = self._eval(node.func.value)
        kind, entry = _attribute_entry(receiver, node.func.attr)
        if entry is FIELD:
            raise ScriptError(f"'{node.func.attr}' is not callable")
        args, kwargs = self._arguments(node)
        self._measure(*args, *kwargs.values())
        if entry is SCAN:
            self._measure(receiver)
        elif entry is not METHOD:
            self._charge(receiver)
        method = getattr(kind, node.func.attr) if isinstance(entry, str) else entry
        result = method(receiver, *args, **kwargs)
        _checked(receiver)  # append, extend, update... grow the receiver in place
        return result

    def _joinedstr(self, node):
        parts, size = [], 0
        for part in node.values:
            text = self._eval(part)
            size += len(text)
            if size > MAX_LENGTH:
                raise _too_large()
            parts.append(text)
        return "".join(parts)

    def _formattedvalue(self, node):
        value = self._eval(node.value)
        self._measure(value)
        if node.conversion != -1:
            value = _CONVERSIONS[node.conversion](value)
        spec = self._eval(node.format_spec) if node.format_spec is not None else ""
        _check_format_spec(value, spec)
        text = format(value, spec)
        self._charge(text)
        return text

    def _listcomp(self, node):
        result = []
        self._comprehension(node.generators, lambda: result.append(self._eval(node.elt)))
        return result

    def _setcomp(self, node):
        result = set()
        self._comprehension(node.generators, lambda: result.add(self._key(node.elt)))
        return result

    def _dictcomp(self, node):
        result = {}

        def emit():
            key = self._key(node.key)
            result[key] = self._eval(node.value)

        self._comprehension(node.generators, emit)
        return result

    def _comprehension(self, generators, emit):
        outermost = self._eval(generators[0].iter)  # evaluated in the enclosing scope, as in Python
        self._scopes.append({})
        try:
            self._generate(generators, outermost, emit)
        finally:
            self._scopes.pop()

    def _generate(self, generators, iterable, emit):
        first, rest = generators[0], generators[1:]
        for item in iterable:
            self._tick()
            self._assign(first.target, item)
            if all(self._eval(condition) for condition in first.ifs):
                if rest:
                    self._generate(rest, self._eval(rest[0].iter), emit)
                else:
                    emit()

    # -- statements

    def _expr_statement(self, node):
        self._eval(node.value)

    def _assign_statement(self, node):
        value = self._eval(node.value)
        for target in node.targets:
            self._assign(target, value)

    def _assign(self, target, value):
        if isinstance(target, ast.Name):
            self._scopes[-1][target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            _kind(value)
            items = list(value)
            self._charge(items)
            if len(items) != len(target.elts):
                raise ScriptError(f"cannot unpack {len(items)} values into {len(target.elts)} targets")
            for element, item in zip(target.elts, items, strict=True):
                self._assign(element, item)
        elif isinstance(target, ast.Subscript):
            container = self._eval(target.value)
            self._store_item(container, self._subscript_key(target.slice), value)
        else:
            raise ScriptForbiddenError("only names, items and tuples of them can be assigned")

    def _store_item(self, container, key, value):
        if not isinstance(container, (list, dict)):
            raise ScriptError(f"'{type(container).__name__}' object does not support item assignment")
        container[key] = value
        if isinstance(key, slice):  # may shift the whole list
            self._charge(container, value)
        _checked(container)

    def _augassign(self, node):
        target, op = node.target, type(node.op)
        if isinstance(target, ast.Name):
            current = _checked(self._load_name(target.id))
            self._scopes[-1][target.id] = self._binary(op, current, self._eval(node.value), inplace=True)
        elif isinstance(target, ast.Subscript):
            container = self._eval(target.value)
            key = self._subscript_key(target.slice)
            value = self._binary(op, _checked(container[key]), self._eval(node.value), inplace=True)
            self._store_item(container, key, value)
        else:
            raise ScriptForbiddenError("only names and items can be assigned")

    def _delete(self, node):
        for target in node.targets:
            self._delete_target(target)

    def _delete_target(self, target):
        if isinstance(target, ast.Name):
            if target.id not in self._scopes[-1]:
                raise ScriptError(f"name '{target.id}' is not defined")
            del self._scopes[-1][target.id]
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._delete_target(element)
        elif isinstance(target, ast.Subscript):
            container = self._eval(target.value)
            key = self._subscript_key(target.slice)
            if not isinstance(container, (list, dict)):
                raise ScriptError(f"'{type(container).__name__}' object does not support item deletion")
            del container[key]
            if isinstance(container, list):
                self._charge(container)  # the tail shifts
        else:
            raise ScriptForbiddenError("only names and items can be deleted")

    def _if(self, node):
        return self._run_block(node.body if self._eval(node.test) else node.orelse)

    def _for(self, node):
        for item in self._eval(node.iter):
            self._tick()
            self._assign(node.target, item)
            if self._run_block(node.body) is _BREAK:
                return None
        return self._run_block(node.orelse)

    def _while(self, node):
        while self._eval(node.test):
            if self._run_block(node.body) is _BREAK:
                return None
        return self._run_block(node.orelse)

    def _pass(self, node):
        return None

    def _break(self, node):
        return _BREAK

    def _continue(self, node):
        return _CONTINUE

    def _assert(self, node):
        if not self._eval(node.test):
            if node.msg is None:
                raise ScriptError("assertion failed")
            message = self._eval(node.msg)
            self._measure(message)
            raise ScriptError(str(message))

    # Dispatch tables: AST node type -> handler.  They also define what the static check accepts.
    EXPRESSIONS = {
        ast.Constant: _constant, ast.Name: _name, ast.Attribute: _attribute, ast.Subscript: _subscript,
        ast.List: _list, ast.Tuple: _tuple, ast.Set: _set, ast.Dict: _dict,
        ast.BinOp: _binop, ast.UnaryOp: _unaryop, ast.BoolOp: _boolop, ast.Compare: _compare,
        ast.IfExp: _ifexp, ast.Call: _call, ast.JoinedStr: _joinedstr, ast.FormattedValue: _formattedvalue,
        ast.ListComp: _listcomp, ast.SetComp: _setcomp, ast.DictComp: _dictcomp,
        ast.GeneratorExp: _listcomp,  # evaluated eagerly into a list
    }  # fmt: skip
    STATEMENTS = {
        ast.Expr: _expr_statement, ast.Assign: _assign_statement, ast.AugAssign: _augassign,
        ast.Delete: _delete, ast.If: _if, ast.For: _for, ast.While: _while, ast.Pass: _pass,
        ast.Break: _break, ast.Continue: _continue, ast.Assert: _assert,
    }  # fmt: skip


# --------------------------------------------------------------------------------- the static check

_ALLOWED_NODES = frozenset(
    {*_Interpreter.EXPRESSIONS, *_Interpreter.STATEMENTS, *_BINARY_OPERATORS, *_UNARY_OPERATORS}
    | {*_COMPARISONS, ast.And, ast.Or, ast.Load, ast.Store, ast.Del}
    | {ast.Module, ast.Expression, ast.Slice, ast.keyword, ast.comprehension}
)
_FORBIDDEN_NODES = {
    ast.Import: "import", ast.ImportFrom: "import", ast.Lambda: "lambda", ast.FunctionDef: "def",
    ast.AsyncFunctionDef: "async def", ast.ClassDef: "class", ast.With: "with", ast.AsyncWith: "async with",
    ast.AsyncFor: "async for", ast.Try: "try", ast.TryStar: "try", ast.Raise: "raise", ast.Return: "return",
    ast.Global: "global", ast.Nonlocal: "nonlocal", ast.Yield: "yield", ast.YieldFrom: "yield from",
    ast.Await: "await",
}  # fmt: skip
_UNSUPPORTED_NAMES = {
    ast.AnnAssign: "annotated assignment", ast.NamedExpr: "':='", ast.Starred: "'*' unpacking",
    ast.MatMult: "'@'", ast.Match: "match",
}  # fmt: skip
_LITERAL_TYPES = (type(None), bool, int, float, str)


def _check_tree(tree):
    """Reject, without running anything, every construct outside the safe subset."""
    pending = [(tree, 0, False, None)]  # node, depth, inside a loop body, line of the parent
    while pending:
        node, depth, in_loop, line = pending.pop()
        line = getattr(node, "lineno", line)
        if depth > MAX_DEPTH:
            raise _at(ScriptLimitError, f"script is nested too deeply (more than {MAX_DEPTH} levels)", line)
        _check_node(node, in_loop, line)
        loop_body = {id(child) for child in node.body} if isinstance(node, (ast.For, ast.While)) else ()
        for child in reversed(list(ast.iter_child_nodes(node))):
            pending.append((child, depth + 1, in_loop or id(child) in loop_body, line))


def _check_node(node, in_loop, line):
    cls = type(node)
    if cls in _FORBIDDEN_NODES:
        raise _at(ScriptForbiddenError, f"'{_FORBIDDEN_NODES[cls]}' is not allowed in scripts", line)
    if cls not in _ALLOWED_NODES:
        name = _UNSUPPORTED_NAMES.get(cls, cls.__name__)
        raise _at(ScriptSyntaxError, f"{name} is not supported in scripts", line)
    problem = _node_problem(node, in_loop)
    if problem is not None:
        raise _at(*problem, line)


def _node_problem(node, in_loop):
    """(error class, message) for a supported node used in a way the subset forbids, else None."""
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return ScriptForbiddenError, f"name '{node.id}' is not allowed"
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_") or node.attr not in _ATTRIBUTE_NAMES:
            return ScriptForbiddenError, f"attribute '{node.attr}' is not allowed"
        if not isinstance(node.ctx, ast.Load):
            return ScriptForbiddenError, "attributes cannot be assigned or deleted"
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id not in BUILTINS:
            return ScriptForbiddenError, f"calling '{node.func.id}' is not allowed"
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            return ScriptForbiddenError, "only whitelisted functions and methods can be called"
    if isinstance(node, ast.keyword):
        if node.arg is None:
            return ScriptSyntaxError, "'**' arguments are not supported in scripts"
        if node.arg == "key":
            return ScriptForbiddenError, "key= functions are not allowed"
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, _LITERAL_TYPES):
            return ScriptSyntaxError, f"{type(node.value).__name__} literals are not supported in scripts"
        if isinstance(node.value, int) and node.value.bit_length() > MAX_INT_BITS:
            return ScriptLimitError, f"integer literal too large (more than {MAX_INT_BITS:,} bits)"
    if isinstance(node, (ast.Break, ast.Continue)) and not in_loop:
        return ScriptSyntaxError, f"'{type(node).__name__.lower()}' outside a loop"
    if isinstance(node, ast.comprehension) and node.is_async:
        return ScriptForbiddenError, "'async' is not allowed in scripts"
    return None


# ------------------------------------------------------------------------------------------ parsing


def _parse(source, mode):
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if not isinstance(source, str):
        raise ScriptSyntaxError(f"a script must be text, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ScriptLimitError(f"script longer than {MAX_SOURCE_LENGTH:,} characters")
    if len(source) <= MAX_CACHED_SOURCE_LENGTH:  # conditions run often; their trees are never mutated
        return _parse_cached(source, mode)
    return _parse_checked(source, mode)


def _parse_checked(source, mode):
    if mode == "exec":  # scripts in BPMN XML are usually indented
        text, offset = textwrap.dedent(source), 0
    else:
        text = source.strip()
        offset = source[: len(source) - len(source.lstrip())].count("\n")
    try:
        tree = ast.parse(text, mode=mode)
    except SyntaxError as exc:
        line = exc.lineno + offset if exc.lineno else None
        raise _at(ScriptSyntaxError, f"invalid syntax: {exc.msg}", line) from None
    except (RecursionError, MemoryError):
        raise ScriptLimitError("script is nested too deeply") from None
    except ValueError as exc:  # e.g. null bytes
        raise ScriptSyntaxError(f"invalid script: {exc}") from None
    if offset:
        ast.increment_lineno(tree, offset)
    _check_tree(tree)
    return tree


_parse_cached = lru_cache(maxsize=512)(_parse_checked)


def _run(method, tree):
    try:
        return method(tree)
    except ScriptError:
        raise
    except Exception as exc:  # a backstop: _eval and _exec translate everything already
        raise _script_error(exc, None) from None


# --------------------------------------------------------------------------------------- public API


def check_syntax(source, mode):
    """Raise ScriptSyntaxError, ScriptForbiddenError or ScriptLimitError if ``source`` is not a
    valid expression (``mode="eval"``) or script (``mode="exec"``) of the subset; runs nothing."""
    _parse(source, mode)


def evaluate(expression, context):
    """The value of ``expression`` (a condition or other expression) with names from ``context``."""
    tree = _parse(expression, "eval")
    if context is None:
        context = {}
    if not isinstance(context, Mapping):
        raise ScriptError(f"the context must be a mapping, not {type(context).__name__}")
    return _run(_Interpreter(context, aliases=_EVAL_ALIASES).run_expression, tree)


def execute(script, context):
    """Run ``script``; its top-level assignments and deletions change ``context`` (the task data)."""
    tree = _parse(script, "exec")
    if not isinstance(context, dict):
        raise ScriptError(f"the context must be a dict, not {type(context).__name__}")
    _run(_Interpreter(context).run_module, tree)
