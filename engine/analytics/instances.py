"""Reports over whole applications (engine_processinstance): cycle time, throughput, work in progress."""

from __future__ import annotations

from . import sql
from .scope import Scope, instances_where


def cycle_time_report(scope: Scope, *, portable: bool | None = None) -> dict:
    """Completed instances started in the scope: count, mean, median, p90 and a histogram in whole days."""
    where = instances_where(scope).add("i.status = 'completed'").add("i.ended_at IS NOT NULL")
    cycle = sql.seconds_between("i.started_at", "i.ended_at")
    source = f"SELECT {cycle} AS cycle FROM engine_processinstance i WHERE {where.sql}"
    (row,) = sql.fetch(sql.grouped_stats(source, [], [sql.Measure("cycle", "cycle")], portable=portable),
                       where.params)
    histogram = sql.fetch(
        f"SELECT {sql.whole_days('cycle')} AS days, count(*) AS instances FROM ({source}) src "
        f"GROUP BY {sql.whole_days('cycle')} ORDER BY 1",
        where.params,
    )
    return {
        "cycle_time": sql.stats_of(row, "cycle"),
        "distribution": [{"days_from": int(r["days"]), "days_to": int(r["days"]) + 1, "instances": r["instances"]}
                         for r in histogram],
    }


def throughput_report(scope: Scope) -> dict:
    """Per week (Monday, UTC): instances started, ended (completed), and in progress at the week's end.

    Counts the instances started in the scope's dates (and wherever they ended), so the running sum of
    started minus ended is the work in progress.
    """
    started_where = instances_where(scope)
    ended_where = instances_where(scope).add("i.ended_at IS NOT NULL")
    query = f"""
        WITH started AS (
            SELECT {sql.week_start('i.started_at')} AS week, count(*) AS n
            FROM engine_processinstance i WHERE {started_where.sql} GROUP BY 1
        ), ended AS (
            SELECT {sql.week_start('i.ended_at')} AS week, count(*) AS n,
                   sum(CASE WHEN i.status = 'completed' THEN 1 ELSE 0 END) AS completed
            FROM engine_processinstance i WHERE {ended_where.sql} GROUP BY 1
        ), weeks AS (SELECT week FROM started UNION SELECT week FROM ended)
        SELECT weeks.week, coalesce(started.n, 0) AS started, coalesce(ended.completed, 0) AS completed,
               coalesce(ended.n, 0) AS ended,
               sum(coalesce(started.n, 0) - coalesce(ended.n, 0)) OVER (ORDER BY weeks.week) AS wip
        FROM weeks LEFT JOIN started ON started.week = weeks.week LEFT JOIN ended ON ended.week = weeks.week
        ORDER BY weeks.week
    """
    rows = sql.fetch(query, [*started_where.params, *ended_where.params])
    return {"weeks": [{"week": str(row["week"]), "started": int(row["started"]), "completed": int(row["completed"]),
                       "ended": int(row["ended"]), "work_in_progress": int(row["wip"])} for row in rows]}


def process_service_level_report(scope: Scope) -> list[dict]:
    """Per process: instances with a promised date, how many broke it (late, or open past it at ``as_of``)."""
    where = instances_where(scope).add("i.promised_at IS NOT NULL").add("i.status <> 'cancelled'")
    query = f"""
        SELECT i.process_key, count(*) AS promised,
               sum(CASE WHEN (i.ended_at IS NOT NULL AND i.ended_at > i.promised_at)
                          OR (i.ended_at IS NULL AND i.promised_at < %s) THEN 1 ELSE 0 END) AS breached,
               sum(CASE WHEN i.ended_at IS NULL AND i.promised_at < %s THEN 1 ELSE 0 END) AS open_breached
        FROM engine_processinstance i WHERE {where.sql}
        GROUP BY i.process_key ORDER BY i.process_key
    """
    rows = sql.fetch(query, [scope.as_of, scope.as_of, *where.params])
    return [{"process": row["process_key"], "promised": int(row["promised"]), "breached": int(row["breached"]),
             "still_open_and_late": int(row["open_breached"]),
             "breach_rate": round(int(row["breached"]) / int(row["promised"]), 4)} for row in rows]
