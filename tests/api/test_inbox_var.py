"""``var=name:value`` on open tasks reads the variables the tasks carry: the same tasks as reading the data."""

import pytest
from django.db import connection

from api.inbox_filters import with_instance_variable
from engine.models import HumanTask
from engine.selectors import human_task_with_variable
from engine.services import human_task_complete, instance_start
from engine.task_variables import canonical_value
from processes.services import definition_deploy
from tests.api.test_inbox import RENEWAL, _ids
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

LONG = "panjang " * 20  # longer than the table carries
DATA = [
    {"n": 5}, {"n": 5.0}, {"n": "5"}, {"n": 5.5}, {"n": -0.0}, {"n": 0}, {"n": 10**20},
    {"flag": True}, {"flag": "true"}, {"flag": False}, {"flag": 1}, {"flag": 0}, {"flag": None}, {"flag": "null"},
    {}, {"city": "Sūrabaya ✓"}, {"city": "Surabaya"}, {"city": 'kata "kutip"\n'}, {"city": LONG},
    {"city": LONG[:98]}, {"city": ""}, {"items": [1, 2]}, {"form": {"a": 1}}, {"n": 5, "flag": True},
]
ASKED = [
    ("n", 5), ("n", 5.0), ("n", "5"), ("n", 5.5), ("n", 0), ("n", -0.0), ("n", 1e20), ("n", 10**20), ("n", None),
    ("flag", True), ("flag", "true"), ("flag", False), ("flag", None), ("flag", "null"),
    ("missing", None), ("missing", 5), ("city", "Sūrabaya ✓"), ("city", "Surabaya"), ("city", 'kata "kutip"\n'),
    ("city", LONG), ("city", LONG[:98]), ("city", ""), ("items", [1, 2]), ("form", {"a": 1}),
]
@pytest.fixture
def tasks(analyst, agency, applicant):
    renewal = definition_deploy(content=RENEWAL, filename="renewal.bpmn", actor=analyst, agency=agency)[0]
    for data in DATA:
        instance_start(definition=renewal, data=data, actor=applicant)
    return HumanTask.objects.filter(status__in=["ready", "claimed"])


@pytest.mark.parametrize(("name", "value"), ASKED, ids=[f"{name}={value!r}"[:40] for name, value in ASKED])
def test_the_carried_variables_find_the_tasks_the_instance_data_finds(tasks, name, value):
    """For each value asked, the same tasks as ``data @> {name: value}`` on PostgreSQL, and JSON equality."""
    from_data = set(with_instance_variable(tasks, name, value, alias="v").values_list("pk", flat=True))
    text = canonical_value(value)
    if text is None:  # lists, objects, long texts: only the data answers
        assert value in ([1, 2], {"a": 1}, LONG)
        assert from_data
        return
    carried = set(human_task_with_variable(tasks, name, text).values_list("pk", flat=True))
    assert carried == {pk for pk in tasks.values_list("pk", flat=True) if _holds(pk, name, value)}
    if connection.vendor == "postgresql":
        assert carried == from_data
    # SQLite's JSON functions read true as 1 and as "true" (so reading the data there matches a boolean with a
    # number or a text); the table, on both databases, compares as PostgreSQL's jsonb does.


def _holds(task_pk, name, value):
    """The reference: the instance's data holds ``value`` in ``name`` as JSON equality (5 == 5.0, True != 1)."""
    data = HumanTask.objects.get(pk=task_pk).instance.data
    if name not in data:
        return False
    held = data[name]
    if isinstance(held, bool) or isinstance(value, bool):
        return type(held) is type(value) and held == value
    if isinstance(held, int | float) and isinstance(value, int | float):
        return held == value
    return type(held) is type(value) and held == value


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
