#!/usr/bin/env python
"""Timers at scale: a burst of due timers fired by real Celery workers, next to a million pending ones.

On its own PostgreSQL database (``bureau_timer_bench``, dropped and created by this script) it builds

- ``--due`` (100,000) real instance timers coming due within ``--window`` (60) seconds: instances of a
  small process (start -> wait PT1M -> user task) waiting on their timer. One instance is started
  through the service layer; its rows are cloned in bulk with SQL, every clone with its own task
  UUIDs (rewritten in the stored state) and its own due date;
- ``--far`` (1,000,000) pending timers spread over the next 30 days (from one hour on), inserted with
  ``INSERT ... SELECT generate_series``. They never come due during the run; they are there so that
  the due-timer claim has to pass them by.

Then it starts ``--workers`` (2) ``celery worker`` processes and ``celery beat`` (or, with
``--sweeper loop``, sends ``sweep_due_timers`` itself every second), waits until every due timer has
fired, and prints fired/s, lateness (fired_at - due_at) percentiles, the claim query's
``EXPLAIN (ANALYZE, BUFFERS)`` (before, during and after the run, with 1M and with 10k pending
far-future timers), and checks that every timer fired exactly once. It prints figures; it is a
benchmark, not a test. See bench/README.md.

    make bench-timers
    .venv/bin/python bench/timers.py --due 10000 --far 100000        # a quicker run
"""

import argparse
import cProfile
import json
import os
import pstats
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DATABASE = "bureau_timer_bench"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bureau"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/11"
PROCESS_KEY = "timer_bench"
FAR_ELEMENT_ID = "bench_far_future"
FAR_FROM = timedelta(hours=1)
FAR_SPAN = timedelta(days=30)
DUE_PLACEHOLDER = "@@bench-due-at@@"
UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

PROCESS_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="timer_bench_defs"
                  targetNamespace="http://bureau.example/bench">
  <bpmn:process id="timer_bench" name="Timer bench" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_clerks" name="Clerks">
        <bpmn:flowNodeRef>handle_application</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="received" />
    <bpmn:sequenceFlow id="f1" sourceRef="received" targetRef="wait_a_minute" />
    <bpmn:intermediateCatchEvent id="wait_a_minute" name="Wait a minute">
      <bpmn:timerEventDefinition id="wait_a_minute_def">
        <bpmn:timeDuration>PT1M</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait_a_minute" targetRef="handle_application" />
    <bpmn:userTask id="handle_application" name="Handle the application" />
    <bpmn:sequenceFlow id="f3" sourceRef="handle_application" targetRef="done" />
    <bpmn:endEvent id="done" />
  </bpmn:process>
</bpmn:definitions>
"""


def say(message=""):
    print(message, flush=True)


# --------------------------------------------------------------------------------------------------
# The database: a fresh one, migrated with migrations generated outside the source tree
# --------------------------------------------------------------------------------------------------


def prepare_database(url):
    """Drop and create the bench database on the server of ``url``; returns the bench database's URL."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    if config["ENGINE"] not in ("django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis"):
        sys.exit(f"bench/timers.py needs PostgreSQL (got {config['ENGINE']}); set --database-url postgres://...")
    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    params = {key: value for key, value in params.items() if value is not None}
    last_error = None
    for maintenance_db in ("postgres", config.get("NAME")):
        if not maintenance_db or maintenance_db == BENCH_DATABASE:
            continue
        try:
            connection = psycopg.connect(dbname=maintenance_db, autocommit=True, **params)
        except psycopg.OperationalError as error:
            last_error = error
            continue
        with connection:
            name = sql.Identifier(BENCH_DATABASE)
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            connection.execute(sql.SQL("CREATE DATABASE {}").format(name))
        return urlunsplit(urlsplit(url)._replace(path="/" + BENCH_DATABASE))
    sys.exit(f"bench/timers.py: cannot reach the PostgreSQL server to create {BENCH_DATABASE}: {last_error}")


def setup_django(bench_url, broker_url, env):
    os.environ.update(env)
    os.environ["DATABASE_URL"] = bench_url
    os.environ["CELERY_BROKER_URL"] = broker_url
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def migrate(work_dir):
    """Create the schema from the project's migrations plus any the models are ahead of.

    The migrations packages are copied into ``work_dir`` and ``makemigrations`` writes there (through
    ``MIGRATION_MODULES``), so the source tree never gets a migration file from the bench.
    """
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command

    modules = {}
    for app_config in apps.get_app_configs():
        source = Path(app_config.path) / "migrations"
        if ROOT not in source.parents or not source.is_dir():
            continue
        package = f"bench_migrations_{app_config.label}"
        shutil.copytree(source, work_dir / package, ignore=shutil.ignore_patterns("__pycache__"))
        modules[app_config.label] = package
    sys.path.insert(0, str(work_dir))
    settings.MIGRATION_MODULES = modules
    before = set(work_dir.glob("bench_migrations_*/*.py"))
    call_command("makemigrations", *modules, interactive=False, verbosity=0)
    after = set(work_dir.glob("bench_migrations_*/*.py"))
    generated = sorted(path.relative_to(work_dir).as_posix() for path in after - before)
    call_command("migrate", interactive=False, verbosity=0)
    return generated


def columns_of(table):
    from django.db import connection

    with connection.cursor() as cursor:
        return [column.name for column in connection.introspection.get_table_description(cursor, table)]


def copy_rows_sql(table, template_alias, overrides, source):
    """``INSERT INTO table (every column but id) SELECT ...``: the template row's values, some overridden.

    Every column is listed from the live table, so columns added to the models later are copied too.
    """
    columns = [name for name in columns_of(table) if name != "id"]
    values = [overrides.get(name, f"{template_alias}.{name}") for name in columns]
    unknown = set(overrides) - set(columns)
    if unknown:
        raise RuntimeError(f"{table} has no column(s) {sorted(unknown)}")
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {source}"


# --------------------------------------------------------------------------------------------------
# The data: a template instance, cloned; far-future timers
# --------------------------------------------------------------------------------------------------


class Dataset:
    """Where the bench's rows are: the due timers' ids form one range, the far-future ones another."""

    def __init__(self):
        self.definition = None
        self.due_count = 0
        self.due_ids = (0, -1)
        self.instance_ids = (0, -1)
        self.far_count = 0
        self.first_due = None
        self.last_due = None


def deploy_process():
    from engine.agencies import agency_ensure
    from engine.services.steps import parsed_process_of
    from processes.services import definition_deploy

    agency = agency_ensure("bench", name="Bench agency")
    definition, _created = definition_deploy(
        content=PROCESS_BPMN, filename="timer_bench.bpmn", actor=None, agency=agency
    )
    parsed_process_of(definition)
    return definition


def start_template(definition):
    """One instance through the service layer: the rows every clone copies."""
    from engine.models import HistoryEvent, ProcessInstance, Timer
    from engine.services import instance_start

    instance = instance_start(definition=definition, data={"applicant": "Template"}, actor=None)
    timers = list(Timer.objects.filter(instance=instance))
    if len(timers) != 1 or timers[0].element_id != "wait_a_minute":
        raise RuntimeError(f"the template instance should wait on one timer, it has {timers}")
    for relation in ProcessInstance._meta.related_objects:
        model = relation.related_model
        if model in (Timer, HistoryEvent) or not relation.one_to_many:
            continue
        if model.objects.filter(**{relation.field.name: instance}).exists():
            raise RuntimeError(f"the template instance has {model.__name__} rows; the bench cannot clone those")
    # The template itself stays out of the run: its timer is cancelled (the clones' are pending).
    Timer.objects.filter(pk=timers[0].pk).update(status="cancelled")
    return instance, timers[0]


class StateCloner:
    """The template's stored state as text, cut at each task UUID and at the timer's due date.

    ``clone(n)`` puts in fresh UUIDs (the template UUID's first 24 characters replaced by a prefix
    chosen once per UUID, the last 12 by ``n`` in hex: distinct across UUIDs and clones) and leaves
    the due date as a placeholder that the INSERT fills in, so clone ``n`` is a valid state of its own.
    """

    def __init__(self, state, timer_task_id, due_at):
        text = json.dumps(state, separators=(",", ":"))
        due_texts = {due_at.isoformat(), due_at.astimezone().isoformat()}
        due_pattern = "|".join(re.escape(value) for value in due_texts)
        self.pieces = re.split(f"({UUID_PATTERN}|{due_pattern})", text)
        if not any(piece in due_texts for piece in self.pieces):
            raise RuntimeError(f"the template state does not hold the timer's due date {due_at.isoformat()}")
        found = sorted({piece for piece in self.pieces[1::2] if piece not in due_texts})
        self.prefixes = {old: str(uuid.uuid4())[:24] for old in found}
        self.due_texts = due_texts
        self.timer_task_id = str(timer_task_id)
        if self.timer_task_id not in self.prefixes:
            raise RuntimeError("the template state does not hold the timer's task id")

    def clone(self, number):
        suffix = f"{number:012x}"
        out = list(self.pieces)
        for index in range(1, len(out), 2):
            piece = out[index]
            out[index] = DUE_PLACEHOLDER if piece in self.due_texts else self.prefixes[piece] + suffix
        return "".join(out), self.prefixes[self.timer_task_id] + suffix


def insert_far_timers(template_timer, count, first_due):
    """``count`` pending timers with random due dates over the 30 days from ``first_due``."""
    from django.db import connection, transaction

    overrides = {
        "instance_id": "NULL",
        "spiff_task_id": "NULL",
        "element_id": f"'{FAR_ELEMENT_ID}'",
        "kind": "'start'",
        "timer_type": "'date'",
        "expression": "''",
        "due_at": "%(first_due)s + random() * %(span)s",
        "status": "'pending'",
        "created_at": "now()",
        "fired_at": "NULL",
        "claimed_at": "NULL",
        "remaining_cycles": "NULL",
    }
    statement = copy_rows_sql(
        "engine_timer", "t", overrides, "engine_timer t CROSS JOIN generate_series(1, %(count)s) g WHERE t.id = %(id)s"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(statement, {"first_due": first_due, "span": FAR_SPAN, "count": count, "id": template_timer.pk})


def load_due_timers(dataset, template, template_timer, count, window, lead, first_number=0):
    """Clone the template ``count`` times; clone n comes due at t0 + (n - first_number) * window / count.

    The states are written to an unlogged staging table with COPY, then instances, their timers and
    their first history events are inserted from it in one transaction; ``t0`` is ``lead`` seconds
    after the moment that transaction starts, so that the timers come due after it commits. With
    ``lead=None`` it is five times the time the COPY took (the INSERTs take about four times as long).
    """
    from django.db import connection, transaction

    cloner = StateCloner(template.state, template_timer.spiff_task_id, template_timer.due_at)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_due_clone")
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_due_clone (n integer PRIMARY KEY, tracking_code text UNIQUE, "
            "timer_task uuid, state text)"
        )
        with cursor.cursor.copy("COPY bench_due_clone (n, tracking_code, timer_task, state) FROM STDIN") as copy:
            for number in range(first_number, first_number + count):
                state, timer_task = cloner.clone(number)
                copy.write_row((number, f"BENCH-{number:08d}", timer_task, state))
        cursor.execute("ANALYZE bench_due_clone")
    staged = time.perf_counter() - began
    if lead is None:
        lead = max(5.0, 5 * staged)
    step = timedelta(seconds=window / count)
    due_at = "(%(t0)s::timestamptz + (s.n - %(first)s) * %(step)s::interval)"
    due_text = f"to_char({due_at} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
    instance_sql = copy_rows_sql(
        "engine_processinstance",
        "t",
        {
            "tracking_code": "s.tracking_code",
            "state": f"replace(s.state, '{DUE_PLACEHOLDER}', {due_text})::jsonb",
            "started_at": "now()",
            "updated_at": "now()",
        },
        "engine_processinstance t CROSS JOIN bench_due_clone s WHERE t.id = %(template)s ORDER BY s.n",
    )
    clones = "bench_due_clone s JOIN engine_processinstance p ON p.tracking_code = s.tracking_code"
    timer_sql = copy_rows_sql(
        "engine_timer",
        "t",
        {"instance_id": "p.id", "spiff_task_id": "s.timer_task", "due_at": due_at, "created_at": "now()",
         "status": "'pending'", "claimed_at": "NULL", "fired_at": "NULL"},
        f"{clones} CROSS JOIN engine_timer t WHERE t.id = %(timer)s ORDER BY s.n",
    )
    history_sql = copy_rows_sql(
        "engine_historyevent",
        "h",
        {
            "instance_id": "p.id",
            "occurred_at": "now()",
            "details": f"CASE WHEN h.event_type = 'timer_scheduled' "
            f"THEN jsonb_set(h.details, '{{due_at}}', to_jsonb({due_text})) ELSE h.details END",
        },
        f"{clones} JOIN engine_historyevent h ON h.instance_id = %(template)s ORDER BY s.n, h.id",
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        (started,) = cursor.fetchone()
        t0 = started + timedelta(seconds=lead)
        params = {"t0": t0, "step": step, "first": first_number, "template": template.pk, "timer": template_timer.pk}
        cursor.execute(instance_sql, params)
        cursor.execute(timer_sql, params)
        cursor.execute(history_sql, params)
        cursor.execute(
            "SELECT min(t.id), max(t.id), count(*), min(t.instance_id), max(t.instance_id) "
            f"FROM {clones} JOIN engine_timer t ON t.instance_id = p.id",
        )
        low, high, rows, first_instance, last_instance = cursor.fetchone()
        if rows != count or high - low + 1 != count or last_instance - first_instance + 1 != count:
            raise RuntimeError(f"expected {count} consecutive timer and instance ids, got {rows} ({low}..{high})")
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        (committed,) = cursor.fetchone()
        cursor.execute("DROP TABLE bench_due_clone")
    dataset.due_count = count
    dataset.due_ids = (low, high)
    dataset.instance_ids = (first_instance, last_instance)
    dataset.first_due = t0
    dataset.last_due = t0 + step * (count - 1)
    return staged, time.perf_counter() - began - staged, (committed - t0).total_seconds()


def vacuum_analyze(*tables):
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


# --------------------------------------------------------------------------------------------------
# The claim query: the SQL the service runs, explained
# --------------------------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


def claim_statements(now, limit):
    """The statements ``timers_claim_due`` runs, captured in a transaction that is rolled back."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from engine.services import timers_claim_due

    with CaptureQueriesContext(connection) as captured:
        try:
            with transaction.atomic():
                timers_claim_due(now=now, limit=limit)
                raise _Rollback
        except _Rollback:
            pass
    statements = [query["sql"] for query in captured.captured_queries]
    bookkeeping = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "SET ", "SHOW ", "SELECT SET_CONFIG")
    return [sql for sql in statements if not sql.upper().startswith(bookkeeping)]


def explain_claim(title, now, limit, repeat=3):
    """EXPLAIN (ANALYZE, BUFFERS) of the claim's locking statement; the rows it locks are released."""
    from django.db import connection, transaction

    statements = claim_statements(now, limit)
    locking = [sql for sql in statements if "SKIP LOCKED" in sql.upper()]
    if not locking:
        raise RuntimeError(f"no SKIP LOCKED statement among the claim's statements: {statements}")
    times, plan = [], []
    for _ in range(repeat):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {locking[0]}")
                plan = [row[0] for row in cursor.fetchall()]
                raise _Rollback
        except _Rollback:
            pass
        times.append(next(float(line.split(":")[1].split()[0]) for line in plan if line.startswith("Execution Time")))
    say(f"--- {title}")
    say(f"    statements per claim: {len(statements)}; locking one: {shorten(locking[0])}")
    for line in plan:
        say(f"    {line}")
    say(f"    execution time over {repeat} runs: min {min(times):.3f} ms, median {statistics.median(times):.3f} ms")
    uses_index = any("timer_pending_due" in line for line in plan)
    say(f"    uses timer_pending_due: {'yes' if uses_index else 'NO'}")
    return {"title": title, "min_ms": min(times), "median_ms": statistics.median(times), "index": uses_index}


def shorten(sql, width=400):
    sql = re.sub(r"\s+", " ", sql)
    return sql if len(sql) <= width else sql[: width - 3] + "..."


# --------------------------------------------------------------------------------------------------
# Celery: workers and beat as subprocesses
# --------------------------------------------------------------------------------------------------


class CeleryProcesses:
    def __init__(self, env, log_dir):
        self.env = env
        self.log_dir = log_dir
        self.processes = {}

    def _start(self, name, arguments):
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *arguments],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = (process, log)

    def start_workers(self, count, concurrency, pool, extra):
        names = []
        for index in range(1, count + 1):
            name = f"bench{index}"
            self._start(
                name,
                ["worker", f"--pool={pool}", f"--concurrency={concurrency}", "-Q", "celery", "--loglevel=warning",
                 "-n", f"{name}@localhost", "--without-gossip", "--without-mingle", "--without-heartbeat", *extra],
            )
            names.append(f"{name}@localhost")
        return names

    def start_beat(self):
        self._start("beat", ["beat", "--schedule", str(self.log_dir / "beat-schedule"), "--loglevel=warning"])

    def wait_ready(self, app, names, timeout=60):
        deadline = time.monotonic() + timeout
        waiting = set(names)
        while waiting:
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers {sorted(waiting)} not ready:\n{self.logs()}")
            for reply in app.control.ping(destination=sorted(waiting), timeout=0.5) or []:
                waiting -= set(reply)

    def check_alive(self):
        for name, (process, _log) in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.logs()}")

    def logs(self, tail=3000):
        out = []
        for name in self.processes:
            path = self.log_dir / f"{name}.log"
            out.append(f"--- {name} ({path}) ---\n" + path.read_text(errors="replace")[-tail:])
        return "\n".join(out)

    def stop(self):
        for process, _log in self.processes.values():
            if process.poll() is None:
                process.terminate()  # warm shutdown: the main process lets running tasks finish
        for process, log in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            log.close()
        self.processes = {}


def queue_length(app):
    with app.connection_for_read() as conn:
        try:
            return conn.default_channel.queue_declare(queue="celery", passive=True).message_count
        except conn.channel_errors:
            return 0


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


def progress(dataset):
    """(fired or cancelled, claimed and not fired yet): from the due timers still pending only.

    Counting what is left through the partial index costs as much as the backlog, not as much as
    the 100,000 timers: polling must not take the CPU the workers need.
    """
    from django.db import connection

    low, high = dataset.due_ids
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE claimed_at IS NOT NULL) FROM engine_timer "
            "WHERE status = 'pending' AND due_at BETWEEN %s AND %s AND id BETWEEN %s AND %s",
            [dataset.first_due, dataset.last_due, low, high],
        )
        pending, claimed = cursor.fetchone()
    return dataset.due_count - pending, claimed


def run_until_fired(dataset, app, celery, args, sweep):
    """Poll until every due timer fired; returns (samples, the mid-run plan, the longest queue seen)."""
    from django.db import connection
    from django.utils import timezone

    samples, mid_plan = [], None
    last_print = last_sweep = 0.0
    max_queue = 0
    began = time.monotonic()
    while True:
        celery.check_alive()
        now = time.monotonic()
        if sweep is not None and now - last_sweep >= 1.0:
            sweep.delay()
            last_sweep = now
        done, claimed = progress(dataset)
        queued = queue_length(app)
        max_queue = max(max_queue, queued)
        seconds = (timezone.now() - dataset.first_due).total_seconds()
        samples.append((seconds, done, claimed, queued))
        if now - last_print >= args.print_every:
            say(f"  t={seconds:7.1f}s  fired {done:7d}/{dataset.due_count}  claimed, not fired {claimed:6d}  "
                f"queue {queued:6d}")
            last_print = now
        if mid_plan is None and done >= dataset.due_count // 2:
            mid_plan = explain_claim("mid-run (half the due timers fired, the rest queued or due)",
                                     timezone.now(), args.claim_limit, repeat=1)
        if done >= dataset.due_count:
            say(f"  t={seconds:7.1f}s  fired {done:7d}/{dataset.due_count}  done; max queue length {max_queue}")
            return samples, mid_plan, max_queue
        if now - began > args.timeout:
            raise RuntimeError(f"timed out after {args.timeout}s with {done} of {dataset.due_count} fired")
        connection.close_if_unusable_or_obsolete()
        time.sleep(args.poll)


def report(dataset):
    """Throughput and lateness from the Timer rows; the exactly-once checks."""
    from django.db import connection

    low, high = dataset.due_ids
    first_instance, last_instance = dataset.instance_ids
    vacuum_analyze("engine_timer", "engine_historyevent", "engine_humantask", "engine_processinstance")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*), min(fired_at), max(fired_at),
                   percentile_disc(ARRAY[0.1, 0.9]) WITHIN GROUP (ORDER BY fired_at),
                   percentile_cont(ARRAY[0.5, 0.9, 0.99, 1.0]) WITHIN GROUP
                       (ORDER BY extract(epoch FROM fired_at - due_at)),
                   percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM claimed_at - due_at)),
                   percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP
                       (ORDER BY extract(epoch FROM fired_at - claimed_at))
            FROM engine_timer WHERE id BETWEEN %s AND %s AND status = 'fired'
            """,
            [low, high],
        )
        fired, first_fired, last_fired, (p10_at, p90_at), lateness, claim_lag, queue_lag = cursor.fetchone()
        bucket = 10 if (last_fired - dataset.first_due).total_seconds() <= 300 else 60
        cursor.execute(
            """
            SELECT floor(extract(epoch FROM h.occurred_at - %(t0)s) / %(bucket)s)::int * %(bucket)s, count(*)
            FROM engine_historyevent h
            WHERE h.event_type = 'timer_fired' AND h.instance_id BETWEEN %(first)s AND %(last)s
            GROUP BY 1 ORDER BY 1
            """,
            {"t0": dataset.first_due, "bucket": bucket, "first": first_instance, "last": last_instance},
        )
        timeline = [(second, bucket, count) for second, count in cursor.fetchall()]
        cursor.execute(
            """
            WITH fired AS (
                SELECT instance_id, count(*) AS events, max((details->>'lateness_seconds')::float) AS lateness
                FROM engine_historyevent
                WHERE event_type = 'timer_fired' AND instance_id BETWEEN %(first)s AND %(last)s
                GROUP BY instance_id
            ), tasks AS (
                SELECT instance_id, count(*) AS tasks FROM engine_humantask
                WHERE instance_id BETWEEN %(first)s AND %(last)s GROUP BY instance_id
            )
            SELECT count(*) FILTER (WHERE coalesce(f.events, 0) <> 1), coalesce(sum(f.events), 0),
                   count(*) FILTER (WHERE coalesce(k.tasks, 0) <> 1), count(*) FILTER (WHERE p.revision <> 2),
                   percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY f.lateness)
            FROM engine_processinstance p
            LEFT JOIN fired f ON f.instance_id = p.id LEFT JOIN tasks k ON k.instance_id = p.id
            WHERE p.id BETWEEN %(first)s AND %(last)s
            """,
            {"first": first_instance, "last": last_instance},
        )
        not_once, fired_events, not_one_task, not_revision_2, history_lateness = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FILTER (WHERE status = 'pending' AND claimed_at IS NULL), count(*) "
            "FROM engine_timer WHERE element_id = %s",
            [FAR_ELEMENT_ID],
        )
        far_untouched, far_total = cursor.fetchone()
    total = (last_fired - dataset.first_due).total_seconds()
    figures = {
        "fired": fired,
        "total_seconds": total,
        "overall_per_second": fired / total if total else float("nan"),
        "firing_seconds": (last_fired - first_fired).total_seconds(),
        "steady_per_second": 0.8 * fired / max((p90_at - p10_at).total_seconds(), 1e-9),
        "lateness": lateness,
        "history_lateness": history_lateness,
        "claim_lag": claim_lag,
        "queue_lag": queue_lag,
    }
    checks = {
        "every due timer fired": fired == dataset.due_count,
        "one TIMER_FIRED event per timer": not_once == 0 and fired_events == dataset.due_count,
        "one user task per instance": not_one_task == 0,
        "every instance stepped once (revision 2)": not_revision_2 == 0,
        "far-future timers untouched": far_untouched == far_total == dataset.far_count,
    }
    return figures, checks, timeline, {
        "instances not fired once": not_once, "timer_fired events": fired_events,
        "instances without exactly one task": not_one_task, "far pending and unclaimed": far_untouched,
    }


def print_report(dataset, figures, checks, timeline, details):
    say("")
    say("=== Results")
    window = (dataset.last_due - dataset.first_due).total_seconds()
    say(f"due timers            {dataset.due_count:,} (due from t0 over {window:.0f} s)")
    say(f"far-future timers     {dataset.far_count:,} pending")
    say(f"total time            {figures['total_seconds']:.1f} s from the first due date to the last firing")
    say(f"fired/s overall       {figures['overall_per_second']:.1f}  (fired / total time)")
    say(f"fired/s steady state  {figures['steady_per_second']:.1f}  (the middle 80 % of firings)")
    p50, p90, p99, p100 = figures["lateness"]
    say(f"lateness (s)          p50 {p50:.2f}  p90 {p90:.2f}  p99 {p99:.2f}  max {p100:.2f}  (fired_at - due_at)")
    hp50, hp99 = figures["history_lateness"]
    say(f"  from TIMER_FIRED    p50 {hp50:.2f}  p99 {hp99:.2f}  (details.lateness_seconds)")
    (c50, c99), (q50, q99) = figures["claim_lag"], figures["queue_lag"]
    say(f"  claim lag (s)       p50 {c50:.2f}  p99 {c99:.2f}  (claimed_at - due_at; the last claim)")
    say(f"  queue + fire (s)    p50 {q50:.2f}  p99 {q99:.2f}  (fired_at - claimed_at)")
    say("fired/s from t0 on: " + ", ".join(f"{second}s {count / width:.0f}" for second, width, count in timeline))
    say("")
    say("=== Exactly once")
    for name, ok in checks.items():
        say(f"  [{'ok' if ok else 'FAILED'}] {name}")
    say(f"  ({', '.join(f'{key}: {value}' for key, value in details.items())})")


def profile_firing(dataset, template, template_timer, count, top):
    """cProfile ``timer_fire`` in this process over ``count`` more clones (the workers are stopped)."""
    from django.db import connection

    from engine.services import timer_fire

    say("")
    say(f"=== Profile: timer_fire in-process over {count} timers")
    load_due_timers(dataset, template, template_timer, count, window=0.001, lead=-1, first_number=10**9)
    low, high = dataset.due_ids
    profiler = cProfile.Profile()
    statements = []

    def count_statements(execute, sql, params, many, context):
        statements.append(sql.split(None, 1)[0].upper())
        return execute(sql, params, many, context)

    began = time.perf_counter()
    with connection.execute_wrapper(count_statements):
        profiler.enable()
        for timer_id in range(low, high + 1):
            timer_fire(timer_id=timer_id)
        profiler.disable()
    seconds = time.perf_counter() - began
    say(f"  {count / seconds:.1f} timers/s in one process under cProfile; "
        f"{len(statements) / count:.1f} SQL statements per timer")
    kinds = {}
    for kind in statements:
        kinds[kind] = kinds.get(kind, 0) + 1
    say("  statements per timer: " + ", ".join(f"{k} {v / count:.1f}" for k, v in sorted(kinds.items())))
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)


# --------------------------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
                        help="a PostgreSQL server; the bench uses its own database bureau_timer_bench there")
    parser.add_argument("--broker-url", default=os.environ.get("BENCH_BROKER_URL") or DEFAULT_BROKER_URL,
                        help=f"the Celery broker (default {DEFAULT_BROKER_URL}); its 'celery' queue is purged")
    parser.add_argument("--due", type=int, default=100_000, help="timers coming due during the window")
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which they come due")
    parser.add_argument("--far", type=int, default=1_000_000, help="pending timers over the next 30 days")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes")
    parser.add_argument("--concurrency", type=int, default=1, help="--concurrency of each worker")
    parser.add_argument("--pool", default="prefork", help="--pool of each worker")
    parser.add_argument("--prefetch", type=int, default=None, help="--prefetch-multiplier of each worker")
    parser.add_argument("--sweep-batch", type=int, default=None,
                        help="ENGINE_TIMER_SWEEP_BATCH for workers and beat (default: the settings' default)")
    parser.add_argument("--task-batch", type=int, default=None,
                        help="ENGINE_TIMER_TASK_BATCH: the timers one Celery sweep claims and fires")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="another environment variable for this script, the workers and beat (repeatable)")
    parser.add_argument("--sweeper", choices=("beat", "loop"), default="beat",
                        help="a real `celery beat`, or this script sending sweep_due_timers every second")
    parser.add_argument("--lead", type=float, default=None,
                        help="seconds between the start of the load transaction and the first due date "
                        "(default: five times the COPY's time, at least 5)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between progress reads")
    parser.add_argument("--print-every", type=float, default=10.0, help="seconds between progress lines")
    parser.add_argument("--profile", type=int, default=0, metavar="K",
                        help="afterwards, cProfile timer_fire in-process over K more timers")
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--report-only", action="store_true",
                        help="no new data and no run: report on the bench database as the last run left it")
    parser.add_argument("--keep-far", action="store_true",
                        help="skip the after-run plans (they delete most far-future timers)")
    return parser.parse_args(argv)


def _stop(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through main's finally: the workers and beat are stopped


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # also when started in the background, where SIGINT is ignored
    work_dir = Path(tempfile.mkdtemp(prefix="bench_timers_"))
    if args.report_only:
        return report_only(args, work_dir)
    bench_url = prepare_database(args.database_url)
    env = {"DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "600"), "PYTHONUNBUFFERED": "1"}
    if args.sweep_batch:
        env["ENGINE_TIMER_SWEEP_BATCH"] = str(args.sweep_batch)
    if args.task_batch:
        env["ENGINE_TIMER_TASK_BATCH"] = str(args.task_batch)
    for assignment in args.set:
        name, _equals, value = assignment.partition("=")
        env[name] = value
    setup_django(bench_url, args.broker_url, env)
    from django.conf import settings

    from config.celery import app

    args.sweep_batch = settings.ENGINE_TIMER_SWEEP_BATCH
    # What one claim on a worker takes: the Celery sweep's batch (the embedded sweeper's when there is none).
    args.claim_limit = getattr(settings, "ENGINE_TIMER_TASK_BATCH", args.sweep_batch)
    say(f"bench/timers.py: database {bench_url}, broker {args.broker_url}, work dir {work_dir}")
    generated = migrate(work_dir)
    if generated:
        say(f"  the models are ahead of the migrations; migrated with generated ones (in {work_dir}): "
            + ", ".join(generated))

    dataset = Dataset()
    began = time.perf_counter()
    dataset.definition = deploy_process()
    template, template_timer = start_template(dataset.definition)
    from django.utils import timezone

    far_from = timezone.now() + FAR_FROM
    insert_far_timers(template_timer, args.far, far_from)
    dataset.far_count = args.far
    vacuum_analyze("engine_timer")
    say(f"  {args.far:,} far-future timers (due {far_from:%Y-%m-%d %H:%M} + up to 30 days) in "
        f"{time.perf_counter() - began:.1f} s")

    child_env = dict(os.environ)
    child_env.update(LOG_LEVEL="WARNING")
    celery = CeleryProcesses(child_env, work_dir)
    app.control.purge()
    extra = [f"--prefetch-multiplier={args.prefetch}"] if args.prefetch else []
    try:
        names = celery.start_workers(args.workers, args.concurrency, args.pool, extra)
        sweep = None
        if args.sweeper == "beat":
            celery.start_beat()
        else:
            from engine.tasks import sweep_due_timers as sweep
        staged, inserted, committed_after_t0 = load_due_timers(
            dataset, template, template_timer, args.due, args.window, args.lead
        )
        say(f"  {args.due:,} due timers: states staged with COPY in {staged:.1f} s, instances, timers and history "
            f"inserted in {inserted:.1f} s; committed {committed_after_t0:+.1f} s after the first due date")
        vacuum_analyze("engine_timer", "engine_processinstance")
        celery.wait_ready(app, names)
        say(f"  {args.workers} worker(s) --pool={args.pool} --concurrency={args.concurrency}"
            f"{' ' + ' '.join(extra) if extra else ''}, sweeper: {args.sweeper}, "
            f"ENGINE_TIMER_SWEEP_BATCH={args.sweep_batch}, "
            f"ENGINE_TIMER_TASK_BATCH={getattr(settings, 'ENGINE_TIMER_TASK_BATCH', '-')}, "
            f"every {settings.ENGINE_TIMER_SWEEP_SECONDS:g} s")
        say("")
        say("=== Claim query before the run (every due timer counted as due; nothing claimed yet)")
        plans = [explain_claim(f"{args.far:,} far-future pending + {args.due:,} due", dataset.last_due,
                               args.claim_limit)]
        say("")
        say("=== Run")
        _samples, mid_plan, _max_queue = run_until_fired(dataset, app, celery, args, sweep)
        if mid_plan:
            plans.append(mid_plan)
    except BaseException:
        say(celery.logs())
        raise
    finally:
        celery.stop()
        app.control.purge()

    figures, checks, timeline, details = report(dataset)
    print_report(dataset, figures, checks, timeline, details)
    if args.profile:
        profile_firing(Dataset(), template, template_timer, args.profile, args.profile_top)
    if not args.keep_far:
        plans += after_run_plans(dataset, template_timer, args)
    say("")
    say("=== Claim query timings")
    for plan in plans:
        say(f"  {plan['title']:<70} min {plan['min_ms']:8.3f} ms  median {plan['median_ms']:8.3f} ms  "
            f"timer_pending_due: {'yes' if plan['index'] else 'NO'}")
    say(f"\nWorker logs: {work_dir}")
    return 0 if all(checks.values()) else 1


def report_only(args, work_dir):
    """Report on the bench database as a finished (or interrupted) run left it."""
    bench_url = urlunsplit(urlsplit(args.database_url)._replace(path="/" + BENCH_DATABASE))
    setup_django(bench_url, args.broker_url, {})
    from django.conf import settings
    from django.db import connection

    from engine.models import ProcessInstance, Timer

    args.claim_limit = getattr(settings, "ENGINE_TIMER_TASK_BATCH", settings.ENGINE_TIMER_SWEEP_BATCH)
    template = ProcessInstance.objects.filter(process_key=PROCESS_KEY).order_by("pk").first()
    template_timer = Timer.objects.get(instance=template)
    dataset = Dataset()
    dataset.definition = template.definition
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(t.id), max(t.id), min(t.instance_id), max(t.instance_id), min(t.due_at), max(t.due_at) "
            "FROM engine_timer t JOIN engine_processinstance p ON p.id = t.instance_id "
            "WHERE t.element_id = 'wait_a_minute' AND t.instance_id > %s AND p.tracking_code < 'BENCH-1'",
            [template.pk],
        )
        low, high, first_instance, last_instance, dataset.first_due, dataset.last_due = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM engine_timer WHERE element_id = %s", [FAR_ELEMENT_ID])
        (dataset.far_count,) = cursor.fetchone()
    dataset.due_ids, dataset.instance_ids = (low, high), (first_instance, last_instance)
    dataset.due_count = high - low + 1
    figures, checks, timeline, details = report(dataset)
    print_report(dataset, figures, checks, timeline, details)
    if args.profile:
        profile_firing(Dataset(), template, template_timer, args.profile, args.profile_top)
    plans = [] if args.keep_far else after_run_plans(dataset, template_timer, args)
    for plan in plans:
        say(f"  {plan['title']:<70} min {plan['min_ms']:8.3f} ms  median {plan['median_ms']:8.3f} ms")
    return 0 if all(checks.values()) else 1


def after_run_plans(dataset, template_timer, args):
    """The claim with 1M and with 10k pending far-future timers and the same due timers."""
    from django.db import connection, transaction
    from django.utils import timezone

    say("")
    say("=== Claim query after the run: the same due set, with 1M and with 10k far-future timers")
    due = min(args.due, 100_000)
    overrides = {
        "instance_id": "NULL", "spiff_task_id": "NULL", "element_id": "'bench_synthetic_due'", "kind": "'start'",
        "timer_type": "'date'", "expression": "''", "status": "'pending'", "created_at": "now()",
        "fired_at": "NULL", "claimed_at": "NULL", "remaining_cycles": "NULL",
        "due_at": "now() - interval '1 hour' + g * interval '1 millisecond'",
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            copy_rows_sql("engine_timer", "t", overrides,
                          "engine_timer t CROSS JOIN generate_series(1, %(count)s) g WHERE t.id = %(id)s"),
            {"count": due, "id": dataset.due_ids[0]},
        )
    vacuum_analyze("engine_timer")
    plans = [explain_claim(f"after: {dataset.far_count:,} far-future pending + {due:,} due", timezone.now(),
                           args.claim_limit)]
    keep = min(10_000, dataset.far_count)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM engine_timer WHERE element_id = %s AND id NOT IN "
            "(SELECT id FROM engine_timer WHERE element_id = %s ORDER BY id LIMIT %s)",
            [FAR_ELEMENT_ID, FAR_ELEMENT_ID, keep],
        )
    vacuum_analyze("engine_timer")
    plans.append(explain_claim(f"after: {keep:,} far-future pending + {due:,} due", timezone.now(),
                               args.claim_limit))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM engine_timer WHERE element_id = 'bench_synthetic_due'")
    return plans


if __name__ == "__main__":
    sys.exit(main())
