"""Faster writes for a simulation run on SQLite: no fsync, the rollback journal in memory, a bigger page cache.

Only for the length of the run, on the command's own connection: a crash during it can corrupt the file,
which is acceptable for a demo history that is simulated again in a minute, never for real work.
PostgreSQL is left as it is.
"""

from contextlib import contextmanager

from django.db import connection

CACHE_KIB = 256 * 1024


@contextmanager
def fast_sqlite_writes():
    if connection.vendor != "sqlite" or connection.in_atomic_block:  # SQLite refuses inside a transaction
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size")
        cache_size = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("PRAGMA journal_mode = MEMORY")
        cursor.execute(f"PRAGMA cache_size = {-CACHE_KIB}")  # months of history outgrow the 2 MB default
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA journal_mode = {journal_mode}")
            cursor.execute(f"PRAGMA synchronous = {int(synchronous)}")
            cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
