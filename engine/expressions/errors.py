"""Errors that name the script line they come from.

Every failure of a script is a ScriptError subclass from :mod:`engine.exceptions` carrying the line
number; these helpers attach it and translate any other exception, so no other exception escapes.
"""

from engine.exceptions import ScriptError, ScriptLimitError


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
