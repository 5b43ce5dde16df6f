"""Tests of processes.condition_coverage: can all conditions leaving a gateway be false at once?"""

import pytest

from processes.condition_coverage import coverage


@pytest.mark.parametrize(
    "conditions",
    [
        ["amount > 1000", "amount <= 1000"],
        ["amount >= 1000", "amount < 1000"],
        ["500 <= amount < 1000", "amount < 500", "amount >= 1000"],
        ["approved == True", "approved == False"],
        ["approved", "not approved"],
        ["approved is True", "approved is not True"],
        ["status == 'a'", "status != 'a'"],
        ["form.amount >= 0", "form.amount < 0"],
        ["not (amount > 5)", "amount > 5"],
        ["amount != 3", "amount == 3"],
        ["-1 < amount", "amount <= -1"],
    ],
)
def test_conditions_that_cover_every_value_have_no_gap(conditions):
    """When one condition always holds, there is no value left over."""
    answer = coverage(conditions)
    assert answer is not None and answer.gap is None


@pytest.mark.parametrize(
    ("conditions", "variable", "gap"),
    [
        (["amount > 1000", "amount < 500"], "amount", "500"),
        (["amount > 1000", "amount < 1000"], "amount", "1000"),
        (["not (amount > 5)", "amount > 5 and amount < 10"], "amount", "10"),
        (["approved == True"], "approved", "False"),
        (["approved != True", "approved == False"], "approved", "True"),
        (["status == 'new'", "status in ('open', 'closed')"], "status", "any other text"),
        (["status not in ['x', 'y']"], "status", "'x'"),
        (["form.amount > 0", "form.amount < 0"], "form.amount", "0"),
    ],
)
def test_conditions_with_a_gap_name_a_value_none_accepts(conditions, variable, gap):
    """When all conditions can be false, the answer names the variable and such a value."""
    answer = coverage(conditions)
    assert (answer.variable, answer.gap) == (variable, gap)


@pytest.mark.parametrize(
    "conditions",
    [
        ["a > 1", "b <= 1"],  # two variables
        ["amount > 1", "amount == 'x'"],  # mixed kinds
        ["amount * 2 > 10", "amount * 2 <= 10"],  # arithmetic
        ["len(items) > 0", "len(items) == 0"],  # calls
        ["amount >"],  # does not parse
    ],
)
def test_conditions_beyond_one_variable_against_constants_are_undecidable(conditions):
    """Anything but tests of one variable against constants is answered with None."""
    assert coverage(conditions) is None
