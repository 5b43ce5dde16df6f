#!/usr/bin/env python
"""Engine throughput: the service layer on a real database against bare SpiffWorkflow in memory.

Runs the permit process (processes/library/permit_application) N times with the same decisions in
four ways and prints one table:

- ``service layer``: ``instance_start`` and ``human_task_complete`` on the database that
  DATABASE_URL (or ``--database-url``) points at: one transaction per call, with the state saved,
  the inbox and timers projected and the history written, as the API does it.
- ``seam + JSON state``: the seam's ``ProcessRuntime`` with, per call, what the service layer asks of
  it besides the database: restore from JSON, complete, ``dump()``, ``data``, ready tasks, timers.
- ``seam in memory``: ``ProcessRuntime`` kept in memory, no state round-trip.
- ``bare SpiffWorkflow``: ``BpmnParser`` / ``BpmnWorkflow`` / ``do_engine_steps`` / ``task.run()``
  with SpiffWorkflow's default script engine: the baseline.

It never runs on the user's data: SQLite runs on ``bench.sqlite3`` next to the configured SQLite file
(``var/bench.sqlite3`` by default), PostgreSQL on a database ``bureau_bench`` on the configured
server; both are dropped and recreated, then migrated, on every run. See bench/README.md.

    make bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bureau make bench
    .venv/bin/python bench/engine_throughput.py --instances 500 --profile 20
"""

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BPMN_PATH = ROOT / "processes" / "library" / "permit_application" / "permit_application.bpmn"
PROCESS_ID = "permit_application"
BENCH_PG_DATABASE = "bureau_bench"
BENCH_SQLITE_NAME = "bench.sqlite3"
OFFICER_GROUPS = ("Front Office", "Verifier", "Applicant", "Head of Office")
LOOP_EVERY = 3  # every third instance sends the documents back once (check_completeness -> revise_documents)


# --------------------------------------------------------------------------------------------------
# The plan: what each instance's officers decide, identical in every mode
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    element_id: str
    data: dict


def make_plans(n, seed):
    """One list of steps per instance. Every third instance loops once through revise_documents;
    the seed decides which of the two parallel reviews is done first."""
    rng = random.Random(seed)
    plans = []
    for i in range(n):
        steps = []
        if i % LOOP_EVERY == 0:
            steps.append(Step("check_completeness", {"documents_complete": False, "missing": "site plan"}))
            steps.append(Step("revise_documents", {"revision_note": f"added site plan {i}"}))
        steps.append(Step("check_completeness", {"documents_complete": True}))
        reviews = [Step("technical_review", {"technical_ok": True}), Step("legal_review", {"legal_ok": True})]
        rng.shuffle(reviews)
        steps.extend(reviews)
        steps.append(Step("approve_permit", {"approved": True, "permit_class": rng.choice("ABC")}))
        plans.append(steps)
    return plans


def start_data(i):
    return {"applicant": f"Applicant {i:05d}", "permit_type": "building", "district": i % 17}


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    mode: str
    starts: int = 0
    start_seconds: float = 0.0
    completions: int = 0
    drive_seconds: float = 0.0
    complete_latencies: list = field(default_factory=list)
    start_latencies: list = field(default_factory=list)
    queries_start: int = 0
    queries_complete: int = 0
    sql_seconds_complete: float = 0.0
    state_bytes: list = field(default_factory=list)

    @property
    def completions_per_second(self):
        return self.completions / self.drive_seconds if self.drive_seconds else float("nan")

    @property
    def starts_per_second(self):
        return self.starts / self.start_seconds if self.start_seconds else float("nan")


def percentile(values, fraction):
    """Nearest-rank percentile (no interpolation), in the unit of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --------------------------------------------------------------------------------------------------
# Database: a separate, fresh one, chosen before Django is set up
# --------------------------------------------------------------------------------------------------


def prepare_database(url, pg_name=BENCH_PG_DATABASE):
    """Create the bench database and return its URL (set as DATABASE_URL before django.setup())."""
    if not url:
        var_dir = Path(os.environ.get("ENGINE_VAR_DIR", ROOT / "var"))
        return _fresh_sqlite(var_dir / BENCH_SQLITE_NAME)
    import dj_database_url

    config = dj_database_url.parse(url)
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        name = config.get("NAME") or ""
        if name in ("", ":memory:") or name.startswith("file:"):
            return url  # in-memory: nothing of the user's to touch
        return _fresh_sqlite(Path(name).resolve().parent / BENCH_SQLITE_NAME)
    if engine in ("django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis"):
        _fresh_postgres(config, pg_name)
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path="/" + pg_name))
    sys.exit(f"engine_throughput: unsupported database engine {engine} (SQLite and PostgreSQL only)")


def _fresh_sqlite(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _fresh_postgres(config, pg_name):
    import psycopg
    from psycopg import sql

    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    params.update({k: v for k, v in (config.get("OPTIONS") or {}).items() if isinstance(v, str | int)})
    params = {k: v for k, v in params.items() if v is not None}
    last_error = None
    # The maintenance database first; the configured one if we may not connect to "postgres".
    for maintenance_db in ("postgres", config.get("NAME")):
        if not maintenance_db or maintenance_db == pg_name:
            continue
        try:
            connection = psycopg.connect(dbname=maintenance_db, autocommit=True, **params)
        except psycopg.OperationalError as error:
            last_error = error
            continue
        with connection:
            name = sql.Identifier(pg_name)
            try:
                connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            except psycopg.errors.SyntaxError:  # PostgreSQL < 13
                connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
            connection.execute(sql.SQL("CREATE DATABASE {}").format(name))
        return
    sys.exit(f"engine_throughput: cannot reach the PostgreSQL server to create {pg_name}: {last_error}")


def setup_django(bench_url):
    os.environ["DATABASE_URL"] = bench_url
    os.environ["DJANGO_DEBUG"] = "0"  # DEBUG would keep every query in memory and slow the ORM down
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def database_description():
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        return f"sqlite {sqlite3.sqlite_version} ({connection.settings_dict['NAME']})"
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        major, rest = divmod(connection.pg_version, 10000)
        s = connection.settings_dict
        return f"postgresql {major}.{rest} ({s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']})"
    return connection.vendor


class QueryCounter:
    """A connection execute wrapper: counts statements, optionally keeps their first words."""

    def __init__(self, keep_sql=False):
        self.count = 0
        self.seconds = 0.0
        self.keep_sql = keep_sql
        self.kinds = Counter()
        self.kind_seconds = Counter()

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - t0
            self.seconds += elapsed
            if self.keep_sql:
                kind = _sql_kind(sql)
                self.kinds[kind] += 1
                self.kind_seconds[kind] += elapsed


_EXISTS_SQL = re.compile(r'SELECT (1|%s|\?) AS "a" ')


def _sql_kind(sql):
    words = sql.split()
    verb = words[0].upper() if words else "?"
    table = ""
    marker = {"SELECT": "FROM", "INSERT": "INTO", "UPDATE": None, "DELETE": "FROM"}.get(verb)
    if verb == "UPDATE" and len(words) > 1:
        table = words[1]
    elif marker and marker in (w.upper() for w in words):
        upper = [w.upper() for w in words]
        index = upper.index(marker)
        table = words[index + 1] if index + 1 < len(words) else ""
    kind = f"{verb} {table.strip(chr(34)).strip('`')}".strip()
    if verb == "SELECT" and _EXISTS_SQL.match(sql):
        kind += " (.exists())"
    if " FOR UPDATE" in sql:
        kind += " FOR UPDATE"
    return kind


# --------------------------------------------------------------------------------------------------
# Mode 1: the service layer on the database
# --------------------------------------------------------------------------------------------------


def service_setup():
    from django.contrib.auth.models import User

    from engine.agencies import default_agency, membership_set
    from engine.models import Role
    from engine.services.steps import parsed_process_of
    from processes.services import definition_deploy

    agency = default_agency()
    officer = User.objects.create_user(username="bench_officer")  # unusable password: no hashing cost
    membership_set(user=officer, agency=agency, role=Role.OFFICER, groups=OFFICER_GROUPS)
    analyst = User.objects.create_user(username="bench_analyst")
    membership_set(user=analyst, agency=agency, role=Role.ANALYST)
    definition, _created = definition_deploy(
        content=BPMN_PATH.read_bytes(), filename=BPMN_PATH.name, actor=analyst, agency=agency
    )
    parsed_process_of(definition)  # fill the spec cache, as any long-running server has it
    return officer, definition


def run_service_layer(plans, officer, definition, label="service layer", offset=0):
    from django.db import connection

    from engine.models import OPEN_TASK_STATUSES, HumanTask, InstanceStatus, ProcessInstance
    from engine.services import human_task_complete, instance_start

    result = RunResult(label)
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        instances = []
        began = time.perf_counter()
        for i in range(len(plans)):
            t0 = time.perf_counter()
            instance = instance_start(definition=definition, data=start_data(offset + i), actor=officer,
                                      business_key=f"bench-{offset + i}")
            result.start_latencies.append(time.perf_counter() - t0)
            instances.append(instance.pk)
        result.start_seconds = time.perf_counter() - began
        result.starts = len(instances)
        result.queries_start = counter.count

        counter.count, counter.seconds = 0, 0.0
        began = time.perf_counter()
        for instance_id, plan in zip(instances, plans, strict=True):
            for step in plan:
                open_tasks = list(
                    HumanTask.objects.filter(instance_id=instance_id, status__in=OPEN_TASK_STATUSES)
                    .order_by("pk").values_list("pk", "element_id")
                )
                task_id = next((pk for pk, element in open_tasks if element == step.element_id), None)
                if task_id is None:
                    raise RuntimeError(f"instance {instance_id}: {step.element_id} is not open ({open_tasks})")
                t0 = time.perf_counter()
                human_task_complete(task_id=task_id, actor=officer, data=step.data)
                result.complete_latencies.append(time.perf_counter() - t0)
                result.completions += 1
        result.drive_seconds = time.perf_counter() - began
        result.queries_complete = counter.count  # includes the bench's own inbox reads (one per completion)
        result.sql_seconds_complete = counter.seconds

    # Check, outside the timing, that every instance went the whole way.
    finished = ProcessInstance.objects.filter(pk__in=instances, status=InstanceStatus.COMPLETED).count()
    still_open = HumanTask.objects.filter(instance_id__in=instances, status__in=OPEN_TASK_STATUSES).count()
    if finished != len(instances) or still_open:
        raise RuntimeError(f"{label}: {finished}/{len(instances)} instances completed, {still_open} tasks open")
    for state in ProcessInstance.objects.filter(pk__in=instances[:50]).values_list("state", flat=True):
        result.state_bytes.append(len(json.dumps(state)))
    return result


# --------------------------------------------------------------------------------------------------
# Modes 2 and 3: the seam (ProcessRuntime) in memory, with and without the JSON state round-trip
# --------------------------------------------------------------------------------------------------


def load_parsed_process():
    from engine.spiff import parse_process
    from processes.bpmn_xml import parse_xml

    return parse_process(parse_xml(BPMN_PATH.read_bytes()).getroot(), PROCESS_ID)


def run_seam(plans, parsed, round_trip):
    from engine.spiff import ProcessRuntime

    result = RunResult("seam + JSON state" if round_trip else "seam in memory")

    def save(runtime):
        """What save_step asks of the runtime, and the JSON a JSONField column would store and read."""
        text = json.dumps(runtime.dump())
        runtime.data, runtime.is_completed, runtime.ready_human_tasks(), runtime.waiting_timers()  # noqa: B018
        return text

    states = []
    began = time.perf_counter()
    for i in range(len(plans)):
        t0 = time.perf_counter()
        runtime = ProcessRuntime.new(parsed, start_data(i))
        step_result = runtime.start()
        if step_result.error:
            raise RuntimeError(step_result.error)
        states.append(save(runtime) if round_trip else runtime)
        result.start_latencies.append(time.perf_counter() - t0)
    result.start_seconds = time.perf_counter() - began
    result.starts = len(states)

    began = time.perf_counter()
    for i, plan in enumerate(plans):
        stored = states[i]
        runtime = stored
        for step in plan:
            t0 = time.perf_counter()
            if round_trip:
                runtime = ProcessRuntime.restore(parsed, json.loads(stored))
            task = next((t for t in runtime.ready_human_tasks() if t.element_id == step.element_id), None)
            if task is None:
                raise RuntimeError(f"seam instance {i}: {step.element_id} is not ready")
            step_result = runtime.complete_human_task(task.task_id, step.data)
            if step_result.error:
                raise RuntimeError(step_result.error)
            if round_trip:
                stored = save(runtime)
            result.complete_latencies.append(time.perf_counter() - t0)
            result.completions += 1
        if round_trip:
            runtime = ProcessRuntime.restore(parsed, json.loads(stored))
            result.state_bytes.append(len(stored))
        if not runtime.is_completed:
            raise RuntimeError(f"seam instance {i} did not complete")
        states[i] = None
    result.drive_seconds = time.perf_counter() - began
    return result


# --------------------------------------------------------------------------------------------------
# Mode 4: bare SpiffWorkflow, its own API only
# --------------------------------------------------------------------------------------------------


_UNQUOTED_TIMER = re.compile(r"(<bpmn:time(?:Duration|Date|Cycle)\b[^>]*>)\s*([^<\"'\s][^<]*?)\s*(</bpmn:time)")


def bare_bpmn_text():
    """The same file, with timer values quoted as SpiffWorkflow's default script engine expects them.

    Modelers write ``<timeDuration>P3D</timeDuration>``; the project's sandbox reads that as an ISO 8601
    literal, SpiffWorkflow's default engine evaluates it as Python (a NameError). Quoting it is the only
    change; scripts and conditions are plain Python already.
    """
    return _UNQUOTED_TIMER.sub(r'\1"\2"\3', BPMN_PATH.read_text(encoding="utf-8"))


def parse_bare():
    from SpiffWorkflow.bpmn.parser import BpmnParser

    parser = BpmnParser()
    parser.add_bpmn_str(bare_bpmn_text().encode("utf-8"), filename=BPMN_PATH.name)
    return parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)


def run_bare(plans, spec, subprocess_specs):
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    result = RunResult("bare SpiffWorkflow")
    workflows = []
    began = time.perf_counter()
    for i in range(len(plans)):
        t0 = time.perf_counter()
        workflow = BpmnWorkflow(spec, subprocess_specs)  # SpiffWorkflow's default PythonScriptEngine
        data = start_data(i)
        workflow.task_tree.data.update(data)
        for task in workflow.task_tree.children:
            task.data.update(data)
        workflow.do_engine_steps()
        workflows.append(workflow)
        result.start_latencies.append(time.perf_counter() - t0)
    result.start_seconds = time.perf_counter() - began
    result.starts = len(workflows)

    began = time.perf_counter()
    for i, plan in enumerate(plans):
        workflow = workflows[i]
        for step in plan:
            t0 = time.perf_counter()
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            task = next((t for t in ready if t.task_spec.bpmn_id == step.element_id), None)
            if task is None:
                raise RuntimeError(f"bare instance {i}: {step.element_id} is not ready")
            task.data.update(step.data)
            task.run()
            workflow.do_engine_steps()
            result.complete_latencies.append(time.perf_counter() - t0)
            result.completions += 1
        if not workflow.completed:
            raise RuntimeError(f"bare instance {i} did not complete")
        workflows[i] = None
    result.drive_seconds = time.perf_counter() - began
    return result


def median_run(runs):
    """The run with the median drive time (in-memory modes are repeated to steady the figure)."""
    ordered = sorted(runs, key=lambda run: run.drive_seconds)
    chosen = ordered[len(ordered) // 2]
    chosen.mode = f"{chosen.mode}" + (f" (median of {len(runs)})" if len(runs) > 1 else "")
    return chosen


# --------------------------------------------------------------------------------------------------
# Profile: cProfile over the service layer for a few instances, grouped by where the time goes
# --------------------------------------------------------------------------------------------------

# (label, file suffix, function name); cumulative times, so the groups overlap (nested calls).
PROFILE_GROUPS = [
    ("human_task_complete (whole call)", "engine/services/human_tasks.py", "human_task_complete"),
    ("  validate_data (json.dumps of input)", "engine/services/instances.py", "validate_data"),
    ("  _locked_task (locks + visibility query)", "engine/services/human_tasks.py", "_locked_task"),
    ("    human_task_visible_to", "engine/selectors.py", "human_task_visible_to"),
    ("  _claim (update + history insert)", "engine/services/human_tasks.py", "_claim"),
    ("  runtime_of -> restore state", "engine/spiff/serializer.py", "load_state"),
    ("  ProcessRuntime.complete_human_task (engine)", "engine/spiff/runtime.py", "complete_human_task"),
    ("  save_step", "engine/services/steps.py", "save_step"),
    ("    dump state (spiff serializer)", "engine/spiff/serializer.py", "dump_state"),
    ("    ProcessRuntime.data", "engine/spiff/runtime.py", "data"),
    ("    record_activities_completed", "engine/history.py", "record_activities_completed"),
    ("    _project_human_tasks", "engine/services/steps.py", "_project_human_tasks"),
    ("    _project_timers", "engine/services/steps.py", "_project_timers"),
    ("instance_start (whole call)", "engine/services/instances.py", "instance_start"),
    ("every history row (_record + bulk)", "engine/history.py", "_record"),
    ("every Model.save", "django/db/models/base.py", "save"),
    ("ORM filter building (Query._add_q)", "django/db/models/sql/query.py", "_add_q"),
    ("model instances built (Model.__init__)", "django/db/models/base.py", "__init__"),
    ("SQL compile (SQLCompiler.as_sql)", "django/db/models/sql/compiler.py", "as_sql"),
    ("SQL execute (driver + DB round-trip)", "django/db/backends/utils.py", "_execute"),
    ("transaction commit", "django/db/backends/base/base.py", "commit"),
    ("JSON encode (json.dumps, all)", "json/__init__.py", "dumps"),
    ("JSON decode (json.loads, all)", "json/__init__.py", "loads"),
]


def profile_service_layer(plans, officer, definition, offset, top):
    from django.db import connection

    counter = QueryCounter(keep_sql=True)
    profiler = cProfile.Profile()
    with connection.execute_wrapper(counter):
        profiler.enable()
        result = run_service_layer(plans, officer, definition, label="profiled", offset=offset)
        profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values())  # sum of tottime = profiled wall-ish time
    calls = result.completions
    print(f"\nProfile: service layer, {len(plans)} instances, {result.starts} starts + {calls} completions "
          f"(cProfile inflates Python-heavy code; read the shares, not the absolute times)")
    print(f"  profiled total {total:.2f} s")
    print(f"  {'cumulative':<48}{'seconds':>9}{'share':>8}{'calls':>8}")
    for label, suffix, name in PROFILE_GROUPS:
        cumulative, ncalls = 0.0, 0
        for (filename, _line, funcname), (_cc, nc, _tt, ct, _callers) in stats.stats.items():
            if funcname == name and filename.replace("\\", "/").endswith(suffix):
                cumulative += ct
                ncalls += nc
        print(f"  {label:<48}{cumulative:>9.3f}{cumulative / total:>8.1%}{ncalls:>8}")
    print(f"\n  SQL statements during the profiled run: {counter.count} "
          f"({counter.count / max(1, result.starts + calls):.1f} per service call, incl. the bench's inbox reads)")
    print(f"    {'count':>6}{'ms total':>10}{'ms each':>9}  statement")
    for kind, seconds in counter.kind_seconds.most_common(16):
        count = counter.kinds[kind]
        print(f"    {count:>6}{seconds * 1000:>10.1f}{seconds * 1000 / count:>9.3f}  {kind}")
    print(f"\n  Top {top} functions by own time (tottime):")
    stats.sort_stats("tottime").print_stats(top)


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


def print_table(db, n, results, service):
    print(f"\nEngine throughput: permit_application, {n} instances "
          f"({sum(1 for i in range(n) if i % LOOP_EVERY == 0)} loop once through revise_documents)")
    print(f"database: {db}")
    import django
    import SpiffWorkflow

    print(f"python {platform.python_version()}, django {django.get_version()}, "
          f"SpiffWorkflow {getattr(SpiffWorkflow, '__version__', '?')}\n")
    header = (f"{'mode':<34}{'starts':>7}{'start s':>9}{'starts/s':>10}{'compl.':>8}{'drive s':>9}"
              f"{'compl/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'bare/x':>8}")
    print(header)
    print("-" * len(header))
    bare = next(r for r in results if r.mode.startswith("bare"))
    for r in results:
        ratio = bare.completions_per_second / r.completions_per_second
        print(f"{r.mode:<34}{r.starts:>7}{r.start_seconds:>9.2f}{r.starts_per_second:>10.1f}{r.completions:>8}"
              f"{r.drive_seconds:>9.2f}{r.completions_per_second:>10.1f}"
              f"{percentile(r.complete_latencies, 0.50) * 1000:>9.3f}"
              f"{percentile(r.complete_latencies, 0.95) * 1000:>9.3f}{ratio:>8.1f}")
    print("-" * len(header))
    print("p50/p95: one completion (service layer: one human_task_complete call, its transaction included).")
    print("compl/s: completions / drive time (service layer: incl. one inbox query per completion to pick the task).")
    print("bare/x: bare SpiffWorkflow completions/s divided by the row's.\n")
    print(f"service layer: instance_start p50 {percentile(service.start_latencies, .5) * 1000:.2f} ms, "
          f"p95 {percentile(service.start_latencies, .95) * 1000:.2f} ms; "
          f"SQL statements {service.queries_start / max(1, service.starts):.1f} per start, "
          f"{service.queries_complete / max(1, service.completions):.1f} per completion (incl. 1 inbox read)")
    in_calls = sum(service.complete_latencies)
    print(f"service layer drive: {in_calls:.2f} s of {service.drive_seconds:.2f} s inside human_task_complete "
          f"(the rest: the bench's inbox reads); {service.sql_seconds_complete:.2f} s executing SQL statements "
          f"(driver + database, commits not included)")
    if service.state_bytes:
        print(f"stored state of a completed instance: {statistics.mean(service.state_bytes) / 1024:.1f} KiB JSON")
    print(f"ratio bare / service layer (completions/s): "
          f"{bare.completions_per_second / service.completions_per_second:.1f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", "-n", type=int, default=200, help="process instances per mode (200)")
    parser.add_argument("--database-url", help="overrides DATABASE_URL; the bench still uses its own database "
                                               "on that server / in that directory")
    parser.add_argument("--database", default=BENCH_PG_DATABASE,
                        help=f"PostgreSQL: the bench's own database on that server ({BENCH_PG_DATABASE}); "
                             "dropped and created anew")
    parser.add_argument("--seed", type=int, default=1, help="decides the order of the parallel reviews (1)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each in-memory mode; the median is shown (3)")
    parser.add_argument("--profile", type=int, default=0, metavar="K",
                        help="afterwards, cProfile the service layer over K more instances and print the costs")
    parser.add_argument("--profile-top", type=int, default=25, help="functions listed in the profile (25)")
    args = parser.parse_args(argv)
    if args.instances < 1:
        parser.error("--instances must be at least 1")

    bench_url = prepare_database(args.database_url or os.environ.get("DATABASE_URL"), args.database)
    setup_django(bench_url)
    db = database_description()
    plans = make_plans(args.instances, args.seed)
    print(f"engine_throughput: {args.instances} instances on {db}, seed {args.seed}", flush=True)

    officer, definition = service_setup()
    service = run_service_layer(plans, officer, definition)
    print(f"  service layer done: {service.completions} completions in {service.drive_seconds:.1f} s", flush=True)

    parsed = load_parsed_process()
    spec, subprocess_specs = parse_bare()
    results = [service]
    results.append(median_run([run_seam(plans, parsed, round_trip=True) for _ in range(args.repeat)]))
    results.append(median_run([run_seam(plans, parsed, round_trip=False) for _ in range(args.repeat)]))
    results.append(median_run([run_bare(plans, spec, subprocess_specs) for _ in range(args.repeat)]))
    if len({r.completions for r in results}) != 1:
        raise RuntimeError(f"modes disagree on the number of completions: {[r.completions for r in results]}")
    results[0].mode = f"service layer ({db.split()[0]})"
    print_table(db, args.instances, results, service)

    if args.profile:
        profile_plans = make_plans(args.profile, args.seed + 1)
        profile_service_layer(profile_plans, officer, definition, offset=args.instances, top=args.profile_top)

    from django.db import connections

    connections.close_all()


if __name__ == "__main__":
    main()
