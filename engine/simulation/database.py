"""Faster writes for a simulation run on SQLite: no fsync, the rollback journal in memory.

Only for the length of the run, on the command's own connection: a crash during it can corrupt the file,
which is acceptable for a demo history that is simulated again in a minute, never for real work.
PostgreSQL is left as it is.
"""

from contextlib import contextmanager

from django.db import connection


@contextmanager
def fast_sqlite_writes():
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("PRAGMA journal_mode = MEMORY")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA journal_mode = {journal_mode}")
            cursor.execute(f"PRAGMA synchronous = {int(synchronous)}")
