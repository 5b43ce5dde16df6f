#!/usr/bin/env python
"""The officer inbox at scale: ``GET /api/v1/tasks/`` over a million open tasks on PostgreSQL.

Builds its own database (``bureau_inbox_bench`` on the server DATABASE_URL names; dropped and
recreated unless ``--reuse``), creates the schema from the models as they are now (no migrations:
the indexes measured are the ones the models declare), fills it with ``bench/inbox_data.py`` in SQL,
then times the real request path (the DRF view through ``APIClient``, token authentication, JSON
rendering) for sampled users and filter combinations. Prints p50/p95 per scenario and user kind, the
SQL queries of one request, and ``EXPLAIN (ANALYZE, BUFFERS)`` of the query that finds the page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bureau_inbox_bench \\
        python bench/inbox.py --tasks 1000000 --users 10000 --groups 500

See bench/README.md ("The inbox at a million open tasks").
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import inbox_data  # noqa: E402
from bench_database import bench_url, recreate_database, set_aside_indexes, setup_django  # noqa: E402

BENCH_DATABASE = "bureau_inbox_bench"
DEFAULT_URL = f"postgres://postgres@127.0.0.1:5432/{BENCH_DATABASE}"
TARGET_P95_MS = 50.0


# --------------------------------------------------------------------------------------------------
# Database: its own, chosen before Django is set up
# --------------------------------------------------------------------------------------------------


def create_schema():
    """Tables and indexes straight from the models, like ``pytest --nomigrations``, plus what PostgreSQL-only
    migration steps create: the GIN index on instance data, the open task variables' statistics and settings."""
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from engine.inbox_selectors import POSTGRES_INSTANCE_DATA_INDEX, POSTGRES_TASK_VARIABLE_SETTINGS

    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute(POSTGRES_INSTANCE_DATA_INDEX)
        for statement in POSTGRES_TASK_VARIABLE_SETTINGS:
            cursor.execute(statement)


def load(sizes):
    from django.db import connection

    from engine.services.inbox_counts import inbox_counts_rebuild

    def timed(label, statement):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(statement)
        print(f"  {label:<26} {time.perf_counter() - started:7.1f} s", flush=True)

    with connection.cursor() as cursor:
        rebuild = set_aside_indexes(cursor, inbox_data.LOADED_TABLES)
    for label, statement in inbox_data.statements(**sizes):
        timed(label, statement)
    timed(f"indexes ({len(rebuild)})", ";".join(rebuild))
    started = time.perf_counter()
    counted = inbox_counts_rebuild()  # the inbox counters, as ``manage.py rebuild_inbox_counts`` makes them
    print(f"  {'inbox counters':<26} {time.perf_counter() - started:7.1f} s ({counted} open tasks)", flush=True)
    timed("vacuum analyze", "VACUUM ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute(inbox_data.SUMMARY)
        columns = [column.name for column in cursor.description]
        row = cursor.fetchone()
    print("  " + ", ".join(f"{name}={value}" for name, value in zip(columns, row, strict=True)))


def catch_up_deadlines():
    """What the timer sweep would have done since the load: flag the open tasks that fell due (their
    counters refreshed, as ``deadline_fire`` does), so a reused database looks like a running one."""
    from django.db import transaction
    from django.utils import timezone

    from engine.models import OPEN_TASK_STATUSES, HumanTask
    from engine.services.inbox_counts import inbox_counts_refresh

    with transaction.atomic():
        due = HumanTask.objects.filter(status__in=OPEN_TASK_STATUSES, overdue_at__isnull=True,
                                       due_at__lt=timezone.now())
        task_ids = list(due.values_list("pk", flat=True))
        HumanTask.objects.filter(pk__in=task_ids).update(overdue_at=timezone.now())
        inbox_counts_refresh(task_ids=task_ids)
    print(f"deadlines passed since the load: {len(task_ids)} task(s) flagged overdue", flush=True)


# --------------------------------------------------------------------------------------------------
# Who asks, and what
# --------------------------------------------------------------------------------------------------

VISIBLE_OFFERS = """
    SELECT ug.user_id, count(o.humantask_id) AS offers
    FROM auth_user_groups ug
    JOIN engine_humantask_candidate_groups o ON o.group_id = ug.group_id AND o.is_open
    JOIN engine_membership m ON m.user_id = ug.user_id AND m.role = 'officer'
    GROUP BY ug.user_id
"""


def sample_users(rng, officers, busiest, supervisors):
    """Officers at random, the officers with the most open offers, supervisors and managers at random."""
    from django.contrib.auth.models import User
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(VISIBLE_OFFERS)
        offers = dict(cursor.fetchall())
    ranked = sorted(offers, key=offers.get, reverse=True)
    watchers = list(User.objects.filter(membership__role__in=["supervisor", "manager"]).values_list("pk", flat=True))
    kinds = {
        "officer": rng.sample(sorted(offers), officers),
        "busiest officer": ranked[:busiest],
        "supervisor/manager": rng.sample(sorted(watchers), supervisors),
    }
    print("users: " + "; ".join(
        f"{kind} x{len(ids)} (open offers to their groups: "
        f"{_spread([offers.get(pk, 0) for pk in ids])})" for kind, ids in kinds.items()
    ))
    return {kind: list(User.objects.filter(pk__in=ids).select_related("membership")) for kind, ids in kinds.items()}


def _spread(values):
    values = sorted(values)
    return f"min {values[0]}, median {values[len(values) // 2]}, max {values[-1]}"


def scenarios(rng):
    """(name, function user -> query parameters, path)."""
    from processes.models import ProcessDefinition

    keys_by_agency = {}
    for agency_id, key in ProcessDefinition.objects.values_list("agency_id", "key"):
        keys_by_agency.setdefault(agency_id, []).append(key)
    districts = inbox_data.DISTRICTS
    return [
        ("inbox (default)", lambda user: {}, "/api/v1/tasks/"),
        ("inbox page_size=20", lambda user: {"page_size": 20}, "/api/v1/tasks/"),
        ("process filter", lambda user: {"process": rng.choice(keys_by_agency[user.membership.agency_id])},
         "/api/v1/tasks/"),
        ("overdue=true", lambda user: {"overdue": "true"}, "/api/v1/tasks/"),
        ("assigned=me", lambda user: {"assigned": "me"}, "/api/v1/tasks/"),
        ("var=district:X", lambda user: {"var": f"district:{rng.choice(districts)}"}, "/api/v1/tasks/"),
        ("var=amount:N (rare)", lambda user: {"var": f"amount:{rng.randrange(10_000_000)}"}, "/api/v1/tasks/"),
        ("var=urgent:true", lambda user: {"var": "urgent:true"}, "/api/v1/tasks/"),
        ("var=district -priority", lambda user: {"var": f"district:{rng.choice(districts)}", "ordering": "-priority"},
         "/api/v1/tasks/"),
        ("counts var=urgent:true", lambda user: {"var": "urgent:true"}, "/api/v1/tasks/counts/"),
        ("ordering=due_at", lambda user: {"ordering": "due_at"}, "/api/v1/tasks/"),
        ("ordering=-priority", lambda user: {"ordering": "-priority"}, "/api/v1/tasks/"),
        ("next page (cursor)", lambda user: "next", "/api/v1/tasks/"),
        ("counts", lambda user: {}, "/api/v1/tasks/counts/"),
    ]


# --------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------


def clients_for(users):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    clients = {}
    for user in users:
        token, _ = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        clients[user.pk] = client
    return clients


class DatabaseClock:
    """Milliseconds spent in the database driver (SQL sent to rows received) since ``reset``."""

    def __init__(self):
        self.spent = 0.0

    def reset(self):
        self.spent = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.spent += (time.perf_counter() - started) * 1000


DATABASE_CLOCK = DatabaseClock()


def request(client, path, params):
    """One GET, timed whole, in the database and in this process's CPU; ``params == "next"`` times the default
    inbox's second page."""
    if params == "next":
        first = client.get(path).json()
        if not first.get("next"):
            return None, 0.0, 0.0, 0.0
        path, params = first["next"], None
    DATABASE_CLOCK.reset()
    started, cpu_started = time.perf_counter(), time.process_time()
    response = client.get(path, params)
    elapsed = (time.perf_counter() - started) * 1000
    cpu = (time.process_time() - cpu_started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"inbox bench: {path} {params} answered {response.status_code}: {response.content[:300]}")
    return response, elapsed, DATABASE_CLOCK.spent, cpu


def run(users_by_kind, plan, requests_per_cell):
    from django.db import connection

    clients = clients_for([user for users in users_by_kind.values() for user in users])
    print(f"{'scenario':<21} {'users':<19} {'n':>4}  {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}   "
          f"{'db p50':>7} {'db p95':>7}   {'cpu p50':>7}   {'rows/total':>10}")
    with connection.execute_wrapper(DATABASE_CLOCK):
        for name, params_for, path in plan:
            for kind, users in users_by_kind.items():
                for user in users[:3]:  # warm up: caches, connection
                    request(clients[user.pk], path, params_for(user))
                timings, database, cpu, sizes = [], [], [], []
                for index in range(requests_per_cell):
                    user = users[index % len(users)]
                    response, elapsed, in_database, in_cpu = request(clients[user.pk], path, params_for(user))
                    if response is None:
                        continue
                    timings.append(elapsed)
                    database.append(in_database)
                    cpu.append(in_cpu)
                    body = response.json()
                    sizes.append(len(body["results"]) if "results" in body else body["total"])
                print(_row(name, kind, timings, database, cpu, sizes), flush=True)


def _p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(0.95 * len(ordered))) - 1))]


def _row(name, kind, timings, database, cpu, sizes):
    if not timings:
        return f"{name:<21} {kind:<19} (no second page for these users)"
    flag = "" if _p95(timings) <= TARGET_P95_MS else "  > target"
    return (f"{name:<21} {kind:<19} {len(timings):>4}  {statistics.median(timings):7.1f} {_p95(timings):7.1f} "
            f"{max(timings):7.1f}   {statistics.median(database):7.1f} {_p95(database):7.1f}   "
            f"{statistics.median(cpu):7.1f}   {statistics.median(sizes):>10}{flag}")


def show_queries_and_plan(user, params, label):
    """The SQL queries of one request, and EXPLAIN (ANALYZE, BUFFERS) of the one that finds the page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = clients_for([user])[user.pk]
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/v1/tasks/", params)
    print(f"\n{label}: user {user.username} ({user.membership.role}), params {params}: "
          f"{len(captured.captured_queries)} queries")
    for number, query in enumerate(captured.captured_queries, 1):
        print(f"  [{number}] {query['time']}s  {query['sql'][:160]}{'...' if len(query['sql']) > 160 else ''}")
    pages = [query for query in captured.captured_queries
             if query["sql"].startswith('SELECT "engine_humantask"."id" AS "pk" FROM "engine_humantask"')
             and " LIMIT " in query["sql"]]
    main = pages[0] if pages else max(captured.captured_queries, key=lambda query: len(query["sql"]))
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the page query:\n")
    print(main["sql"] + "\n")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + main["sql"])
        for (line,) in cursor.fetchall():
            print("  " + line)


# The bench database's tables and indexes, read into shared buffers before timing (``--cold`` skips it).
PREWARM = """
    SELECT c.relname, pg_prewarm(c.oid::regclass)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')
"""


def prewarm():
    """Read the database into shared buffers, as on a server that has been answering for a while.

    Without it the first request of each sampled user reads its pages from the OS cache (or disk): that measures
    how the bench started, not the steady state. Needs the ``pg_prewarm`` extension (PostgreSQL contrib) and
    shared buffers large enough to hold it (3.5 GB at a million open tasks, with the closed ones).
    """
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        cursor.execute(PREWARM)
        pages = sum(blocks for _, blocks in cursor.fetchall())
    print(f"prewarmed {pages * 8 / 1024:.0f} MB of tables and indexes in {time.perf_counter() - started:.1f} s")


def describe_server():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(",")[0]
        settings = []
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit"):
            cursor.execute(f"SHOW {name}")
            settings.append(f"{name}={cursor.fetchone()[0]}")
    print(f"server: {version}; {', '.join(settings)}; client and server on {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1_000_000, help="open tasks (1,000,000)")
    parser.add_argument("--closed", type=int, default=1_000_000, help="completed/cancelled tasks (1,000,000)")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--agencies", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per scenario and user kind (200)")
    parser.add_argument("--officers", type=int, default=40, help="officers sampled at random (40)")
    parser.add_argument("--busiest", type=int, default=5, help="busiest officers (5)")
    parser.add_argument("--supervisors", type=int, default=10, help="supervisors and managers sampled (10)")
    parser.add_argument("--only", help="run only the scenarios whose name contains this text")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the bench database and its data")
    parser.add_argument("--cold", action="store_true",
                        help="time without first reading the tables and indexes into shared buffers (pg_prewarm)")
    parser.add_argument("--database", default=BENCH_DATABASE,
                        help=f"the bench's own database on that server ({BENCH_DATABASE}); dropped unless --reuse")
    args = parser.parse_args(argv)

    url = bench_url(os.environ.get("DATABASE_URL") or DEFAULT_URL, args.database, "inbox")
    if not args.reuse:
        recreate_database(url)
    setup_django(url)
    if not args.reuse:
        started = time.perf_counter()
        create_schema()
        print("loading", flush=True)
        load({"agencies": args.agencies, "groups": args.groups, "users": args.users, "tasks": args.tasks,
              "closed": args.closed})
        print(f"  loaded in {time.perf_counter() - started:.0f} s")
    else:
        catch_up_deadlines()
    describe_server()
    if not args.cold:
        prewarm()
    rng = random.Random(args.seed)
    users_by_kind = sample_users(rng, args.officers, args.busiest, args.supervisors)
    plan = [scenario for scenario in scenarios(rng) if not args.only or args.only in scenario[0]]
    print(f"\n{args.requests} requests per line, cycling over the users of the kind; target p95 <= "
          f"{TARGET_P95_MS:.0f} ms\n")
    run(users_by_kind, plan, args.requests)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (other work on the machine inflates the figures)")
    typical = users_by_kind["officer"][0]
    show_queries_and_plan(typical, {}, "Default inbox of a sampled officer")
    show_queries_and_plan(users_by_kind["busiest officer"][0], {}, "Default inbox of the busiest officer")
    if any(name.startswith("var=") for name, *_rest in plan):
        common = {"var": f"district:{inbox_data.DISTRICTS[0]}"}
        show_queries_and_plan(typical, common, "A common variable's page for the sampled officer")
        show_queries_and_plan(users_by_kind["supervisor/manager"][0], common, "The same for a supervisor")


if __name__ == "__main__":
    main()
