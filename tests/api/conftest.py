"""Fixtures shared by the inbox's API tests."""

import pytest

from engine import inbox_selectors


@pytest.fixture(params=["ids", "per_row", "per_row_probed"])
def shape(request, monkeypatch):
    """Run the test with officers' pages found from the ids, per row, and per row with the offers probed
    (supervisors always per row)."""
    monkeypatch.setattr(inbox_selectors, "FEW_TASKS", 10_000 if request.param == "ids" else 0)
    monkeypatch.setattr(inbox_selectors, "MANY_TASKS", 0 if request.param == "per_row_probed" else 20_000)
    return request.param
