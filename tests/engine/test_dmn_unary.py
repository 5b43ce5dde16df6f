"""FEEL unary tests (engine.dmn.unary): every supported form, matching and not matching."""

from datetime import UTC, date, datetime

import pytest

from engine.dmn.feel import FeelError
from engine.dmn.unary import parse_unary_tests


@pytest.mark.parametrize(("text", "value", "expected"), [
    ("-", "anything", True),
    ("", None, True),
    ("< 10", 9, True),
    ("< 10", 10, False),
    ("<= 10", 10, True),
    ("> 5", 5, False),
    (">= 5", 5, True),
    (">= 5", 4.99, False),
    ("> -2.5", -1, True),
    ("10", 10, True),
    ("10", 10.0, True),
    ("10", "10", False),
    ('"business"', "business", True),
    ('"business"', "Business", False),
    ('"a \\"quoted\\" word"', 'a "quoted" word', True),
    ('!= "x"', "y", True),
    ('!= "x"', "x", False),
    ('not("x")', "x", False),
    ('not("x")', "y", True),
    ('not("a", "b")', "b", False),
    ('not("a", "b")', "c", True),
    ("[1..10]", 1, True),
    ("[1..10]", 10, True),
    ("[1..10]", 10.5, False),
    ("(1..10]", 1, False),
    ("]1..10]", 1, False),
    ("]1..10]", 1.5, True),
    ("]1..10[", 10, False),
    ("[1..10)", 10, False),
    ("[1..10)", 9.99, True),
    ('"a","b"', "b", True),
    ('"a","b"', "c", False),
    ("1,2,3", 2, True),
    ("1,2,3", 4, False),
    ("< 5, > 10", 12, True),
    ("< 5, > 10", 7, False),
    ("true", True, True),
    ("true", 1, False),
    ("false", False, True),
    ("false", 0, False),
    ("null", None, True),
    ("null", 0, False),
    ("< 10", None, False),
    ("< 10", "5", False),
    ('date("2026-01-01")', date(2026, 1, 1), True),
    ('< date("2026-01-01")', date(2025, 12, 31), True),
    ('< date("2026-01-01")', date(2026, 1, 1), False),
    ('>= date("2026-01-01")', "2026-03-01", True),
    ('[date("2026-01-01")..date("2026-12-31")]', "2026-06-30", True),
    ('[date("2026-01-01")..date("2026-12-31")]', "2027-01-01", False),
    ('< date and time("2026-01-01T09:00:00")', "2026-01-01T08:59:00", True),
    ('< date and time("2026-01-01T09:00:00Z")', datetime(2026, 1, 1, 9, 30, tzinfo=UTC), False),
    ("? > 5 and ? < 10", 7, True),
    ("? > 5 and ? < 10", 10, False),
    ("== 1", 1, True),
])  # fmt: skip
def test_unary_test_forms(text, value, expected):
    """Each supported unary test form matches exactly the values FEEL says it should."""
    assert parse_unary_tests(text).matches(value, {}) is expected


def test_endpoint_may_name_a_variable():
    """A name in a test compares with that variable of the context (here a limit from the process data)."""
    tests = parse_unary_tests("<= limit")
    assert tests.matches(100, {"limit": 100}) is True
    assert tests.matches(101, {"limit": 100}) is False
    assert parse_unary_tests("[low..limits.high]").matches(5, {"low": 1, "limits": {"high": 5}}) is True


@pytest.mark.parametrize("text", [
    "< ", "[1..10", "[1..", "not(1", "1 2", "foo(1)", 'date("2026-13-01")', "> > 1", "? ** import",
    "__import__", "_private",
])  # fmt: skip
def test_malformed_tests_are_refused(text):
    """Tests outside the subset raise FeelError at parse time (never later, while running)."""
    with pytest.raises(FeelError):
        parse_unary_tests(text)
