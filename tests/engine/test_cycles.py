"""Cycle timer start events in their ISO 8601 forms: one instance per occurrence, never more."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.models import ProcessInstance, Timer
from engine.services import timer_fire, timers_claim_due, timers_fire_due
from processes.services import definition_deploy
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _deploy(name, analyst):
    content = fixture_bytes(f"cycles/{name}.bpmn")
    return definition_deploy(content=content, filename=f"{name}.bpmn", actor=analyst, agency=analyst.membership.agency)[
        0
    ]


def _started(definition):
    return list(
        ProcessInstance.objects.filter(definition=definition)
        .order_by("started_at")
        .values_list("started_at", flat=True)
    )


def test_unbounded_daily_cycle_starts_one_instance_a_day(analyst, clock):
    """R/P1D starts one instance per day for as long as it runs, and always has the next one pending."""
    definition = _deploy("daily", analyst)
    for _day in range(5):
        clock.shift(timedelta(days=1, seconds=1))
        timers_fire_due()
    assert len(_started(definition)) == 5
    (pending,) = Timer.objects.filter(definition=definition, status="pending")
    assert pending.remaining_cycles == -1


def test_cycle_with_a_start_date_fires_at_its_dates(analyst, clock):
    """R2/2026-03-03T01:00Z/PT1H fires at 01:00 and 02:00 on 3 March and then stops."""
    definition = _deploy("windowed", analyst)
    (first,) = Timer.objects.filter(definition=definition, status="pending")
    assert first.due_at == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    clock.move_to(datetime(2026, 3, 5, tzinfo=UTC))
    while timers_fire_due():
        pass
    assert len(_started(definition)) == 2
    fired = list(
        Timer.objects.filter(definition=definition, status="fired").order_by("due_at").values_list("due_at", flat=True)
    )
    assert fired == [datetime(2026, 3, 3, 1, 0, tzinfo=UTC), datetime(2026, 3, 3, 2, 0, tzinfo=UTC)]
    assert not Timer.objects.filter(definition=definition, status="pending").exists()


def test_cycle_with_an_end_date_counts_back_from_it(analyst, clock):
    """R2/PT6H/2026-03-04T00:00Z fires twice, six hours apart, the last one six hours before its end."""
    definition = _deploy("until_end", analyst)
    clock.move_to(datetime(2026, 3, 5, tzinfo=UTC))
    while timers_fire_due():
        pass
    fired = list(
        Timer.objects.filter(definition=definition, status="fired").order_by("due_at").values_list("due_at", flat=True)
    )
    assert fired == [datetime(2026, 3, 3, 18, 0, tzinfo=UTC), datetime(2026, 3, 4, 0, 0, tzinfo=UTC)]
    assert len(_started(definition)) == 2


def test_an_occurrence_handed_to_two_sweepers_starts_one_instance(analyst, clock):
    """The same due occurrence fired twice (two beats, a redelivered job) starts one instance."""
    definition = _deploy("daily", analyst)
    clock.shift(timedelta(days=1, seconds=1))
    (timer_id,) = timers_claim_due()
    assert timer_fire(timer_id=timer_id) is True
    assert timer_fire(timer_id=timer_id) is False
    assert len(_started(definition)) == 1
    assert Timer.objects.filter(definition=definition, status="pending").count() == 1
