"""Reports per BPMN element over the human-task projection (engine_humantask), one row per visit.

- waiting: ``created_at`` -> ``claimed_at`` (the claim of whoever holds the task last; time someone
  held it and gave it back counts as waiting; a delegation and its resolution keep the claim's moment,
  so the delegate's time counts as working); working: ``claimed_at`` -> ``completed_at``.
- the bottleneck ranking orders elements by the waiting they contributed: finished waits plus, for
  tasks still unclaimed, the wait so far (to the report's ``as_of``).
- a task breaches its service level when completed after ``due_at`` or still open past it at ``as_of``;
  due dates are computed in working time, with stopped clocks moving them, by the service-level code.
"""

from __future__ import annotations

from . import sql
from .scope import Scope, tasks_where

WAITING = sql.Measure("waiting", "waiting")
WORKING = sql.Measure("working", "working")


def _task_source(scope: Scope, columns: str) -> tuple[str, list]:
    where = tasks_where(scope).add("t.status <> 'cancelled'")
    return f"SELECT {columns} FROM engine_humantask t WHERE {where.sql}", where.params


def bottleneck_query(scope: Scope, *, portable: bool | None = None) -> tuple[str, list]:
    """The bottleneck report's one query and its parameters (``EXPLAIN`` it with these)."""
    waiting = sql.seconds_between("t.created_at", "t.claimed_at")
    working = sql.seconds_between("t.claimed_at", "t.completed_at")
    waiting_now = sql.seconds_between("t.created_at", "%s")
    source, params = _task_source(
        scope,
        f"t.process_key, t.element_id, t.status, {waiting} AS waiting, "
        f"CASE WHEN t.completed_at IS NOT NULL THEN {working} END AS working, "
        f"CASE WHEN t.claimed_at IS NULL THEN {waiting_now} END AS waiting_now",
    )
    extra = ["count(*) AS visits", "sum(CASE WHEN waiting_now IS NOT NULL THEN 1 ELSE 0 END) AS unclaimed",
             "coalesce(sum(waiting_now), 0) AS waiting_now_sum"]
    # Grouped as the analytics index is ordered (agency, process, element): no sort before the aggregate.
    query = sql.grouped_stats(source, ["process_key", "element_id"], [WAITING, WORKING], portable=portable,
                              extra=extra)
    return query, [scope.as_of, *params]


def bottleneck_report(scope: Scope, *, portable: bool | None = None) -> list[dict]:
    """Per element (of each process): visits, waiting and working statistics; ranked by total waiting."""
    rows = sql.fetch(*bottleneck_query(scope, portable=portable))
    report = []
    for row in rows:
        waiting_stats = sql.stats_of(row, "waiting")
        waiting_now_seconds = round(float(row["waiting_now_sum"]), 1)
        report.append({
            "process": row["process_key"],
            "element_id": row["element_id"],
            "visits": int(row["visits"]),
            "waiting": waiting_stats,
            "working": sql.stats_of(row, "working"),
            "unclaimed_now": int(row["unclaimed"]),
            "waiting_now_seconds": waiting_now_seconds,
            "total_waiting_seconds": round(waiting_stats["total_seconds"] + waiting_now_seconds, 1),
        })
    report.sort(key=lambda item: (-item["total_waiting_seconds"], item["process"], item["element_id"]))
    for rank, item in enumerate(report, start=1):
        item["rank"] = rank
    return report


def task_service_level_report(scope: Scope) -> list[dict]:
    """Per element with due dates: tasks, breaches (late or open past due at ``as_of``), breach rate."""
    source, params = _task_source(
        scope,
        "t.process_key, t.element_id, CASE WHEN (t.completed_at IS NOT NULL AND t.completed_at > t.due_at) "
        "OR (t.completed_at IS NULL AND t.due_at < %s) THEN 1 ELSE 0 END AS breached, "
        "CASE WHEN t.completed_at IS NULL AND t.due_at < %s THEN 1 ELSE 0 END AS open_breached",
    )
    query = (f"SELECT process_key, element_id, count(*) AS with_due, sum(breached) AS breached, "
             f"sum(open_breached) AS open_breached FROM ({source} AND t.due_at IS NOT NULL) src "
             "GROUP BY process_key, element_id ORDER BY process_key, element_id")
    rows = sql.fetch(query, [scope.as_of, scope.as_of, *params])
    return [{"process": row["process_key"], "element_id": row["element_id"], "tasks": int(row["with_due"]),
             "breached": int(row["breached"]), "still_open_and_late": int(row["open_breached"]),
             "breach_rate": round(int(row["breached"]) / int(row["with_due"]), 4)} for row in rows]


def rework_report(scope: Scope) -> dict:
    """Elements visited more than once in an instance (documents sent back): how often, what it cost.

    A repeat visit is any visit after an instance's first of that element; its cost is its own time
    from creation to completion (or to ``as_of`` while open).
    """
    cost = sql.seconds_between("t.created_at", "coalesce(t.completed_at, %s)")
    source, params = _task_source(
        scope,
        f"t.instance_id, t.element_id, {cost} AS cost, "
        "ROW_NUMBER() OVER (PARTITION BY t.instance_id, t.element_id ORDER BY t.created_at, t.id) AS visit",
    )
    query = f"""
        SELECT element_id, count(DISTINCT instance_id) AS instances,
               count(DISTINCT CASE WHEN visit > 1 THEN instance_id END) AS reworked_instances,
               sum(CASE WHEN visit > 1 THEN 1 ELSE 0 END) AS repeat_visits,
               coalesce(sum(CASE WHEN visit > 1 THEN cost END), 0) AS repeat_seconds
        FROM ({source}) src GROUP BY element_id ORDER BY element_id
    """
    rows = sql.fetch(query, [scope.as_of, *params])
    totals_query = f"""
        SELECT count(DISTINCT instance_id) AS instances,
               count(DISTINCT CASE WHEN visit > 1 THEN instance_id END) AS reworked
        FROM ({source}) src
    """
    (totals,) = sql.fetch(totals_query, [scope.as_of, *params])
    elements = [{
        "element_id": row["element_id"], "instances": int(row["instances"]),
        "reworked_instances": int(row["reworked_instances"]), "repeat_visits": int(row["repeat_visits"]),
        "rework_rate": round(int(row["reworked_instances"]) / int(row["instances"]), 4),
        "repeat_seconds": round(float(row["repeat_seconds"]), 1),
    } for row in rows]
    elements.sort(key=lambda item: (-item["repeat_visits"], item["element_id"]))
    instances = int(totals["instances"] or 0)
    return {
        "instances": instances,
        "reworked_instances": int(totals["reworked"] or 0),
        "rework_rate": round(int(totals["reworked"] or 0) / instances, 4) if instances else None,
        "repeat_seconds": round(sum(item["repeat_seconds"] for item in elements), 1),
        "elements": [item for item in elements if item["repeat_visits"]],
    }
