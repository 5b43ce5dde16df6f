"""How fast ``manage.py simulate_history`` makes history, on its own database (see bench/README.md).

    .venv/bin/python bench/simulated_history.py --months 6 --seed 1
    .venv/bin/python bench/simulated_history.py --months 6 --seed 1 --database-url postgres://postgres@127.0.0.1:5432/x

The database is created afresh: ``sim_bench.sqlite3`` beside the configured SQLite file, or the PostgreSQL
database ``bureau_sim_bench`` on the server of the URL (dropped and recreated; the one named in the URL is never
written to). It migrates, runs ``setup_demo`` (the library and its staff), then the simulation, and prints
instances per minute of wall-clock time and per minute of this process's CPU time (the PostgreSQL server's CPU
is not in the second figure), SQL statements per instance and the load average of the machine.
"""

import argparse
import io
import os
import sys
import time
from datetime import date
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import engine_throughput as shared  # noqa: E402 - the bench database helpers

shared.BENCH_PG_DATABASE = "bureau_sim_bench"
shared.BENCH_SQLITE_NAME = "sim_bench.sqlite3"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--days", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end", default="2026-11-26", help="last day, exclusive (fixed, so runs compare)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--statements", action="store_true", help="print the SQL statements by kind and table")
    args = parser.parse_args(argv)

    shared.setup_django(shared.prepare_database(args.database_url, shared.BENCH_PG_DATABASE))
    from django.core.management import call_command
    from django.db import connection

    call_command("setup_demo", stdout=io.StringIO())
    options = {"seed": args.seed, "end": date.fromisoformat(args.end), "scale": args.scale}
    options.update({"days": args.days} if args.days else {"months": args.months})
    counter = shared.QueryCounter(keep_sql=args.statements)
    load_before = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    out = io.StringIO()
    with connection.execute_wrapper(counter):
        call_command("simulate_history", stdout=out, **options)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    load_after = os.getloadavg()

    from engine.models import HumanTask, ProcessInstance

    instances = ProcessInstance.objects.count()
    tasks = HumanTask.objects.filter(completed_at__isnull=False).count()
    print(out.getvalue().rstrip())
    print(f"database: {shared.database_description()}")
    period = f"--days {args.days}" if args.days else f"--months {args.months}"
    print(f"period: {period} --seed {args.seed} --end {args.end} --scale {args.scale:g}")
    print(f"instances {instances}, tasks completed {tasks}, SQL statements {counter.count} "
          f"({counter.count / max(instances, 1):.0f} per instance)")
    print(f"wall {wall:.1f} s: {instances / wall * 60:.0f} instances/min")
    print(f"CPU of this process {cpu:.1f} s: {instances / max(cpu, 1e-9) * 60:.0f} instances per CPU-minute")
    if args.statements:
        print("statements per instance, by kind and table:")
        for kind, count in counter.kinds.most_common():
            print(f"  {count / max(instances, 1):6.2f}  {kind}")
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
