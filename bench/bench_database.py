"""The database a PostgreSQL benchmark owns, chosen before Django is set up.

Each benchmark names its own database (``bureau_<name>_bench``) on the server ``DATABASE_URL`` points
at; the database in the URL itself is never touched.
"""

import os
import sys
from urllib.parse import urlsplit, urlunsplit


def bench_url(url, database, bench_name):
    """``url`` with its database replaced by ``database``; PostgreSQL only."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"{bench_name} bench: DATABASE_URL must be a postgres:// URL (the bench measures PostgreSQL).")
    return urlunsplit(parts._replace(path="/" + database))


def recreate_database(url):
    """Drop and create the database ``url`` names (connecting to the server's ``postgres`` database)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    params = {"host": parts.hostname, "port": parts.port, "user": parts.username, "password": parts.password}
    params = {key: value for key, value in params.items() if value is not None}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as connection:
        name = sql.Identifier(parts.path.lstrip("/"))
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_DEBUG"] = "0"  # DEBUG keeps every query in memory
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


# The secondary indexes, unique constraints and foreign keys of some tables, with the SQL that makes each.
_SECONDARY = """
    SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype::text
    FROM pg_constraint WHERE conrelid::regclass::text = ANY(%(tables)s) AND contype IN ('u', 'f')
    UNION ALL
    SELECT 'index', tablename, indexname, indexdef, 'i' FROM pg_indexes
    WHERE tablename = ANY(%(tables)s) AND indexname NOT IN (SELECT conname FROM pg_constraint)
"""


def set_aside_indexes(cursor, tables):
    """Drop ``tables``' secondary indexes, unique constraints and foreign keys before a bulk load; return the
    SQL that rebuilds them (indexes first, foreign keys last)."""
    cursor.execute(_SECONDARY, {"tables": list(tables)})
    found = cursor.fetchall()
    rebuild = []
    for kind in ("i", "u", "f"):
        for what, table, name, definition, found_kind in found:
            if found_kind == kind:
                rebuild.append(definition if what == "index"
                               else f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for kind in ("f", "u", "i"):
        for what, table, name, _definition, found_kind in found:
            if found_kind == kind:
                cursor.execute(f'DROP INDEX "{name}"' if what == "index" else
                               f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return rebuild
