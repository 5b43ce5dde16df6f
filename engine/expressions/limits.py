"""The deterministic limits on what one evaluate()/execute() call may do, and how work is paid for.

The limits are deterministic (steps and sizes, no clock), so a script fails the same way every time.
Every node evaluated costs a step (``MAX_STEPS``); bulk work on data (copying, comparing, hashing,
printing, scanning a string) costs one step per ``ELEMENTS_PER_STEP`` elements, and nested data is
measured before it is compared or printed, so shared references (``[[big] * 1000] * 1000``) cannot
hide a huge walk.  No string or collection may exceed ``MAX_LENGTH`` and no integer
``MAX_INT_BITS``; operations that could build a huge value in one go (``*``, ``**``, ``<<``,
``range``, ``str.zfill``/``replace``/``join``, f-string widths) are checked *before* they run.
Together these keep any call to well under a second.

The pre-checks for ``*``, ``**``, ``<<`` and f-string format specs live here; those for ``range``
and the string methods are in the wrapped functions of :mod:`.whitelist`.
"""

import math
import operator
import re
from datetime import date
from functools import partial
from itertools import compress

from engine.exceptions import ScriptError, ScriptLimitError

MAX_SOURCE_LENGTH = 100_000  # characters of script text
MAX_DEPTH = 100  # nesting of the syntax tree; the interpreter recurses about this deep
MAX_STEPS = 100_000  # node evaluations (plus bulk work, see below) per evaluate()/execute() call
ELEMENTS_PER_STEP = 100  # copying, comparing or printing this many elements costs one step
MAX_LENGTH = 1_000_000  # characters/elements of any value, and of nested data compared or printed
MAX_INT_BITS = 10_000  # size of any integer (about 3000 digits); bounds ** and <<
MAX_RANGE_LENGTH = 100_000  # items range() may produce
MAX_FORMAT_WIDTH = 1_000  # width and precision in f-string format specs (and strftime spec length)
MAX_CACHED_SOURCE_LENGTH = 5_000  # parsed trees of sources up to this length are kept for reuse

# Values whose length is limited and paid for, and those whose nested data is measured deeply.
_SIZED = (str, list, tuple, dict, set)
_CONTAINERS = (list, tuple, dict, set)


def _too_large():
    return ScriptLimitError(f"value too large (more than {MAX_LENGTH:,} elements or characters)")


def _int_too_large():
    return ScriptLimitError(f"integer too large (more than {MAX_INT_BITS:,} bits)")


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


# ---------------------------------------------------------------------------------------- accounting


class _Accounting:
    """Step accounting for the interpreter: one budget of ``MAX_STEPS`` per evaluate()/execute() call.

    The class using it sets ``self._steps = 0`` when it starts a call.
    """

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
