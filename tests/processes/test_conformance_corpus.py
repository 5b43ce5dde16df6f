"""The conformance corpus (about 1,500 files from other tools and engines): no crash, and never fewer
files deployed or run to their end than the floor in ``conformance_floor.json``.

The corpus is found through ``CONFORMANCE_CORPUS``, else ``<repo>/../shared/conformance``, else
``/work/shared/conformance``. Without it the test is skipped, except in CI (``CI`` set), where it fails.
It takes a minute or two, so it has its own marker and its own CI step (``pytest -m conformance``).
When the counts rise, raise the floor: ``python manage.py conformance PATH --json`` gives them.
"""

import json
import os
from pathlib import Path

import pytest

from processes.conformance import run_corpus

pytestmark = [pytest.mark.django_db, pytest.mark.conformance]

REPO = Path(__file__).resolve().parents[2]
FLOOR_FILE = Path(__file__).resolve().parent / "conformance_floor.json"


def _corpus():
    candidates = [os.environ.get("CONFORMANCE_CORPUS"), REPO.parent / "shared" / "conformance",
                  "/work/shared/conformance"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="module")
def floor():
    return json.loads(FLOOR_FILE.read_text())


def test_corpus_has_no_crash_and_keeps_its_floor(floor):
    """Zero crashes; every rejection has a reason; per source, deployed and ran-to-end never drop below the floor."""
    corpus = _corpus()
    if corpus is None:
        if os.environ.get("CI"):
            pytest.fail("The conformance corpus is missing: set CONFORMANCE_CORPUS or lay shared/ beside the repo.")
        pytest.skip("no conformance corpus on this machine")
    report = run_corpus(corpus, time_limit=20)  # generous: CI may share the machine; loops stop at 20 s
    crashes = [f"{result.path}: {result.message}" for result in report.results if result.outcome == "crashed"]
    assert not crashes, "\n".join(crashes)
    unexplained = [result.path for result in report.results
                   if result.outcome in ("rejected", "stopped") and not (result.category and result.message)]
    assert not unexplained
    counts = report.by_source()
    below = []
    for source, minimum in floor["sources"].items():
        measured = counts.get(source)
        for column, least in minimum.items():
            value = getattr(measured, column, 0)
            if value < least:
                below.append(f"{source} {column}: {value} < floor {least}")
    totals = report.totals()
    below += [f"total {column}: {getattr(totals, column)} < floor {least}"
              for column, least in floor["totals"].items() if getattr(totals, column) < least]
    assert not below, "\n".join(below)
