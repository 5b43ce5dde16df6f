"""Reads whose SQL never changes, compiled by Django once per database connection.

Building and compiling a queryset costs Django some 200 to 500 microseconds; running a small indexed
query costs SQLite 20 to 50. Every step of every instance runs the same few reads (the locked task and
instance, the instance's pending timers, a task's offers), so a batch job like the history simulator
spent more time compiling them than anything else. A ``PreparedRead`` compiles its queryset the first
time a connection runs it, with placeholder ids, and from then on only puts the ids in, executes the
SQL, converts the values with the compiler's converters and builds the rows as Django's own iterables
do (``ModelIterable``, ``FlatValuesListIterable``).

For querysets that
- take their varying values as integer ids (pks, foreign keys), passed to the database unchanged;
- give the same SQL whatever the ids (no ``__in`` on a list of them);
- return plain model instances (no ``select_related``, annotations or ``only``) or ``values_list(..., flat=True)``;
- run on the default database (the project has one).

The compiled form lives on the connection object (``DatabaseWrapper``), which Django keeps per thread, so
threads never share one. Tests hold every prepared read to the queryset it stands for, on SQLite and
PostgreSQL (``tests/engine/test_prepared.py``).
"""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.query import FlatValuesListIterable, ModelIterable
from django.db.transaction import TransactionManagementError

# Placeholder ids: no table of the project comes near them, and they are valid 64-bit integers.
_PLACEHOLDER = -(2**62)
_CACHE = "_engine_prepared_reads"


class PreparedReadError(Exception):
    """A queryset that a ``PreparedRead`` cannot stand for (see the module docstring)."""


class PreparedRead:
    """``PreparedRead(lambda task_id: HumanTask.objects.filter(pk=task_id))``; ``read(task_id)`` is the list
    of rows the queryset would give."""

    def __init__(self, build):
        self._build = build

    def __call__(self, *ids):
        connection = connections[DEFAULT_DB_ALIAS]
        compiled = connection.__dict__.setdefault(_CACHE, {}).get(self)
        if compiled is None:
            compiled = connection.__dict__[_CACHE][self] = _Compiled(self._build, len(ids), connection)
        return compiled.run(connection, ids)

    def first(self, *ids):
        """The first row, or None (the queryset should be ordered or return at most one row)."""
        rows = self(*ids)
        return rows[0] if rows else None


class _Compiled:
    def __init__(self, build, count, connection):
        placeholders = [_PLACEHOLDER - index for index in range(count)]
        queryset = build(*placeholders)
        compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slots = [(position, placeholders.index(value)) for position, value in enumerate(self.params)
                      if type(value) is int and value in placeholders]
        if {index for _position, index in self.slots} != set(range(count)):
            raise PreparedReadError(f"Not every id reaches the SQL unchanged: {self.sql}")
        self.for_update = queryset.query.select_for_update
        self.compiler = compiler
        self.converters = compiler.get_converters([column for column, *_ in compiler.select[:compiler.col_count]])
        self.model = None
        if queryset._iterable_class is ModelIterable:
            info = compiler.klass_info
            if info.get("related_klass_infos") or compiler.annotation_col_map:
                raise PreparedReadError("Only plain model rows: no select_related, no annotations.")
            self.model = info["model"]
            self.start, self.end = info["select_fields"][0], info["select_fields"][-1] + 1
            self.attnames = [column[0].target.attname for column in compiler.select[self.start:self.end]]
        elif queryset._iterable_class is not FlatValuesListIterable:
            raise PreparedReadError("Only model rows or values_list(..., flat=True).")

    def run(self, connection, ids):
        if self.for_update and connection.features.has_select_for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(self.params)
        for position, index in self.slots:
            params[position] = ids[index]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        if self.model is None:
            return [row[0] for row in rows]
        return [self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, row[self.start:self.end]) for row in rows]
