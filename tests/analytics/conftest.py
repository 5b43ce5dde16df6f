import pytest
import time_machine

from engine.analytics.scope import Scope

from .scenario import T0, at, run_scenario


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def scenario(clock, agency, analyst, officer, second_officer, applicant):
    return run_scenario(clock, agency=agency, analyst=analyst, officer=officer, second_officer=second_officer,
                        applicant=applicant)


@pytest.fixture
def scope(scenario, agency):
    return Scope(agency_ids=(agency.pk,), as_of=at(236))
