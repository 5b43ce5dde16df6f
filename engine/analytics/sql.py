"""The SQL the reports share, written once for PostgreSQL and once for SQLite where they differ.

- ``seconds_between(start, end)``: the seconds from one timestamp column to another.
- ``week_start(column)``: the Monday (UTC) of a timestamp's week, as ``YYYY-MM-DD`` text.
- ``grouped_stats(...)``: per group, for each measure, its count, sum, mean, median (p50) and p90.
  PostgreSQL computes the percentiles with ``percentile_cont``; the portable form (SQLite, and
  PostgreSQL when asked) numbers the values with ``ROW_NUMBER()`` over the group and interpolates
  linearly between the two ranks around ``(n - 1) * p``: the same definition as ``percentile_cont``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

# Percentiles as exact fractions (numerator, denominator): the portable form ranks with integer division.
PERCENTILES = {"p50": (1, 2), "p90": (9, 10)}


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def seconds_between(start: str, end: str) -> str:
    if is_postgres():
        return f"date_part('epoch', {end} - {start})"  # double precision; EXTRACT gives numeric, slower to sort
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def week_start(column: str) -> str:
    if is_postgres():
        return f"to_char(date_trunc('week', {column} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
    return f"date({column}, 'weekday 0', '-6 days')"


def whole_days(seconds: str) -> str:
    """Whole days in a (non-negative) number of seconds, rounded down."""
    if is_postgres():
        return f"CAST(floor(({seconds}) / 86400.0) AS integer)"
    return f"CAST(({seconds}) / 86400.0 AS integer)"


def path_of(element: str, partition: str, order: str) -> str:
    """A window expression: the elements of the partition joined with '>' in order (same on every row)."""
    if is_postgres():
        return (f"string_agg({element}, '>') OVER (PARTITION BY {partition} ORDER BY {order} "
                "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)")
    return (f"group_concat({element}, '>') OVER (PARTITION BY {partition} ORDER BY {order} "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)")


def param(value):
    """A datetime (or other) value as the database driver wants it in raw SQL."""
    from datetime import datetime

    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


@dataclass(frozen=True)
class Measure:
    name: str
    expression: str  # over the source's columns; NULL where the measure does not apply


def grouped_stats(source: str, groups: list[str], measures: list[Measure], *, portable: bool | None = None,
                  extra: list[str] = ()) -> str:
    """SQL: ``groups`` then, per measure, ``<m>_n, <m>_sum, <m>_mean, <m>_p50, <m>_p90``, then ``extra``.

    ``source`` is a SELECT whose columns include the group columns, the columns the measures read and
    any aggregate in ``extra`` (for example ``count(*) AS visits``). NULL values do not count.
    """
    if portable is None:
        portable = not is_postgres()
    group_list = ", ".join(groups)
    if not portable:
        columns = [*groups]
        for measure in measures:
            value = f"({measure.expression})"
            fractions = ", ".join(f"{num}.0 / {den}" for num, den in PERCENTILES.values())
            columns += [
                f"count({value}) AS {measure.name}_n",
                f"sum({value}) AS {measure.name}_sum",
                f"avg({value}) AS {measure.name}_mean",
                # one sort per measure for all its percentiles
                f"percentile_cont(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY {value}) AS {measure.name}_percentiles",
            ]
        columns += list(extra)
        group_by = f" GROUP BY {group_list}" if groups else ""
        # The source stays a subquery (OFFSET 0), so each measure is computed once per row, not once per
        # aggregate; its ORDER BY lets an index in group order feed the aggregate without a sort.
        order_by = f" ORDER BY {group_list}" if groups else ""
        inner = f"SELECT {', '.join(columns)} FROM ({source}{order_by} OFFSET 0) src{group_by}"
        unpacked = [*groups, *extra_names(extra)]
        for measure in measures:
            unpacked += [f"{measure.name}_{part}" for part in ("n", "sum", "mean")]
            unpacked += [f"{measure.name}_percentiles[{index}] AS {measure.name}_{label}"
                         for index, label in enumerate(PERCENTILES, start=1)]
        return f"SELECT {', '.join(unpacked)} FROM ({inner}) stats"

    partition = f"PARTITION BY {group_list} " if groups else ""
    ranked = ["src.*"]
    for measure in measures:
        value = f"({measure.expression})"
        ranked += [
            f"{value} AS {measure.name}_value",
            f"ROW_NUMBER() OVER ({partition}ORDER BY ({value}) IS NULL, {value}) - 1 AS {measure.name}_rank",
            f"COUNT({value}) OVER ({partition.strip()}) AS {measure.name}_count",
        ]
    columns = [*groups]
    for measure in measures:
        m = measure.name
        columns += [f"count({m}_value) AS {m}_n", f"sum({m}_value) AS {m}_sum", f"avg({m}_value) AS {m}_mean"]
        for label, (num, den) in PERCENTILES.items():
            low_rank = f"(({m}_count - 1) * {num}) / {den}"
            low = f"max(CASE WHEN {m}_rank = {low_rank} AND {m}_value IS NOT NULL THEN {m}_value END)"
            high = f"max(CASE WHEN {m}_rank = {low_rank} + 1 AND {m}_value IS NOT NULL THEN {m}_value END)"
            scaled = f"((max({m}_count) - 1) * {num})"
            fraction = f"({scaled} - ({scaled} / {den}) * {den}) * 1.0 / {den}"  # the remainder, without %
            columns.append(f"{low} + {fraction} * (coalesce({high}, {low}) - {low}) AS {m}_{label}")
    columns += list(extra)
    group_by = f" GROUP BY {group_list}" if groups else ""
    return f"SELECT {', '.join(columns)} FROM (SELECT {', '.join(ranked)} FROM ({source}) src) ranked{group_by}"


def extra_names(extra) -> list[str]:
    """The output names of ``extra`` aggregates (``... AS name``)."""
    return [column.rsplit(" AS ", 1)[1] for column in extra]


def fetch(sql: str, params=()) -> list[dict]:
    """Rows of a query as dicts."""
    with connection.cursor() as cursor:
        cursor.execute(sql, [param(value) for value in params])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def stats_of(row: dict, name: str) -> dict:
    """The five numbers of one measure from a ``grouped_stats`` row, seconds rounded to 0.1."""

    def rounded(value):
        return None if value is None else round(float(value), 1)

    return {
        "count": int(row[f"{name}_n"] or 0),
        "total_seconds": rounded(row[f"{name}_sum"]) or 0.0,
        "mean_seconds": rounded(row[f"{name}_mean"]),
        "p50_seconds": rounded(row[f"{name}_p50"]),
        "p90_seconds": rounded(row[f"{name}_p90"]),
    }
