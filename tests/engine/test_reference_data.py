"""Reference data pinned for a batch: definitions, calendars and agency groups read once inside the block."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engine.agencies import agency_group, resolve_group
from engine.calendars.for_agency import calendar_for_agency
from engine.models import CalendarClosure, ClosureKind
from engine.reference_data import reference_data_pinned
from engine.services import instance_start
from engine.services.steps import locked_instance
from processes.services import definition_deploy
from tests.conftest import library_bytes

pytestmark = pytest.mark.django_db
CLOSED = date(2026, 11, 18)  # a Wednesday


def _queries(action):
    with CaptureQueriesContext(connection) as captured:
        result = action()
    return result, len(captured.captured_queries)


def _close(agency):
    CalendarClosure.objects.create(agency=agency, date=CLOSED, name="Banjir", kind=ClosureKind.AGENCY_CLOSURE)


def test_outside_the_block_every_calendar_lookup_reads_and_sees_a_change_at_once(agency):
    """Two reads per lookup, and a closure written meanwhile closes the day."""
    assert calendar_for_agency(agency).is_working_day(CLOSED)
    _close(agency)
    calendar, queries = _queries(lambda: calendar_for_agency(agency))
    assert queries == 2 and not calendar.is_working_day(CLOSED)


def test_inside_the_block_the_calendar_is_read_once_and_a_change_waits_for_the_block_to_end(agency):
    """No query after the first lookup; a closure written inside is not seen until the block ends."""
    with reference_data_pinned():
        assert calendar_for_agency(agency).is_working_day(CLOSED)
        _close(agency)
        calendar, queries = _queries(lambda: calendar_for_agency(agency))
        assert queries == 0 and calendar.is_working_day(CLOSED)
    assert not calendar_for_agency(agency).is_working_day(CLOSED)


def test_inside_the_block_groups_and_agencies_by_code_are_read_once(agency, other_agency):
    """The second look-up of a lane's group and of another agency's group asks nothing of the database."""
    with reference_data_pinned():
        group = agency_group(agency, "Verifier")
        crossing = resolve_group("other/Verifier", agency)
        again, queries = _queries(lambda: (agency_group(agency, " Verifier "), resolve_group("other/Verifier", agency)))
    assert queries == 0 and again == (group, crossing)
    assert crossing.name == "other/Verifier"


def test_a_locked_instance_comes_with_its_definition_and_agency_read_once_inside_the_block(agency, analyst, applicant):
    """Outside: lock plus one read of definition and agency together; inside, the second lock reads only the row."""
    content = library_bytes("permit_application/permit_application.bpmn")
    definition = definition_deploy(content=content, filename="p.bpmn", actor=analyst, agency=agency)[0]
    instance = instance_start(definition=definition, data={}, actor=applicant)
    locked, queries = _queries(lambda: locked_instance(instance.pk))
    _agency, more = _queries(lambda: locked.definition.agency)
    assert queries == 2 and more == 0 and locked.definition == definition
    with reference_data_pinned():
        first = locked_instance(instance.pk)
        second, queries = _queries(lambda: locked_instance(instance.pk))
    assert queries == 1 and second.definition is first.definition
