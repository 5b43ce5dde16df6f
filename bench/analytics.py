#!/usr/bin/env python
"""Analytics at scale: the reports over 1,000,000 instances and about 10,000,000 history events on PostgreSQL.

Builds its own database (``bureau_analytics_bench`` on the server DATABASE_URL names; dropped and
recreated unless ``--reuse``), migrates it, deploys three processes, loads the synthetic history of
``bench/analytics_data.py`` with ``COPY`` (secondary indexes and foreign keys set aside and rebuilt),
then times:

- the bottleneck report (``engine.analytics.elements.bottleneck_report``, the function the API calls) for the
  whole agency and for one process, and the whole HTTP request ``GET /api/v1/analytics/bottlenecks/``;
- the other reports once each;
- ``EXPLAIN (ANALYZE, BUFFERS)`` of the bottleneck query;
- the CSV export of the event log (the API's ``engine.analytics.export.csv_stream``) to a file, and pm4py's
  performance directly-follows graph (``pm4py.discover_performance_dfg``) on that log's completion
  events, against our own DFG report (SQL over the same events), with the ratio.

    make bench-analytics                      # 1,000,000 instances
    .venv/bin/python bench/analytics.py --instances 100000 --reuse

pm4py is AGPL: it is in the ``bench`` extra only (``pip install -e ".[bench]"``) and imported here only.
See bench/README.md ("Analytics at a million instances").
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project first, then bench/ for analytics_data and bench_database.
sys.path[:] = [str(ROOT), *(entry for entry in sys.path if entry != str(ROOT))]
if str(ROOT / "bench") not in sys.path:
    sys.path.append(str(ROOT / "bench"))

import analytics_data  # noqa: E402
from bench_database import bench_url, recreate_database, set_aside_indexes, setup_django  # noqa: E402

BENCH_DATABASE = "bureau_analytics_bench"
DEFAULT_URL = f"postgres://postgres@127.0.0.1:5432/{BENCH_DATABASE}"
PROCESSES = ROOT / "bench" / "analytics_processes"
LOADED_TABLES = ["engine_processinstance", "engine_humantask", "engine_historyevent"]
CHUNK = 50_000
TARGET_SECONDS = 5.0


def timed(label, function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    elapsed = time.perf_counter() - started
    print(f"  {label:<44} {elapsed:8.2f} s", flush=True)
    return result, elapsed


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def create_people_and_processes():
    """The agency, its staff in their groups, 20,000 citizens, and the processes deployed for real."""
    from django.contrib.auth.models import User

    from engine.agencies import agency_ensure, membership_set
    from engine.models import Role
    from processes.services import definition_deploy

    agency = agency_ensure("dpmptsp", name="DPMPTSP Kota (bench)")
    agency_ensure("other", name="Dinas Lain (bench)")
    analyst = User.objects.create_user("analyst")
    membership_set(user=analyst, agency=agency, role=Role.ANALYST)
    manager = User.objects.create_user("manager")
    membership_set(user=manager, agency=agency, role=Role.MANAGER)
    officers = {}
    for group in analytics_data.GROUPS:
        officers[group] = []
        for number in range(1, analytics_data.OFFICERS_PER_GROUP + 1):
            name = f"{group.lower().replace(' ', '-')}-{number}"
            user = User.objects.create_user(name)
            membership_set(user=user, agency=agency, role=Role.OFFICER, groups=[group])
            officers[group].append((user.pk, name))
    User.objects.bulk_create(User(username=f"citizen-{n}", password="!") for n in range(analytics_data.APPLICANTS))
    applicants = list(User.objects.filter(username__startswith="citizen-").values_list("pk", "username"))
    definitions = {}
    for key in ("certified_copy", "trade_licence", "building_permit"):
        content = (PROCESSES / f"{key}.bpmn").read_bytes()
        versions = [definition_deploy(content=content, filename=f"{key}.bpmn", actor=analyst, agency=agency)[0]]
        if key == "building_permit":  # a second version (renamed), to have a version filter to use
            renamed = content.replace(b'name="Building permit (bench)"', b'name="Building permit v2 (bench)"')
            versions.append(definition_deploy(content=renamed, filename=f"{key}.bpmn", actor=analyst,
                                              agency=agency)[0])
        definitions[key] = [definition.pk for definition in versions]
    return agency, manager, officers, applicants, definitions


def load(instances, seed):
    from django.db import connection

    agency, manager, officers, applicants, definitions = create_people_and_processes()
    generator = analytics_data.Generator(seed=seed, agency_id=agency.pk, definitions=definitions, officers=officers,
                                         applicants=applicants)
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM engine_historyevent")  # the deployments' events
        generator.event_id = cursor.fetchone()[0]
        rebuild = set_aside_indexes(cursor, LOADED_TABLES)
    started = time.perf_counter()
    copy_seconds = 0.0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for first in range(1, instances + 1, CHUNK):
            instance_rows, task_rows, event_rows = [], [], []
            for instance_id in range(first, min(first + CHUNK, instances + 1)):
                generator.instance(instance_id, instance_rows, task_rows, event_rows)
            copy_started = time.perf_counter()
            for table, columns, rows in (
                ("engine_processinstance", generator.INSTANCE_COLUMNS, instance_rows),
                ("engine_humantask", generator.TASK_COLUMNS, task_rows),
                ("engine_historyevent", generator.EVENT_COLUMNS, event_rows),
            ):
                with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    copy.write("".join(rows))
            copy_seconds += time.perf_counter() - copy_started
            done = min(first + CHUNK - 1, instances)
            print(f"    {done:>9,} instances, {generator.counts['events']:>11,} events "
                  f"({time.perf_counter() - started:6.1f} s)", flush=True)
        for table in LOADED_TABLES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    print(f"  generate + COPY: {time.perf_counter() - started:.1f} s (of which COPY {copy_seconds:.1f} s)")
    with connection.cursor() as cursor:
        _, _ = timed(f"indexes and constraints ({len(rebuild)})", cursor.execute, ";".join(rebuild))
        _, _ = timed("vacuum analyze", cursor.execute, "VACUUM ANALYZE")
    return agency, manager, generator.counts


# --------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------


def describe():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(",")[0]
        shown = []
        for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit"):
            cursor.execute(f"SHOW {name}")
            shown.append(f"{name}={cursor.fetchone()[0]}")
        cursor.execute("SELECT (SELECT count(*) FROM engine_processinstance), (SELECT count(*) FROM engine_humantask),"
                       " (SELECT count(*) FROM engine_historyevent)")
        instances, tasks, events = cursor.fetchone()
    print(f"server: {version}; {', '.join(shown)}; {os.cpu_count()} CPUs shared with other work, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"data: {instances:,} instances, {tasks:,} human tasks, {events:,} history events")


def time_bottleneck(scope, label, repeat):
    from engine.analytics.elements import bottleneck_report

    timings = []
    report = None
    for run in range(repeat):
        report, elapsed = timed(f"bottleneck report, {label} (run {run + 1})", bottleneck_report, scope)
        timings.append(elapsed)
    return report, timings


def time_http(manager, params, repeat):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=manager)[0].key}")
    timings = []
    for run in range(repeat):
        response, elapsed = timed(f"GET /api/v1/analytics/bottlenecks/ {params or ''} (run {run + 1})",
                                  client.get, "/api/v1/analytics/bottlenecks/", params)
        assert response.status_code == 200, response.content
        timings.append(elapsed)
    return timings


def explain_bottleneck(scope):
    from django.db import connection

    from engine.analytics import sql
    from engine.analytics.elements import bottleneck_query

    query, params = bottleneck_query(scope)
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the bottleneck query (whole agency):")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, [sql.param(value) for value in params])
        for (line,) in cursor.fetchall():
            print("  " + line)


def other_reports(scope, permit_scope):
    from engine.analytics import dfg, elements, flow, instances

    print("\nOther reports (whole agency unless marked):")
    for label, function, report_scope in (
        ("cycle time", instances.cycle_time_report, scope),
        ("throughput and work in progress", instances.throughput_report, scope),
        ("service levels, processes", instances.process_service_level_report, scope),
        ("service levels, tasks", elements.task_service_level_report, scope),
        ("rework", elements.rework_report, scope),
        ("variants", flow.variants_report, scope),
        ("hand-offs", flow.handoff_report, scope),
        ("workload", flow.workload_report, scope),
        ("variants, building_permit", flow.variants_report, permit_scope),
    ):
        timed(label, function, report_scope)
    report, elapsed = timed("directly-follows graph (SQL), whole agency", dfg.dfg_report, scope)
    return report, elapsed


def export_log(scope, target):
    from engine.analytics.export import csv_stream

    with target.open("w", encoding="utf-8") as out:
        for chunk in csv_stream(scope):
            out.write(chunk)
    return target.stat().st_size


def pm4py_dfg(path, our_dfg, our_seconds, bottleneck_seconds):
    try:
        import pandas
        import pm4py
    except ImportError:
        print("\npm4py is not installed: pip install -e '.[bench]' to compare with it.")
        return
    print(f"\npm4py {pm4py.__version__} on the same log ({path.name}):")
    frame, _ = timed("read CSV (pandas)", pandas.read_csv, path, usecols=["case_id", "activity", "timestamp",
                                                                         "lifecycle"])
    complete, _ = timed("keep completion events, parse timestamps", _completions, frame, pandas)
    del frame
    print(f"  {len(complete):,} completion events in {complete['case_id'].nunique():,} cases")
    (performance, _starts, _ends), seconds = timed(
        "pm4py.discover_performance_dfg", pm4py.discover_performance_dfg, complete, case_id_key="case_id",
        activity_key="activity", timestamp_key="timestamp")
    ours = {(edge["source"], edge["target"]): edge for edge in our_dfg["edges"]}
    frequency, _ = timed("pm4py.discover_dfg (frequencies, to compare)", pm4py.discover_dfg, complete,
                         case_id_key="case_id", activity_key="activity", timestamp_key="timestamp")
    frequencies = frequency[0]
    same_edges = set(frequencies) == set(ours)
    same_counts = all(frequencies.get(edge) == ours[edge]["frequency"] for edge in ours)
    median_gaps = [abs(performance[edge]["median"] - (ours[edge]["median_seconds"] or 0)) for edge in ours
                   if edge in performance]
    print(f"  edges: ours {len(ours)}, pm4py {len(frequencies)}; same edges: {same_edges}; same frequencies: "
          f"{same_counts}; largest median difference {max(median_gaps, default=0):.1f} s")
    print(f"  ratio pm4py performance DFG / our SQL DFG: {seconds / our_seconds:.2f} "
          f"({seconds:.2f} s / {our_seconds:.2f} s; pm4py's time excludes reading and parsing the log)")
    print(f"  ratio pm4py performance DFG / our bottleneck report (median): {seconds / bottleneck_seconds:.2f}")


def xes_read_back(agency, as_of):
    """The XES export of the last two days, pseudonymised, read back by pm4py (a check that it is valid XES)."""
    try:
        import pm4py
    except ImportError:
        return
    from datetime import timedelta

    from engine.analytics.export import xes_stream
    from engine.analytics.scope import Scope

    target = ROOT / "var" / "analytics_bench_recent.xes"
    scope = Scope(agency_ids=(agency.pk,), date_from=as_of - timedelta(days=2), as_of=as_of)
    with target.open("w", encoding="utf-8") as out:
        for chunk in xes_stream(scope, pseudonymise=True):
            out.write(chunk)
    log = pm4py.read_xes(str(target))
    print(f"  XES export of the last two days read back by pm4py.read_xes: {log['case:concept:name'].nunique():,} "
          f"traces, {len(log):,} events, attributes {sorted(log.columns)}")


def _completions(frame, pandas):
    complete = frame[frame["lifecycle"] == "complete"].copy()
    complete["case_id"] = complete["case_id"].astype(str)  # pm4py wants string case ids
    complete["timestamp"] = pandas.to_datetime(complete["timestamp"], utc=True, format="ISO8601")
    return complete


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=1_000_000, help="instances (1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the bottleneck report and request (3)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the bench database and its data")
    parser.add_argument("--skip-pm4py", action="store_true", help="no export and no pm4py comparison")
    args = parser.parse_args(argv)

    url = bench_url(os.environ.get("DATABASE_URL") or DEFAULT_URL, BENCH_DATABASE, "analytics")
    if not args.reuse:
        recreate_database(url)
    setup_django(url)
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from engine.analytics.scope import Scope
    from engine.models import Agency

    if not args.reuse:
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        print(f"loading {args.instances:,} instances", flush=True)
        load(args.instances, args.seed)
        print(f"load total: {time.perf_counter() - started:.1f} s\n")
    agency = Agency.objects.get(code="dpmptsp")
    manager = User.objects.get(username="manager")
    describe()
    as_of = analytics_data.datetime.fromtimestamp(analytics_data.NOW, analytics_data.UTC)
    scope = Scope(agency_ids=(agency.pk,), as_of=as_of)
    permit_scope = Scope(agency_ids=(agency.pk,), process_key="building_permit", as_of=as_of)

    print("\nBottleneck report (the function the API calls):")
    report, agency_timings = time_bottleneck(scope, "whole agency", args.repeat)
    _, permit_timings = time_bottleneck(permit_scope, "building_permit", args.repeat)
    http_timings = time_http(manager, {"as_of": as_of.isoformat()}, args.repeat)
    print("  top of the ranking: " + ", ".join(
        f"{row['element_id']} ({row['total_waiting_seconds'] / 86400 / 365:.0f} years waited)" for row in report[:3]))
    explain_bottleneck(scope)
    our_dfg, dfg_seconds = other_reports(scope, permit_scope)

    if not args.skip_pm4py:
        target = ROOT / "var" / "analytics_bench_log.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        size, _ = timed("export the event log as CSV (csv_stream)", export_log, scope, target)
        print(f"  {target} ({size / 1e6:.0f} MB)")
        pm4py_dfg(target, our_dfg, dfg_seconds, statistics.median(agency_timings))
        xes_read_back(agency, as_of)

    print("\nSummary:")
    print(f"  bottleneck report, whole agency: median {statistics.median(agency_timings):.2f} s "
          f"(best {min(agency_timings):.2f} s; target {TARGET_SECONDS:.0f} s)")
    print(f"  bottleneck report, building_permit: median {statistics.median(permit_timings):.2f} s")
    print(f"  GET /api/v1/analytics/bottlenecks/: median {statistics.median(http_timings):.2f} s")


if __name__ == "__main__":
    main()
