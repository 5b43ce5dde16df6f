"""Every figure of the reports, checked against values worked out by hand from the scenario (scenario.py)."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from engine.analytics import dfg, elements, flow, instances
from engine.analytics.scope import Scope

from .scenario import HOUR, at

pytestmark = pytest.mark.django_db

PORTABLE = [True] if connection.vendor != "postgresql" else [True, False]


def _by_element(rows):
    return {row["element_id"]: row for row in rows}


def test_the_scenario_ran_as_described(scenario):
    """B completed at T0+236h; A waits on its (unclaimed) review; due dates as the calendar gives them."""
    _, instance_a, instance_b = scenario
    assert instance_b.status == "completed" and instance_b.ended_at == at(236)
    assert instance_a.status == "running"
    assert instance_b.promised_at == datetime(2026, 8, 24, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("portable", PORTABLE)
def test_bottleneck_ranks_by_total_waiting(scope, portable):
    """review waits longest (B's 113.5h done plus A's 204h so far), then supply_documents, then check_documents."""
    report = elements.bottleneck_report(scope, portable=portable)
    assert [row["element_id"] for row in report] == ["review", "supply_documents", "check_documents"]
    assert [row["rank"] for row in report] == [1, 2, 3]
    rows = _by_element(report)
    review = rows["review"]
    assert review["visits"] == 2 and review["unclaimed_now"] == 1
    assert review["waiting"] == {"count": 1, "total_seconds": 113.5 * HOUR, "mean_seconds": 113.5 * HOUR,
                                 "p50_seconds": 113.5 * HOUR, "p90_seconds": 113.5 * HOUR}
    assert review["waiting_now_seconds"] == 204 * HOUR
    assert review["total_waiting_seconds"] == (113.5 + 204) * HOUR
    assert review["working"]["count"] == 1 and review["working"]["p50_seconds"] == HOUR
    check = rows["check_documents"]
    # waits 3h (A first), 1h (A again), 1h (B): p50 1h, p90 between 1h and 3h at 0.8: 2.6h
    assert check["visits"] == 3
    assert check["waiting"] == {"count": 3, "total_seconds": 5 * HOUR, "mean_seconds": round(5 * HOUR / 3, 1),
                                "p50_seconds": HOUR, "p90_seconds": 2.6 * HOUR}
    # works 2h, 2h, 0.5h
    assert check["working"] == {"count": 3, "total_seconds": 4.5 * HOUR, "mean_seconds": 1.5 * HOUR,
                                "p50_seconds": 2 * HOUR, "p90_seconds": 2 * HOUR}
    supply = rows["supply_documents"]
    assert supply["waiting"]["p50_seconds"] == 24 * HOUR and supply["working"]["p50_seconds"] == 0


@pytest.mark.parametrize("portable", PORTABLE)
def test_cycle_time_of_completed_instances(scope, portable):
    """Only B completed: 236 hours, in the histogram's 9-10 day bucket."""
    report = instances.cycle_time_report(scope, portable=portable)
    assert report["cycle_time"] == {"count": 1, "total_seconds": 236 * HOUR, "mean_seconds": 236 * HOUR,
                                    "p50_seconds": 236 * HOUR, "p90_seconds": 236 * HOUR}
    assert report["distribution"] == [{"days_from": 9, "days_to": 10, "instances": 1}]


def test_throughput_and_work_in_progress_per_week(scope):
    """Both started in the week of Monday 10 August; B ended in the week of 24 August, A is still open."""
    assert instances.throughput_report(scope)["weeks"] == [
        {"week": "2026-08-10", "started": 2, "completed": 0, "ended": 0, "work_in_progress": 2},
        {"week": "2026-08-24", "started": 0, "completed": 1, "ended": 1, "work_in_progress": 1},
    ]


def test_service_levels_count_late_and_open_past_due(scope, agency):
    """B's review was done after its due date and A's is open past it: 2 of 2; no check was late.

    The process: B ended before its promise; A (promise moved by its stopped clock to 26 August) is late
    only when the report looks after that date.
    """
    tasks = {row["element_id"]: row for row in elements.task_service_level_report(scope)}
    assert tasks["review"] == {"process": "business_licence", "element_id": "review", "tasks": 2, "breached": 2,
                               "still_open_and_late": 1, "breach_rate": 1.0}
    assert tasks["check_documents"]["tasks"] == 3 and tasks["check_documents"]["breached"] == 0
    assert "supply_documents" not in tasks  # no service level of its own
    (now,) = instances.process_service_level_report(scope)
    assert (now["promised"], now["breached"]) == (2, 0)
    later = Scope(agency_ids=(agency.pk,), as_of=datetime(2026, 8, 27, tzinfo=UTC))
    (late,) = instances.process_service_level_report(later)
    assert late == {"process": "business_licence", "promised": 2, "breached": 1, "still_open_and_late": 1,
                    "breach_rate": 0.5}


def test_rework_counts_documents_sent_back(scope):
    """A's documents were sent back once: check_documents ran again (3 hours from creation to completion)."""
    report = elements.rework_report(scope)
    assert report["instances"] == 2 and report["reworked_instances"] == 1 and report["rework_rate"] == 0.5
    assert report["repeat_seconds"] == 3 * HOUR
    assert report["elements"] == [{"element_id": "check_documents", "instances": 2, "reworked_instances": 1,
                                   "repeat_visits": 1, "rework_rate": 0.5, "repeat_seconds": 3 * HOUR}]


@pytest.mark.parametrize("portable", PORTABLE)
def test_variants_are_the_paths_taken(scope, portable):
    report = flow.variants_report(scope, portable=portable)
    assert report["instances"] == 2 and report["variant_count"] == 2
    by_path = {tuple(variant["path"]): variant for variant in report["variants"]}
    assert by_path[("check_documents", "review")] == {
        "path": ["check_documents", "review"], "instances": 1, "share": 0.5, "completed": 1,
        "median_cycle_seconds": 236 * HOUR}
    rework = by_path[("check_documents", "supply_documents", "check_documents", "review")]
    assert rework["completed"] == 0 and rework["median_cycle_seconds"] is None


def test_handoffs_between_groups(scope):
    """A: Front Office -> Applicant -> Front Office -> Verifier (3); B: Front Office -> Verifier (1)."""
    report = flow.handoff_report(scope)
    assert report["instances"] == 2 and report["handoffs"] == 4 and report["agency_handoffs"] == 0
    assert report["mean_handoffs_per_instance"] == 2.0 and report["max_handoffs_per_instance"] == 3
    edges = {(edge["from_group"], edge["to_group"]): (edge["handoffs"], edge["instances"]) for edge in report["edges"]}
    assert edges == {("Front Office", "Verifier"): (2, 2), ("Front Office", "Applicant"): (1, 1),
                     ("Applicant", "Front Office"): (1, 1)}


@pytest.mark.parametrize("portable", PORTABLE)
def test_workload_per_officer_and_group(scope, portable):
    report = flow.workload_report(scope, portable=portable)
    officers = {row["officer"]: row for row in report["officers"]}
    # officer: 0.5h, 2h, 1h -> median 1h; second_officer: 2h; the applicant's supply: claimed on completion
    assert officers["officer"] == {"officer": "officer", "completed": 3, "median_handling_seconds": HOUR, "open": 0}
    assert officers["second_officer"]["completed"] == 1
    assert officers["second_officer"]["median_handling_seconds"] == 2 * HOUR
    assert officers["applicant"]["median_handling_seconds"] == 0
    groups = {row["group"]: row for row in report["groups"]}
    assert groups["Front Office"] == {"group": "Front Office", "open": 0, "completed": 3,
                                      "median_handling_seconds": 2 * HOUR}
    assert groups["Verifier"] == {"group": "Verifier", "open": 1, "completed": 1, "median_handling_seconds": HOUR}


@pytest.mark.parametrize("portable", PORTABLE)
def test_directly_follows_graph_from_history(scope, portable):
    report = dfg.dfg_report(scope, portable=portable)
    nodes = {node["element_id"]: node["completions"] for node in report["nodes"]}
    assert nodes == {"submitted": 2, "check_documents": 3, "complete": 3, "supply_documents": 1, "review": 1,
                     "objection_period": 1, "issued": 1}
    edges = {(edge["source"], edge["target"]): edge for edge in report["edges"]}
    assert set(edges) == {("submitted", "check_documents"), ("check_documents", "complete"),
                          ("complete", "supply_documents"), ("supply_documents", "check_documents"),
                          ("complete", "review"), ("review", "objection_period"), ("objection_period", "issued")}
    # 5h (A) and 1.5h (B): median 3.25h
    assert edges[("submitted", "check_documents")]["frequency"] == 2
    assert edges[("submitted", "check_documents")]["median_seconds"] == 3.25 * HOUR
    assert edges[("check_documents", "complete")]["frequency"] == 3
    assert edges[("check_documents", "complete")]["median_seconds"] == 0
    assert edges[("complete", "review")]["median_seconds"] == 114.5 * HOUR
    assert edges[("supply_documents", "check_documents")]["median_seconds"] == 3 * HOUR


def test_filters_narrow_the_reports(scope, agency):
    """Another version, a date range before the scenario, or another process: nothing is counted."""
    assert elements.bottleneck_report(Scope(agency_ids=(agency.pk,), version=2)) == []
    assert elements.bottleneck_report(Scope(agency_ids=(agency.pk,), process_key="nope")) == []
    early = Scope(agency_ids=(agency.pk,), date_to=at(0))
    assert instances.cycle_time_report(early)["cycle_time"]["count"] == 0
    # From T0+2h on, only tasks created later count: A's supply, its second check and its review; B's none.
    later = Scope(agency_ids=(agency.pk,), date_from=at(2), as_of=at(236))
    assert {row["element_id"]: row["visits"] for row in elements.bottleneck_report(later)} == {
        "check_documents": 1, "supply_documents": 1, "review": 1}
    assert {row["element_id"]: row["visits"] for row in elements.bottleneck_report(
        Scope(agency_ids=(agency.pk,), process_key="business_licence", version=1, as_of=at(236)))} == {
        "check_documents": 3, "supply_documents": 1, "review": 2}
