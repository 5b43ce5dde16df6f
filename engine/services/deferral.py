"""Work a batch writer puts off to the end of its transaction (``projections_deferred`` in ``steps``)."""

from contextlib import contextmanager

from django.db import connection

# Ids per statement when the deferred work reads or deletes by id (below every database's parameter limit).
CHUNK = 500


def in_chunks(ids):
    """``ids`` (a sorted list) in slices of at most ``CHUNK``."""
    return (ids[start:start + CHUNK] for start in range(0, len(ids), CHUNK))


@contextmanager
def deferred_to_block_end(context_var, pending, flush, name):
    """Inside the block, ``context_var`` holds ``pending`` (what the writers note instead of writing); when
    the block ends without an exception, ``flush(pending)`` writes it, inside the writer's transaction,
    which the block must be in. An exception skips it (the transaction rolls back). Nested blocks join the
    outer one."""
    if context_var.get() is not None:
        yield
        return
    token = context_var.set(pending)
    try:
        yield
    finally:
        context_var.reset(token)
    if not connection.in_atomic_block:
        raise RuntimeError(f"{name} must run inside the writer's transaction.")
    flush(pending)
