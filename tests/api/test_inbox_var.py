"""``var=name:value`` on open tasks reads the variables the tasks carry: the same tasks as reading the data."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.inbox_filters import with_instance_variable
from engine.agencies import agency_group
from engine.models import HumanTask, HumanTaskCandidateGroup
from engine.selectors import human_task_with_variable
from engine.services import human_task_claim, human_task_complete, instance_start
from engine.task_variables import canonical_value
from processes.services import definition_deploy
from tests.api.test_inbox import LANELESS, RENEWAL, _all_pages, _ids, _queries
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

LONG = "panjang " * 20  # longer than the table carries
DATA = [
    {"n": 5}, {"n": 5.0}, {"n": "5"}, {"n": 5.5}, {"n": -0.0}, {"n": 0}, {"n": 10**20},
    {"flag": True}, {"flag": "true"}, {"flag": False}, {"flag": 1}, {"flag": 0}, {"flag": None}, {"flag": "null"},
    {}, {"city": "Sūrabaya ✓"}, {"city": "Surabaya"}, {"city": 'kata "kutip"\n'}, {"city": LONG},
    {"city": LONG[:98]}, {"city": ""}, {"items": [1, 2]}, {"form": {"a": 1}}, {"n": 5, "flag": True},
    {"big": 2**60}, {"big": 1152921504606847000},
]
ASKED = [
    ("n", 5), ("n", 5.0), ("n", "5"), ("n", 5.5), ("n", 0), ("n", -0.0), ("n", 1e20), ("n", 10**20), ("n", None),
    ("flag", True), ("flag", "true"), ("flag", False), ("flag", None), ("flag", "null"),
    ("missing", None), ("missing", 5), ("city", "Sūrabaya ✓"), ("city", "Surabaya"), ("city", 'kata "kutip"\n'),
    ("city", LONG), ("city", LONG[:98]), ("city", ""), ("items", [1, 2]), ("form", {"a": 1}),
    ("big", 2**60), ("big", float(2**60)), ("big", 1152921504606847000),
]
@pytest.fixture
def tasks(analyst, agency, applicant):
    renewal = definition_deploy(content=RENEWAL, filename="renewal.bpmn", actor=analyst, agency=agency)[0]
    for data in DATA:
        instance_start(definition=renewal, data=data, actor=applicant)
    return HumanTask.objects.filter(status__in=["ready", "claimed"])


@pytest.mark.parametrize(("name", "value"), ASKED, ids=[f"{name}={value!r}"[:40] for name, value in ASKED])
def test_the_carried_variables_find_the_tasks_the_instance_data_finds(tasks, officer, name, value):
    """For each value asked, the same tasks as ``data @> {name: value}`` on PostgreSQL, and JSON equality."""
    from_data = set(with_instance_variable(tasks, name, value, alias="v").values_list("pk", flat=True))
    text = canonical_value(value)
    if text is None:  # lists, objects, long texts: only the data answers
        assert value in ([1, 2], {"a": 1}, LONG)
        assert from_data
        return
    carried = set(human_task_with_variable(tasks, name, text, user=officer).values_list("pk", flat=True))
    assert carried == {pk for pk in tasks.values_list("pk", flat=True) if _holds(pk, name, value)}
    # SQLite's JSON functions read true as 1, so the data's JSON type is checked too; they read numbers as
    # doubles, so a float beyond 2**53 there equals the integer it rounds to (jsonb compares decimals).
    if connection.vendor == "postgresql" or not (isinstance(value, float) and abs(value) >= 2**53):
        assert carried == from_data


def _holds(task_pk, name, value):
    """The reference: the instance's data holds ``value`` in ``name`` as JSON equality (5 == 5.0, True != 1)."""
    data = HumanTask.objects.get(pk=task_pk).instance.data
    if name not in data:
        return False
    held = data[name]
    if isinstance(held, bool) or isinstance(value, bool):
        return type(held) is type(value) and held == value
    if isinstance(held, int | float) and isinstance(value, int | float):
        return _as_jsonb_number(held) == _as_jsonb_number(value)
    return type(held) is type(value) and held == value


def _as_jsonb_number(number):
    """The number jsonb holds of the JSON Python writes: a float is its shortest repr, read as a decimal."""
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)


def test_the_api_answers_the_same_for_open_and_for_closed_listings(tasks, officer):
    """``status=open`` reads the table, ``status=completed`` the data: each finds what it should."""
    client = client_for(officer)
    five = sorted(pk for pk in tasks.values_list("pk", flat=True) if _holds(pk, "n", 5))
    assert len(five) == 3
    assert sorted(_ids(client, var="n:5")) == five
    assert sorted(_ids(client, var="n:5.0", status="ready")) == five
    assert _ids(client, var="n:5", status="completed") == []
    for pk in five:
        human_task_complete(task_id=pk, actor=officer, data={})
    assert sorted(_ids(client, var="n:5", status="completed")) == five
    assert sorted(_ids(client, var="n:5.0", status="completed")) == five
    assert _ids(client, var="n:5") == []


def test_counts_apply_the_var_filter(tasks, officer):
    client = client_for(officer)
    response = client.get("/api/v1/tasks/counts/", {"var": ["flag:true", "n:5"]})
    assert response.status_code == 200
    assert response.json()["total"] == 1
    assert client.get("/api/v1/tasks/counts/", {"var": 'flag:"true"'}).json()["total"] == 1
    assert client.get("/api/v1/tasks/counts/", {"var": "n:5"}).json()["total"] == 3


@pytest.mark.parametrize("ordering", ["created_at", "-due_at", "priority"])
def test_a_var_page_costs_the_queries_of_a_default_page_and_pages_through_in_order(analyst, agency, applicant,
                                                                                   officer, ordering):
    """The filter is a join, not a query: a page of 1 and of 50 with ``var=`` cost what a default page costs;
    following ``next`` lists each matching task once, in the order the default listing gives them."""
    renewal = definition_deploy(content=RENEWAL, filename="renewal.bpmn", actor=analyst, agency=agency)[0]
    for number in range(12):
        instance_start(definition=renewal, data={"district": "Gubeng" if number % 3 else "Genteng"}, actor=applicant)
    client = client_for(officer)
    default, _ = _queries(client, "/api/v1/tasks/", page_size=50, ordering=ordering)
    one, _ = _queries(client, "/api/v1/tasks/", page_size=1, var="district:Gubeng", ordering=ordering)
    fifty, body = _queries(client, "/api/v1/tasks/", page_size=50, var="district:Gubeng", ordering=ordering)
    assert default == one == fifty and len(body["results"]) == 8
    paged, _sizes = _all_pages(client, page_size=3, var="district:Gubeng", ordering=ordering)
    in_order = [pk for pk in _ids(client, page_size=50, ordering=ordering)
                if HumanTask.objects.get(pk=pk).instance.data["district"] == "Gubeng"]
    assert paged == in_order


def test_each_user_finds_with_var_what_they_see_without_it(analyst, agency, applicant, officer, second_officer,
                                                          supervisor, outsider, shape):
    """In every shape, ``var=`` keeps exactly the matching tasks of the user's unfiltered inbox: offered to
    their group, assigned to them, lane-less and offered to nobody (seen), lane-less but offered to a group
    they are not in (not seen), and of another agency's users (not seen)."""
    renewal = definition_deploy(content=RENEWAL, filename="renewal.bpmn", actor=analyst, agency=agency)[0]
    walk_in = definition_deploy(content=LANELESS, filename="walk_in.bpmn", actor=analyst, agency=agency)[0]
    archive = agency_group(agency, "Archive")
    started = []
    for district in ("Gubeng", "Genteng"):
        offered = _start_task(renewal, applicant, district)
        nobodys = _start_task(walk_in, applicant, district)
        elsewhere = _start_task(walk_in, applicant, district)
        HumanTaskCandidateGroup.objects.create(humantask=elsewhere, group=archive)
        assigned = _start_task(renewal, applicant, district)
        HumanTaskCandidateGroup.objects.filter(humantask=assigned).update(group=archive)
        human_task_claim(task_id=assigned.pk, actor=supervisor)
        HumanTask.objects.filter(pk=assigned.pk).update(assignee=second_officer)
        started += [offered, nobodys, elsewhere, assigned]
    for user in (officer, second_officer, supervisor, outsider, applicant):
        client = client_for(user)
        everything = _ids(client, page_size=200)
        gubeng = [pk for pk in everything if HumanTask.objects.get(pk=pk).instance.data["district"] == "Gubeng"]
        assert _ids(client, page_size=200, var="district:Gubeng") == gubeng, user.username
        assert _all_pages(client, page_size=1, var="district:Gubeng")[0] == gubeng, user.username
        counted = client.get("/api/v1/tasks/counts/", {"var": "district:Gubeng"}).json()["total"]
        assert counted == len(gubeng), user.username
    assert len(_ids(client_for(officer), var="district:Gubeng")) == 2  # offered, nobody's
    with CaptureQueriesContext(connection) as captured:
        client_for(officer).get("/api/v1/tasks/", {"var": "district:Gubeng"})
    narrowed = any('"engine_opentaskvariable"."task_id" IN (SELECT' in query["sql"] for query in captured)
    assert narrowed == (shape == "per_row")  # the officer's walk is narrowed by their offers in that shape
    assert len(_ids(client_for(second_officer), var="district:Gubeng")) == 3  # and the one assigned to them


def _start_task(definition, applicant, district):
    instance = instance_start(definition=definition, data={"district": district}, actor=applicant)
    return HumanTask.objects.get(instance=instance)
