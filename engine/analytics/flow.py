"""How work flows between people: variants (paths), hand-offs between groups and agencies, workload."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from . import sql
from .elements import WORKING, _task_source
from .scope import Scope, instances_where

CYCLE = sql.Measure("cycle", "cycle")


def variants_report(scope: Scope, *, limit: int = 50, portable: bool | None = None) -> dict:
    """The distinct paths (human steps in order) instances took: frequency and median cycle time."""
    path = sql.path_of("t.element_id", "t.instance_id", "t.created_at, t.id")
    tasks, task_params = _task_source(scope, f"t.instance_id, {path} AS path")
    where = instances_where(scope)
    cycle = sql.seconds_between("i.started_at", "i.ended_at")
    source = (f"SELECT DISTINCT paths.instance_id, paths.path, "
              f"CASE WHEN i.status = 'completed' THEN {cycle} END AS cycle "
              f"FROM ({tasks}) paths JOIN engine_processinstance i ON i.id = paths.instance_id WHERE {where.sql}")
    query = sql.grouped_stats(source, ["path"], [CYCLE], portable=portable, extra=["count(*) AS instances"])
    rows = sql.fetch(query, [*task_params, *where.params])
    total = sum(int(row["instances"]) for row in rows)
    variants = [{
        "path": row["path"].split(">"), "instances": int(row["instances"]),
        "share": round(int(row["instances"]) / total, 4) if total else None,
        "completed": int(row["cycle_n"] or 0),
        "median_cycle_seconds": sql.stats_of(row, "cycle")["p50_seconds"],
    } for row in rows]
    variants.sort(key=lambda item: (-item["instances"], item["path"]))
    return {"instances": total, "variant_count": len(variants), "variants": variants[:limit]}


def _agency_of_lane(lane: str, own_code: dict[str, str], process_key: str) -> str:
    """A lane written ``code/Group`` belongs to that agency; any other to the process's own agency."""
    if "/" in lane:
        return lane.split("/", 1)[0]
    return own_code.get(process_key, "")


def handoff_report(scope: Scope) -> dict:
    """Changes of group (lane) between consecutive human steps of an instance, and of agency."""
    tasks, params = _task_source(
        scope,
        "t.instance_id, t.process_key, t.lane, "
        "LAG(t.lane) OVER (PARTITION BY t.instance_id ORDER BY t.created_at, t.id) AS previous_lane",
    )
    pairs = sql.fetch(
        f"SELECT process_key, previous_lane, lane, count(*) AS handoffs, count(DISTINCT instance_id) AS instances "
        f"FROM ({tasks}) steps WHERE previous_lane IS NOT NULL AND previous_lane <> lane "
        "GROUP BY process_key, previous_lane, lane",
        params,
    )
    (per_instance,) = sql.fetch(
        f"SELECT count(*) AS instances, coalesce(max(n), 0) AS most, coalesce(avg(n), 0) AS mean FROM ("
        f"SELECT instance_id, sum(CASE WHEN previous_lane IS NOT NULL AND previous_lane <> lane THEN 1 ELSE 0 END)"
        f" AS n FROM ({tasks}) steps GROUP BY instance_id) per_instance",
        params,
    )
    own_code = dict(
        scope.definitions().values_list("key", "agency__code").distinct()
    ) if pairs else {}
    edges = []
    agency_crossings = 0
    for pair in pairs:
        source_agency = _agency_of_lane(pair["previous_lane"], own_code, pair["process_key"])
        target_agency = _agency_of_lane(pair["lane"], own_code, pair["process_key"])
        crosses = source_agency != target_agency
        agency_crossings += int(pair["handoffs"]) if crosses else 0
        edges.append({"process": pair["process_key"], "from_group": pair["previous_lane"], "to_group": pair["lane"],
                      "handoffs": int(pair["handoffs"]), "instances": int(pair["instances"]),
                      "crosses_agency": crosses, "from_agency": source_agency, "to_agency": target_agency})
    edges.sort(key=lambda edge: (-edge["handoffs"], edge["from_group"], edge["to_group"]))
    return {
        "instances": int(per_instance["instances"]),
        "handoffs": sum(edge["handoffs"] for edge in edges),
        "agency_handoffs": agency_crossings,
        "mean_handoffs_per_instance": round(float(per_instance["mean"]), 3),
        "max_handoffs_per_instance": int(per_instance["most"]),
        "edges": edges,
    }


def workload_report(scope: Scope, *, portable: bool | None = None) -> dict:
    """Per officer and per group (lane): open tasks, completed tasks, median handling time."""
    working = sql.seconds_between("t.claimed_at", "t.completed_at")
    tasks, params = _task_source(
        scope,
        "t.lane, t.status, t.assignee_id, t.completed_by_id, "
        f"CASE WHEN t.status = 'completed' THEN {working} END AS working",
    )
    open_status = "status IN ('ready', 'claimed')"
    by_officer = sql.fetch(
        sql.grouped_stats(f"{tasks} AND t.completed_by_id IS NOT NULL", ["completed_by_id"], [WORKING],
                          portable=portable),
        params,
    )
    open_by_officer = sql.fetch(
        f"SELECT assignee_id, count(*) AS open FROM ({tasks}) src WHERE {open_status} AND assignee_id IS NOT NULL "
        "GROUP BY assignee_id",
        params,
    )
    by_group = sql.fetch(
        sql.grouped_stats(tasks, ["lane"], [WORKING], portable=portable,
                          extra=[f"sum(CASE WHEN {open_status} THEN 1 ELSE 0 END) AS open",
                                 "sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed"]),
        params,
    )
    user_ids = {row["completed_by_id"] for row in by_officer} | {row["assignee_id"] for row in open_by_officer}
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    officers: dict[str, dict] = {}
    for row in by_officer:
        stats = sql.stats_of(row, "working")
        officers[names.get(row["completed_by_id"], "?")] = {
            "completed": stats["count"], "median_handling_seconds": stats["p50_seconds"], "open": 0}
    for row in open_by_officer:
        entry = officers.setdefault(names.get(row["assignee_id"], "?"),
                                    {"completed": 0, "median_handling_seconds": None, "open": 0})
        entry["open"] = int(row["open"])
    groups = [{"group": row["lane"], "open": int(row["open"]), "completed": int(row["completed"]),
               "median_handling_seconds": sql.stats_of(row, "working")["p50_seconds"]} for row in by_group]
    groups.sort(key=lambda item: item["group"])
    return {
        "officers": [{"officer": name, **values} for name, values in sorted(officers.items())],
        "groups": groups,
    }
