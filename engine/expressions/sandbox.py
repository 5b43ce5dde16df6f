"""A restricted evaluator for the scripts and conditions of uploaded BPMN models.

Uploading a model must never mean running arbitrary code on the server, so user code is never
handed to ``exec``, ``eval`` or ``compile``.  Instead:

1. The text is parsed with :func:`ast.parse` and *checked statically* (:func:`check_syntax`, also
   run before every evaluation) against the supported subset: :mod:`.checker`.
2. The checked tree is *interpreted* by a tree walker that dispatches on the node type and only
   ever handles plain data: :mod:`.interpreter`.

Values are plain data only (None, bool, int, float, str, list, tuple, dict, set, date, datetime,
timedelta), and only the functions in ``BUILTINS`` and the methods in ``ATTRIBUTES`` can be called
(:mod:`.whitelist`).  Deterministic step and size limits (``MAX_STEPS``, ``MAX_LENGTH``...) keep any
call to well under a second (:mod:`.limits`).  Every failure is a ScriptError subclass from
:mod:`engine.exceptions` carrying the line number; no other exception escapes (:mod:`.errors`).

This module is the public API: :func:`evaluate`, :func:`execute` and :func:`check_syntax`, with the
``BUILTINS`` and ``ATTRIBUTES`` tables and the limits re-exported from the modules that define them.
"""

from collections.abc import Mapping

from engine.exceptions import ScriptError

from .checker import _parse, check_syntax
from .errors import _script_error
from .interpreter import _Interpreter
from .limits import (  # noqa: F401 (re-exported: the limits are part of the public API)
    ELEMENTS_PER_STEP,
    MAX_CACHED_SOURCE_LENGTH,
    MAX_DEPTH,
    MAX_FORMAT_WIDTH,
    MAX_INT_BITS,
    MAX_LENGTH,
    MAX_RANGE_LENGTH,
    MAX_SOURCE_LENGTH,
    MAX_STEPS,
)
from .whitelist import _EVAL_ALIASES, ATTRIBUTES, BUILTINS, FIELD, LINEAR, METHOD, SCAN  # noqa: F401 (re-exported)

__all__ = ["evaluate", "execute", "check_syntax", "BUILTINS", "ATTRIBUTES"]


def _run(method, tree):
    try:
        return method(tree)
    except ScriptError:
        raise
    except Exception as exc:  # a backstop: _eval and _exec translate everything already
        raise _script_error(exc, None) from None


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
