"""The grouped statistics agree with Python's linear-interpolation percentiles, on both code paths."""

import random
import statistics

import pytest
from django.db import connection

from engine.analytics import sql

pytestmark = pytest.mark.django_db

PORTABLE = [True] if connection.vendor != "postgresql" else [True, False]


def _expected(values, fraction):
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


@pytest.mark.parametrize("portable", PORTABLE)
def test_percentiles_match_linear_interpolation(portable):
    generator = random.Random(7)
    groups = {name: [generator.randint(0, 10_000) for _ in range(size)] for name, size in
              (("a", 1), ("b", 2), ("c", 7), ("d", 40), ("e", 101))}
    rows = [(name, value) for name, values in groups.items() for value in values]
    rows.append(("e", None))  # NULLs do not count
    values_sql = " UNION ALL ".join(["SELECT %s AS g, CAST(%s AS integer) AS v"] * len(rows))
    query = sql.grouped_stats(values_sql, ["g"], [sql.Measure("v", "v")], portable=portable)
    with connection.cursor() as cursor:
        cursor.execute(query, [item for row in rows for item in row])
        names = [column[0] for column in cursor.description]
        result = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    for name, values in groups.items():
        stats = result[name]
        assert stats["v_n"] == len(values)
        assert float(stats["v_sum"]) == sum(values)
        assert float(stats["v_mean"]) == pytest.approx(statistics.fmean(values))
        assert float(stats["v_p50"]) == pytest.approx(_expected(values, 0.5))
        assert float(stats["v_p90"]) == pytest.approx(_expected(values, 0.9))
