"""The directly-follows graph of what really happened, from the history's ``activity_completed`` events.

Each instance's completed elements in order (time, then event id: elements finished in one step share
a timestamp); an edge a -> b counts how often b was completed right after a in the same instance, with
the mean and median seconds between the two completions (what pm4py's performance DFG measures on a
log of completion events).
"""

from __future__ import annotations

from . import sql
from .scope import Scope, events_where

GAP = sql.Measure("gap", "gap")


def _where(scope):
    return events_where(scope).add("e.event_type = 'activity_completed'")


def dfg_edges_query(scope: Scope, *, portable: bool | None = None) -> tuple[str, list]:
    """The graph's one query and its parameters: each completion paired with the one before it in its instance."""
    where = _where(scope)
    steps = (
        "SELECT e.element_id AS target, e.occurred_at, "
        "LAG(e.element_id) OVER (PARTITION BY e.instance_id ORDER BY e.occurred_at, e.id) AS source, "
        "LAG(e.occurred_at) OVER (PARTITION BY e.instance_id ORDER BY e.occurred_at, e.id) AS previous_at "
        f"FROM engine_historyevent e WHERE {where.sql}"
    )
    gap = sql.seconds_between("previous_at", "occurred_at")
    # An instance's first completion has no source: its row counts towards the nodes, not the edges.
    edges_source = f"SELECT source, target, {gap} AS gap FROM ({steps}) steps"
    query = sql.grouped_stats(edges_source, ["source", "target"], [GAP], portable=portable,
                              extra=["count(*) AS completions"])
    return query, where.params


def dfg_report(scope: Scope, *, portable: bool | None = None) -> dict:
    rows = sql.fetch(*dfg_edges_query(scope, portable=portable))
    completions: dict[str, int] = {}
    for row in rows:
        completions[row["target"]] = completions.get(row["target"], 0) + int(row["completions"])
    edges = [row for row in rows if row["source"] is not None]
    return {
        "nodes": [{"element_id": element, "completions": count} for element, count in sorted(completions.items())],
        "edges": sorted(({
            "source": row["source"], "target": row["target"], "frequency": int(row["gap_n"]),
            "mean_seconds": sql.stats_of(row, "gap")["mean_seconds"],
            "median_seconds": sql.stats_of(row, "gap")["p50_seconds"],
        } for row in edges), key=lambda edge: (-edge["frequency"], edge["source"], edge["target"])),
    }
