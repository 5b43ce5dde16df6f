"""The process variables the inbox filters on, carried with the open tasks (``OpenTaskVariable``).

``var=name:value`` asks for the open tasks whose instance holds ``value`` in the top-level variable
``name``. Read from the instance's data, that costs a look at the instance of every task walked past;
so each open task carries a copy of its instance's top-level plain variables, one row each, indexed in
the inbox's orderings, and a filtered page walks only the tasks that match.

A value is stored as its canonical JSON text, so that equal JSON values are equal texts, as PostgreSQL's
``jsonb`` compares them: a number without fraction is written as an integer (``5.0`` is ``5``), a
string as JSON (``"true"`` is not ``true``), and ``null`` is ``null``. Lists, objects, numbers that are
not finite and texts longer than ``MAX_VALUE_LENGTH`` are not carried; a filter on them reads the
instance's data (``api.inbox_filters.VariableFilter``).
"""

import json
import math
import re
from decimal import Decimal

# What a variable name may be, in a filter and in the table: an identifier.
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# The longest canonical text carried (a district, a code, a status: not a letter).
MAX_VALUE_LENGTH = 100


def canonical_value(value):
    """``value`` as the text the table holds, or None when the table does not carry such a value."""
    if value is None or isinstance(value, bool):
        text = json.dumps(value)
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        # As jsonb reads the JSON Python writes (the shortest repr): 1.152921504606847e+18 is
        # 1152921504606847000, not the float's binary value 1152921504606846976.
        text = str(int(Decimal(repr(value)))) if value.is_integer() else repr(value)
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        return None
    return text if len(text) <= MAX_VALUE_LENGTH else None


def carried_variables(data):
    """``{name: canonical text}`` of the variables in ``data`` (an instance's data) the table carries."""
    if not isinstance(data, dict):
        return {}
    carried = {}
    for name, value in data.items():
        if isinstance(name, str) and VARIABLE_NAME.fullmatch(name):
            text = canonical_value(value)
            if text is not None:
                carried[name] = text
    return carried
