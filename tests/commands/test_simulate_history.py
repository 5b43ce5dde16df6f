"""manage.py simulate_history: what it refuses and when it does nothing; its progress bar."""

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from engine.models import ProcessInstance
from engine.services import instance_start
from engine.simulation.progress import ProgressBar
from processes.library import LIBRARY_DIR, deploy_folder


def test_without_a_deployed_profiled_process_it_says_what_to_run(db):
    """With nothing deployed there is nothing to simulate, and the error names setup_demo."""
    with pytest.raises(CommandError, match="setup_demo"):
        call_command("simulate_history", days=1, no_progress=True, stdout=io.StringIO())


def test_if_empty_leaves_a_database_with_instances_alone(agency, applicant):
    """--if-empty (what make run uses) simulates nothing once the database has an instance."""
    deploy_folder(LIBRARY_DIR / "permit_application", actor=None, agency=agency)
    definition = agency.definitions.get(key="permit_application")
    instance_start(definition=definition, data={}, actor=applicant)
    out = io.StringIO()
    call_command("simulate_history", days=3, if_empty=True, no_progress=True, stdout=out)
    assert "no history simulated" in out.getvalue()
    assert ProcessInstance.objects.count() == 1


def test_a_period_shorter_than_a_day_is_refused(agency):
    """--days must be at least one."""
    deploy_folder(LIBRARY_DIR / "permit_application", actor=None, agency=agency)
    with pytest.raises(CommandError, match="--days"):
        call_command("simulate_history", days=0, no_progress=True, stdout=io.StringIO())


def test_the_progress_bar_writes_a_line_per_step_without_a_terminal():
    """Off a terminal the bar prints whole lines, one per 5% reached, with the simulated date and counts."""
    start = datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Jakarta"))
    stream = io.StringIO()
    bar = ProgressBar(stream, start, start + timedelta(days=100))
    stats = {"instances started": 10, "tasks completed": 30}
    bar(start + timedelta(days=50), stats)
    bar(start + timedelta(days=51), stats)  # the same 5% step: no new line
    bar(start + timedelta(days=100), stats)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "50%" in lines[0] and "2026-02-20" in lines[0] and "instances 10" in lines[0]
    assert "100%" in lines[1]


@pytest.mark.django_db(transaction=True)
def test_fast_sqlite_writes_lasts_only_for_the_run():
    """Inside the run SQLite skips fsync and has a big page cache; afterwards both are as they were.
    On another database the context changes nothing."""
    from django.db import connection

    from engine.simulation.database import CACHE_KIB, fast_sqlite_writes

    if connection.vendor != "sqlite":
        def setting():
            with connection.cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                return cursor.fetchone()[0]

        before = setting()
        with fast_sqlite_writes():
            assert setting() == before
        assert setting() == before
        return

    def pragma(name):
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA {name}")
            return cursor.fetchone()[0]

    before = pragma("synchronous"), pragma("cache_size")
    with fast_sqlite_writes():
        assert pragma("synchronous") == 0
        assert pragma("cache_size") == -CACHE_KIB
    assert (pragma("synchronous"), pragma("cache_size")) == before
