# The whole set-up is two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-integration bench bench-timers bench-analytics system-deps install migrate lint clean

# On a database without instances, `make run` first simulates DEMO_HISTORY_DAYS days of applications up to
# today (60 days: about 3,900 instances in a minute and a quarter on 2 vCPUs); DEMO_HISTORY_DAYS=0 skips it.
# See README "Simulated history".
DEMO_HISTORY_DAYS ?= 60

run: install migrate
	$(PY) manage.py setup_demo
	test "$(DEMO_HISTORY_DAYS)" = 0 || $(PY) manage.py simulate_history --if-empty --days $(DEMO_HISTORY_DAYS) --seed 1
	$(PY) manage.py serve 127.0.0.1:8000

test: install
	$(PY) -m pytest -q

# Needs PostgreSQL and Redis (see .ci/run); the defaults apply only when the variables are unset.
test-integration: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bureau
test-integration: export CELERY_BROKER_URL ?= redis://127.0.0.1:6379/15
test-integration: export INTEGRATION_REQUIRED ?= 1
test-integration: install
	$(PY) -m pytest -q -m integration tests/integration

# Throughput of the service layer against bare SpiffWorkflow; on its own database (see bench/README.md).
# Options: make bench BENCH_ARGS="--instances 500 --profile 20"
bench: install
	$(PY) bench/engine_throughput.py $(BENCH_ARGS)

# 100,000 due timers fired by two real Celery workers and beat, next to 1,000,000 pending ones; needs
# PostgreSQL and Redis, uses its own database bureau_timer_bench (see bench/README.md).
# Options: make bench-timers BENCH_ARGS="--due 10000 --concurrency 4"
bench-timers: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bureau
bench-timers: install
	$(PY) bench/timers.py $(BENCH_ARGS)

# The analytics reports on 1,000,000 instances and ~10,000,000 history events, against pm4py (the `bench`
# extra; AGPL, never a runtime dependency); PostgreSQL, its own database bureau_analytics_bench (bench/README.md).
# Options: make bench-analytics BENCH_ARGS="--instances 100000 --reuse"
bench-analytics: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bureau
bench-analytics: install
	$(PY) -m pip install --quiet -e ".[test,bench]"
	$(PY) bench/analytics.py $(BENCH_ARGS)

install: system-deps $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is needed (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Debian packages: graphviz lays out process diagrams, librsvg2-bin (rsvg-convert) turns drawn ones into PNG.
system-deps:
	@{ command -v dot && command -v rsvg-convert; } >/dev/null 2>&1 || { \
	  echo "Installing graphviz and librsvg2-bin (Debian packages)..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq graphviz librsvg2-bin >/dev/null; }

migrate: install
	$(PY) manage.py migrate --noinput

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) var
