"""Reference data a batch of service calls may read once: definitions, agency calendars, agency groups.

Each service call reads the rows that say how to run a step: the instance's process definition and its
agency, the agency's working calendar (two queries, so that a change made anywhere is seen at once,
``engine.calendars.for_agency``), the groups a lane or candidate name stands for. For a request that is a
handful of small queries. A batch job that runs thousands of steps and changes none of these rows (the
history simulator) wraps its run in ``reference_data_pinned()``: inside it, each is read on first use and
then reused. Outside it, every read goes to the database as before.

Only for code that changes no definition, calendar, closure, agency or group while the block runs: a
change made inside it (or by another process meanwhile) is not seen until the block ends.
"""

from contextlib import contextmanager
from contextvars import ContextVar

_PINNED = ContextVar("engine_reference_data_pinned", default=None)


@contextmanager
def reference_data_pinned():
    """Inside the block, reference data is read once (see the module docstring); nests."""
    if _PINNED.get() is not None:
        yield
        return
    token = _PINNED.set({})
    try:
        yield
    finally:
        _PINNED.reset(token)


def pinned(kind, key, load):
    """``load()``, or inside ``reference_data_pinned()`` the value it gave the first time for ``(kind, key)``."""
    store = _PINNED.get()
    if store is None:
        return load()
    values = store.setdefault(kind, {})
    if key not in values:
        values[key] = load()
    return values[key]
