"""The tree walker that runs a checked syntax tree on plain data.

:class:`_Interpreter` dispatches on the node type (``EXPRESSIONS`` / ``STATEMENTS`` tables, which
also define what the static check in :mod:`.checker` accepts) and only ever handles plain data.

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
"""

import ast

from engine.exceptions import ScriptError, ScriptForbiddenError, ScriptSyntaxError

from .errors import _script_error
from .limits import MAX_LENGTH, _Accounting, _check_format_spec, _too_large
from .whitelist import (
    _BINARY_OPERATORS,
    _COMPARISONS,
    _CONVERSIONS,
    _DEEP_BUILTINS,
    _DICT_VIEWS,
    _FREE_BUILTINS,
    _PYTHON_BUILTIN_NAMES,
    _UNARY_OPERATORS,
    BUILTINS,
    FIELD,
    METHOD,
    SCAN,
    _attribute_entry,
    _checked,
    _kind,
)

_BREAK, _CONTINUE = object(), object()  # signals statement handlers return to the enclosing loop


class _Interpreter(_Accounting):
    """Walks a checked tree; one instance per evaluate()/execute() call."""

    def __init__(self, context, aliases=None):
        self._scopes = [context]  # the context, then one dict per comprehension being evaluated
        self._aliases = aliases or {}
        self._steps = 0

    def run_expression(self, tree):
        return self._eval(tree.body)

    def run_module(self, tree):
        self._run_block(tree.body)

    # -- accounting: _tick, _charge and _measure come from limits._Accounting

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
