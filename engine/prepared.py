"""Statements whose SQL never changes, compiled by Django once per database connection.

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

``PreparedUpdate`` does the same for a queryset's ``update()`` with fixed values (closing a task's
offers), and ``save_fields(row, names)`` for ``row.save(update_fields=names)`` of the models that have no
``save()`` of their own and no signal receivers (the engine's): the values are prepared by their fields
(``get_db_prep_save``), as ``save()`` prepares them.

``insert_rows(rows)`` inserts new rows of one model in one statement, compiled once per model and
number of rows, and sets their keys, as ``bulk_create(rows)`` does on databases that return the keys of
a multi-row insert (PostgreSQL, SQLite 3.35 and later).

The compiled form lives on the connection object (``DatabaseWrapper``), which Django keeps per thread, so
threads never share one; it is kept per ``PreparedRead`` / ``PreparedUpdate`` object (make them module
constants, not one per call) and per model and fields or row count. Tests hold each to what the ORM
reads and writes, field by field, on SQLite and PostgreSQL (``tests/engine/test_prepared.py``).
"""

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models.query import FlatValuesListIterable, ModelIterable
from django.db.models.sql import UpdateQuery
from django.db.transaction import TransactionManagementError

# Placeholder ids: no table of the project comes near them, and they are valid 64-bit integers.
_PLACEHOLDER = -(2**62)
_CACHE = "_engine_prepared_statements"


class PreparedStatementError(Exception):
    """A queryset or model a prepared statement cannot stand for (see the module docstring)."""


class PreparedRead:
    """``PreparedRead(lambda task_id: HumanTask.objects.filter(pk=task_id))``; ``read(task_id)`` is the list
    of rows the queryset would give."""

    def __init__(self, build):
        self._build = build

    def __call__(self, *ids):
        connection, compiled = _compiled(self, lambda connection: _Compiled(self._build, len(ids), connection))
        return compiled.run(connection, ids)

    def first(self, *ids):
        """The first row, or None (the queryset should be ordered or return at most one row)."""
        rows = self(*ids)
        return rows[0] if rows else None


def _compiled(key, compile_for):
    connection = connections[DEFAULT_DB_ALIAS]
    cache = connection.__dict__.setdefault(_CACHE, {})
    compiled = cache.get(key)
    if compiled is None:
        compiled = cache[key] = compile_for(connection)
    return connection, compiled


def _slots(params, placeholders, sql):
    """Where each placeholder id sits in the compiled parameters."""
    slots = [(position, placeholders.index(value)) for position, value in enumerate(params)
             if type(value) is int and value in placeholders]
    if {index for _position, index in slots} != set(range(len(placeholders))):
        raise PreparedStatementError(f"Not every id reaches the SQL unchanged: {sql}")
    return slots


def _params(params, slots, ids):
    params = list(params)
    for position, index in slots:
        params[position] = ids[index]
    return params


class PreparedUpdate:
    """``PreparedUpdate(lambda task_id: HumanTaskCandidateGroup.objects.filter(humantask_id=task_id), is_open=False)``;
    ``update(task_id)`` runs the queryset's ``update(is_open=False)`` and returns how many rows it changed."""

    def __init__(self, build, **values):
        self._build, self._values = build, values

    def __call__(self, *ids):
        connection, (sql, params, slots) = _compiled(self, lambda connection: self._compile(len(ids), connection))
        with connection.cursor() as cursor:
            cursor.execute(sql, _params(params, slots, ids))
            return cursor.rowcount

    def _compile(self, count, connection):
        placeholders = [_PLACEHOLDER - index for index in range(count)]
        query = self._build(*placeholders).query.chain(UpdateQuery)
        query.add_update_values(self._values)
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        if query.get_related_updates():
            raise PreparedStatementError("Only updates of the queryset's own table.")
        return sql, list(params), _slots(params, placeholders, sql)


def save_fields(row, names):
    """``row.save(update_fields=names)`` with the UPDATE compiled once per model and fields (module docstring)."""
    model = type(row)
    connection, (sql, fields) = _compiled((model, tuple(names)), lambda connection: _update_by_pk(model, names,
                                                                                                  connection))
    params = [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]
    params.append(model._meta.pk.get_db_prep_value(row.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise DatabaseError(f"{model.__name__} {row.pk}: the update changed {cursor.rowcount} rows, not one.")


def _update_by_pk(model, names, connection):
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    if any(not field.concrete or field.primary_key or field.many_to_many or getattr(field, "auto_now", False)
           for field in fields):
        raise PreparedStatementError(f"{model.__name__}: only concrete fields other than the key, without auto_now.")
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
    return sql, fields


def insert_rows(rows):
    """Insert ``rows`` (new instances of one model, keys not set) and set their keys (module docstring)."""
    if not rows:
        return rows
    model = type(rows[0])
    connection, (sql, fields) = _compiled(("insert", model, len(rows)),
                                          lambda connection: _insert_sql(model, len(rows), connection))
    params = [field.get_db_prep_save(field.pre_save(row, True), connection) for row in rows for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = sorted(key for (key,) in cursor.fetchall())  # assigned in the order of the rows, returned in any
    for row, key in zip(rows, keys, strict=True):
        row.pk = key
        row._state.adding = False
        row._state.db = DEFAULT_DB_ALIAS
    return rows


def _insert_sql(model, count, connection):
    if not connection.features.can_return_rows_from_bulk_insert:
        raise PreparedStatementError("This database does not return the keys of a multi-row insert.")
    meta = model._meta
    if not meta.pk.auto_created and not getattr(meta.pk, "db_returning", False):
        raise PreparedStatementError(f"{model.__name__}: only models with a key the database assigns.")
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns = ", ".join(quote(field.column) for field in fields)
    returning, _params = connection.ops.return_insert_columns([meta.pk])
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * count)} {returning}"
    return sql, fields


class _Compiled:
    def __init__(self, build, count, connection):
        placeholders = [_PLACEHOLDER - index for index in range(count)]
        queryset = build(*placeholders)
        compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slots = _slots(self.params, placeholders, self.sql)
        self.for_update = queryset.query.select_for_update
        self.compiler = compiler
        self.converters = compiler.get_converters([column for column, *_ in compiler.select[:compiler.col_count]])
        self.model = None
        if queryset._iterable_class is ModelIterable:
            info = compiler.klass_info
            if info.get("related_klass_infos") or compiler.annotation_col_map:
                raise PreparedStatementError("Only plain model rows: no select_related, no annotations.")
            self.model = info["model"]
            self.start, self.end = info["select_fields"][0], info["select_fields"][-1] + 1
            self.attnames = [column[0].target.attname for column in compiler.select[self.start:self.end]]
        elif queryset._iterable_class is not FlatValuesListIterable:
            raise PreparedStatementError("Only model rows or values_list(..., flat=True).")

    def run(self, connection, ids):
        if self.for_update and connection.features.has_select_for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        with connection.cursor() as cursor:
            cursor.execute(self.sql, _params(self.params, self.slots, ids))
            rows = cursor.fetchall()
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        if self.model is None:
            return [row[0] for row in rows]
        return [self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, row[self.start:self.end]) for row in rows]
