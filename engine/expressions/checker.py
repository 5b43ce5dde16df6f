"""The static check: parse a script and reject, without running anything, all that is outside the subset.

The text is parsed with :func:`ast.parse` and *checked statically* (:func:`check_syntax`, also run
before every evaluation): each node type must belong to the supported subset, no name or attribute
may start with ``_``, attributes must be whitelisted, only whitelisted functions may be called,
``key=`` arguments are refused, and the source length and tree depth are capped.  The supported
node types are those the interpreter's dispatch tables and the operator tables handle.

Parsed trees of short sources (conditions run often) are cached; the interpreter never mutates them.
"""

import ast
import textwrap
from functools import lru_cache

from engine.exceptions import ScriptForbiddenError, ScriptLimitError, ScriptSyntaxError

from .errors import _at
from .interpreter import _Interpreter
from .limits import MAX_CACHED_SOURCE_LENGTH, MAX_DEPTH, MAX_INT_BITS, MAX_SOURCE_LENGTH
from .whitelist import _ATTRIBUTE_NAMES, _BINARY_OPERATORS, _COMPARISONS, _UNARY_OPERATORS, BUILTINS

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


# --------------------------------------------------------------------------------------- public API


def check_syntax(source, mode):
    """Raise ScriptSyntaxError, ScriptForbiddenError or ScriptLimitError if ``source`` is not a
    valid expression (``mode="eval"``) or script (``mode="exec"``) of the subset; runs nothing."""
    _parse(source, mode)
