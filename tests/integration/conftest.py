"""Integration suite: the engine on the real PostgreSQL, with real threads, processes and Celery workers.

Run with ``make test-integration`` (or ``.ci/run``). Needs ``DATABASE_URL=postgres://...``; pytest-django
creates ``test_<name>`` and the subprocesses started here are pointed at that test database. Needs
``CELERY_BROKER_URL`` (Redis) for the worker tests.

On any other database the whole directory is skipped with a message, so nobody runs it on SQLite by
accident. With ``INTEGRATION_REQUIRED=1`` (set by the Makefile target) a missing service is an error
instead of a skip: CI must never pass with the integration tests silently skipped.
"""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import ROOT

HERE = Path(__file__).resolve().parent


def _required():
    return os.environ.get("INTEGRATION_REQUIRED", "") not in ("", "0", "false", "no")


def _is_postgresql():
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


@pytest.hookimpl(trylast=True)  # after `-m` deselection: only tests that will run count
def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    if not mine or _is_postgresql():
        return
    reason = (
        "integration tests need PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/bureau "
        f"(the configured database is {settings.DATABASES['default']['ENGINE']}); see `make test-integration`"
    )
    if _required():
        raise pytest.UsageError(reason)
    for item in mine:
        item.add_marker(pytest.mark.skip(reason=reason))


def unavailable(reason):
    """Skip the test, or fail it when the integration suite is required to run in full (CI)."""
    if _required():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------- threads


def run_together(*calls, timeout=60):
    """Run each callable in its own thread, released together by a barrier; returns [(ok, value)].

    ``value`` is the result, or the exception raised. Every thread uses its own database connection
    (Django's are per thread) and closes it at the end.
    """
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def runner(index, call):
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = (True, call())
        except BaseException as error:  # noqa: BLE001 - handed back to the test to assert on
            outcomes[index] = (False, error)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(index, call), daemon=True) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return outcomes


# ----------------------------------------------------------------------------------------- subprocesses


def subprocess_database_url():
    """A DATABASE_URL for the database pytest-django created (``test_...``), for other processes."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{db['NAME']}"


@pytest.fixture
def subprocess_env(transactional_db):
    """Environment for manage.py and celery subprocesses: the test database and the test broker."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=subprocess_database_url(),
        DATABASE_CONN_MAX_AGE="0",
        DJANGO_SETTINGS_MODULE="config.settings",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    return env


@pytest.fixture
def broker_url():
    url = settings.CELERY_BROKER_URL
    if not url:
        unavailable("CELERY_BROKER_URL is not set (e.g. redis://127.0.0.1:6379/15)")
    if url.startswith("redis"):
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except redis.RedisError as error:
            unavailable(f"the Celery broker {url} does not answer: {error}")
    return url


@pytest.fixture
def celery_app(broker_url):
    from config.celery import app

    app.control.purge()
    return app


class WorkerPool:
    """Celery worker subprocesses for one test; all stopped at teardown, logs kept for failures."""

    def __init__(self, app, env, log_dir):
        self.app = app
        self.env = env
        self.log_dir = log_dir
        self.workers = {}

    def start(self, *names, ready_within=45):
        for name in names:
            log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool=solo",
                    "--concurrency=1",
                    "-Q",
                    "celery",
                    "--loglevel=warning",
                    "-n",
                    f"{name}@localhost",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self.workers[name] = (process, log)
        deadline = time.monotonic() + ready_within
        waiting = {f"{name}@localhost" for name in names}
        while waiting:
            for name in names:
                process, _log = self.workers[name]
                assert process.poll() is None, f"worker {name} exited with {process.returncode}:\n{self.log(name)}"
            assert time.monotonic() < deadline, f"workers {sorted(waiting)} not ready:\n" + "\n".join(
                self.log(name) for name in names
            )
            replies = self.app.control.ping(destination=sorted(waiting), timeout=0.5) or []
            for reply in replies:
                waiting -= set(reply)

    def log(self, name):
        path = self.log_dir / f"{name}.log"
        return f"--- {name} ---\n" + (path.read_text(errors="replace")[-4000:] if path.exists() else "")

    def logs(self):
        return "\n".join(self.log(name) for name in self.workers)

    def queue_is_idle(self):
        """No message waiting in the queue and no worker busy with one."""
        with self.app.connection_for_read() as conn:
            try:
                waiting = conn.default_channel.queue_declare(queue="celery", passive=True).message_count
            except conn.channel_errors:  # Redis drops an empty queue's list: nothing is waiting
                waiting = 0
        if waiting:
            return False
        inspect = self.app.control.inspect(destination=[f"{name}@localhost" for name in self.workers], timeout=1.0)
        active = inspect.active() or {}
        reserved = inspect.reserved() or {}
        return len(active) == len(self.workers) and not any(active.values()) and not any(reserved.values())

    def stop(self):
        for process, _log in self.workers.values():
            if process.poll() is None:
                process.terminate()
        for process, log in self.workers.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            log.close()


@pytest.fixture
def celery_workers(celery_app, subprocess_env, tmp_path, transactional_db):
    """Start real ``celery worker`` processes on the test database; they are always stopped afterwards.

    Depends on ``transactional_db`` so the workers stop before the database is flushed.
    """
    pool = WorkerPool(celery_app, subprocess_env, tmp_path)
    try:
        yield pool
    finally:
        pool.stop()
        celery_app.control.purge()


def wait_until(predicate, *, timeout=30.0, interval=0.1, message="condition"):
    """Poll ``predicate`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {message}", pytrace=False)
        time.sleep(interval)
