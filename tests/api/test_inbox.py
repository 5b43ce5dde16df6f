"""The officer inbox: filters, ordering, cursor pages, counts, a constant number of queries, and who sees what."""

import base64
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit
from uuid import uuid4

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engine.agencies import agency_group
from engine.models import HumanTask, HumanTaskCandidateGroup, Role
from engine.services import human_task_claim, instance_start
from engine.services.inbox_counts import inbox_counts_refresh
from processes.services import definition_deploy
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(timezone.datetime(2025, 3, 3, 9, 0))

RENEWAL = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="licence_renewal" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="Front Office"><bpmn:flowNodeRef>renew</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="renew" />
    <bpmn:userTask id="renew" name="Renew the licence" />
    <bpmn:sequenceFlow id="f2" sourceRef="renew" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""
INTAKE = RENEWAL.replace(b"licence_renewal", b"intake").replace(b"Renew the licence", b"Register the file")
LANELESS = RENEWAL.replace(b"licence_renewal", b"walk_in").replace(b'name="Front Office"', b'name=""')


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def renewal(analyst, agency):
    return definition_deploy(content=RENEWAL, filename="renewal.bpmn", actor=analyst, agency=agency)[0]


@pytest.fixture
def intake(analyst, agency):
    return definition_deploy(content=INTAKE, filename="intake.bpmn", actor=analyst, agency=agency)[0]


@pytest.fixture
def theirs(other_agency):
    """A process of the other agency, offered to its own Front Office group."""
    other_analyst = make_user("other_analyst", other_agency, Role.ANALYST)
    content = RENEWAL.replace(b"licence_renewal", b"their_renewal")
    return definition_deploy(content=content, filename="theirs.bpmn", actor=other_analyst, agency=other_agency)[0]


def _start(definition, applicant, **data):
    instance = instance_start(definition=definition, data=data, actor=applicant)
    return HumanTask.objects.get(instance=instance, status__in=["ready", "claimed"])


def _set(task, **fields):
    """Change the task's row as a service would: the row, then the inbox counters."""
    HumanTask.objects.filter(pk=task.pk).update(**fields)
    inbox_counts_refresh(task_ids=[task.pk])
    task.refresh_from_db()
    return task


def _copies(task, count, **fields):
    """``count`` more open tasks like ``task`` (same instance and candidate groups), created a second apart."""
    groups = list(task.candidate_groups.values_list("pk", flat=True))
    created = HumanTask.objects.bulk_create(
        HumanTask(instance_id=task.instance_id, agency_id=task.agency_id, process_key=task.process_key,
                  spiff_task_id=uuid4(), element_id=task.element_id, name=task.name, lane=task.lane,
                  created_at=NOW - timedelta(seconds=count - number), **fields)
        for number in range(count)
    )
    HumanTaskCandidateGroup.objects.bulk_create(
        HumanTaskCandidateGroup(humantask=copy, group_id=group) for copy in created for group in groups
    )
    inbox_counts_refresh(task_ids=[copy.pk for copy in created])
    return created


def _ids(client, path="/api/v1/tasks/", **params):
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    return [task["id"] for task in response.json()["results"]]


def _all_pages(client, **params):
    """Every id, following ``next`` links; and the pages' sizes."""
    ids, sizes = [], []
    response = client.get("/api/v1/tasks/", params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [task["id"] for task in body["results"]]
        sizes.append(len(body["results"]))
        if not body["next"]:
            return ids, sizes
        response = client.get(body["next"])


# --- Filters -------------------------------------------------------------------------------------------------


def test_process_filter_keeps_one_process(renewal, intake, applicant, officer, shape):
    """``process`` keeps the tasks of that process key."""
    renew, register = _start(renewal, applicant), _start(intake, applicant)
    assert _ids(client_for(officer), process="licence_renewal") == [renew.pk]
    assert _ids(client_for(officer), process="intake") == [register.pk]


def test_name_filters_match_exactly_or_in_part(renewal, intake, applicant, officer):
    """``name`` matches the whole task name; ``name_contains`` a part of it, in any case."""
    renew, _register = _start(renewal, applicant), _start(intake, applicant)
    client = client_for(officer)
    assert _ids(client, name="Renew the licence") == [renew.pk]
    assert _ids(client, name="Renew") == []
    assert _ids(client, name_contains="LICENCE") == [renew.pk]


def test_element_id_filter(renewal, intake, applicant, officer):
    """``element_id`` keeps the tasks of that BPMN element."""
    renew, _register = _start(renewal, applicant), _start(intake, applicant)
    assert _ids(client_for(officer), element_id="renew") == [renew.pk, _register.pk]
    assert _ids(client_for(officer), element_id="approve") == []


def test_agency_filter_takes_an_agency_code(renewal, theirs, applicant, agency, other_agency):
    """``agency`` keeps the tasks of the agency with that code."""
    ours, their_task = _start(renewal, applicant), _start(theirs, applicant)
    root = make_user("root")
    root.is_superuser = True
    root.save()
    assert _ids(client_for(root), agency=other_agency.code) == [their_task.pk]
    assert _ids(client_for(root), agency=agency.code) == [ours.pk]
    assert _ids(client_for(root), agency="nope") == []


def test_candidate_group_filter_takes_a_group_name(renewal, applicant, supervisor, agency):
    """``candidate_group`` keeps the tasks offered to the group with that name."""
    front, other = _start(renewal, applicant), _start(renewal, applicant)
    HumanTaskCandidateGroup.objects.filter(humantask=other).update(group=agency_group(agency, "Verifier"))
    client = client_for(supervisor)
    assert _ids(client, candidate_group="demo/Front Office") == [front.pk]
    assert _ids(client, candidate_group="demo/Verifier") == [other.pk]


def test_assigned_me_and_none(renewal, applicant, officer, second_officer, shape):
    """``assigned=me`` keeps the caller's claimed tasks, ``assigned=none`` the unclaimed ones."""
    mine, theirs_, free = (_start(renewal, applicant) for _ in range(3))
    human_task_claim(task_id=mine.pk, actor=officer)
    human_task_claim(task_id=theirs_.pk, actor=second_officer)
    client = client_for(officer)
    assert _ids(client, assigned="me") == [mine.pk]
    assert _ids(client, assigned="none") == [free.pk]


def test_supervisor_lists_what_an_officer_holds(renewal, applicant, officer, supervisor):
    """A supervisor may filter by another user's name: ``assigned=<username>``."""
    held, _free = _start(renewal, applicant), _start(renewal, applicant)
    human_task_claim(task_id=held.pk, actor=officer)
    assert _ids(client_for(supervisor), assigned="officer") == [held.pk]
    assert _ids(client_for(supervisor), assigned="nobody_by_that_name") == []


def test_officer_may_not_list_what_a_colleague_holds(renewal, applicant, officer, second_officer):
    """An officer asking for another user's tasks gets 403; their own name works like ``me``."""
    held = _start(renewal, applicant)
    human_task_claim(task_id=held.pk, actor=officer)
    refused = client_for(second_officer).get("/api/v1/tasks/", {"assigned": "officer"})
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert _ids(client_for(officer), assigned="officer") == [held.pk]


def test_due_before_and_due_after(renewal, applicant, officer):
    """``due_before`` and ``due_after`` keep tasks due strictly before or after an ISO 8601 moment."""
    soon = _set(_start(renewal, applicant), due_at=NOW + timedelta(days=1))
    later = _set(_start(renewal, applicant), due_at=NOW + timedelta(days=5))
    _set(_start(renewal, applicant), due_at=None)
    client = client_for(officer)
    moment = (NOW + timedelta(days=2)).isoformat()
    assert _ids(client, due_before=moment) == [soon.pk]
    assert _ids(client, due_after=moment) == [later.pk]
    assert client.get("/api/v1/tasks/", {"due_before": "next tuesday"}).status_code == 400


def test_overdue_keeps_open_tasks_past_their_due_date(renewal, applicant, officer, shape):
    """``overdue=true`` keeps open tasks due before now; ``overdue=false`` the rest, undated included."""
    late = _set(_start(renewal, applicant), due_at=NOW - timedelta(minutes=1))
    due = _set(_start(renewal, applicant), due_at=NOW + timedelta(minutes=1))
    undated = _start(renewal, applicant)
    client = client_for(officer)
    assert _ids(client, overdue="true") == [late.pk]
    assert _ids(client, overdue="false") == [due.pk, undated.pk]


def test_priority_exact_and_minimum(renewal, applicant, officer):
    """``priority`` matches a priority exactly, ``priority_min`` keeps that priority and above."""
    low = _set(_start(renewal, applicant), priority=20)
    normal = _start(renewal, applicant)
    high = _set(_start(renewal, applicant), priority=80)
    client = client_for(officer)
    assert _ids(client, priority=50) == [normal.pk]
    assert _ids(client, priority_min=50) == [normal.pk, high.pk]
    assert low.pk not in _ids(client, priority_min=21)


def test_tracking_code_filter(renewal, applicant, officer):
    """``tracking_code`` keeps the tasks of the instance with that code."""
    first, _second = _start(renewal, applicant), _start(renewal, applicant)
    assert _ids(client_for(officer), tracking_code=first.instance.tracking_code) == [first.pk]


def test_var_filter_reads_json_values(renewal, applicant, officer, shape):
    """``var=name:value`` compares a process variable with the value read as JSON (true, 5, "5"), else text."""
    urgent = _start(renewal, applicant, urgent=True, floors=5, district="Gubeng")
    quoted = _start(renewal, applicant, urgent=False, floors="5", district="Tegalsari")
    client = client_for(officer)
    assert _ids(client, var="urgent:true") == [urgent.pk]
    assert _ids(client, var="floors:5") == [urgent.pk]
    assert _ids(client, var='floors:"5"') == [quoted.pk]
    assert _ids(client, var="district:Tegalsari") == [quoted.pk]
    assert _ids(client, var="district:Nowhere") == []


def test_var_filter_repeats_and_every_condition_holds(renewal, applicant, officer):
    """Several ``var`` parameters must all hold."""
    both = _start(renewal, applicant, urgent=True, district="Gubeng")
    _start(renewal, applicant, urgent=True, district="Tegalsari")
    assert _ids(client_for(officer), var=["urgent:true", "district:Gubeng"]) == [both.pk]


def test_var_names_are_identifiers_not_lookups(renewal, applicant, officer):
    """A variable named like a lookup (``contains``) is a variable; a name with other characters is a 400."""
    task = _start(renewal, applicant, contains="x")
    client = client_for(officer)
    assert _ids(client, var="contains:x") == [task.pk]
    for bad in ("a-b:1", "x.y:1", "1st:1", "no_separator", ":5"):
        response = client.get("/api/v1/tasks/", {"var": bad})
        assert response.status_code == 400, bad


def test_status_filter_defaults_to_open_tasks(renewal, applicant, officer):
    """Without ``status`` the inbox lists open tasks; ``status=cancelled`` lists the cancelled ones."""
    open_task, cancelled = _start(renewal, applicant), _start(renewal, applicant)
    _set(cancelled, status="cancelled")
    client = client_for(officer)
    assert _ids(client) == [open_task.pk]
    assert _ids(client, status="cancelled") == [cancelled.pk]


# --- Ordering ------------------------------------------------------------------------------------------------


def test_ordering_by_due_date_puts_undated_tasks_last(renewal, applicant, officer):
    """``ordering=due_at``: soonest first, tasks without a due date last; ``-due_at`` is the exact reverse."""
    undated = _start(renewal, applicant)
    later = _set(_start(renewal, applicant), due_at=NOW + timedelta(days=3))
    sooner = _set(_start(renewal, applicant), due_at=NOW + timedelta(days=1))
    client = client_for(officer)
    assert _ids(client, ordering="due_at") == [sooner.pk, later.pk, undated.pk]
    assert _ids(client, ordering="-due_at") == [undated.pk, later.pk, sooner.pk]


def test_ordering_by_priority_and_creation(renewal, applicant, officer):
    """``-priority`` puts the most urgent first (ties oldest first); the default is oldest first."""
    old = _set(_start(renewal, applicant), created_at=NOW - timedelta(days=2))
    urgent = _set(_start(renewal, applicant), priority=90, created_at=NOW - timedelta(days=1))
    new = _set(_start(renewal, applicant), created_at=NOW)
    client = client_for(officer)
    assert _ids(client) == [old.pk, urgent.pk, new.pk]
    assert _ids(client, ordering="-created_at") == [new.pk, urgent.pk, old.pk]
    assert _ids(client, ordering="-priority")[0] == urgent.pk
    assert _ids(client, ordering="priority") == [old.pk, new.pk, urgent.pk]


# --- Cursor pagination ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ordering", ["created_at", "-created_at", "due_at", "-due_at", "priority", "-priority"])
def test_cursor_pages_list_every_task_once_in_order(renewal, applicant, officer, ordering):
    """Following ``next`` visits every task once, in the order a single page would give, ties included."""
    first = _start(renewal, applicant)
    tasks = [first, *_copies(first, 10)]
    for number, task in enumerate(tasks):
        due_at = None if number % 3 == 0 else NOW + timedelta(days=number % 4)
        _set(task, priority=(20, 50, 80)[number % 3], due_at=due_at)
    client = client_for(officer)
    one_page = _ids(client, ordering=ordering, page_size=50)
    paged, sizes = _all_pages(client, ordering=ordering, page_size=3)
    assert paged == one_page and sorted(paged) == sorted(task.pk for task in tasks)
    assert sizes == [3, 3, 3, 2]


def test_previous_link_walks_back_to_the_first_page(renewal, applicant, officer):
    """From the last page, ``previous`` links give back the same pages in reverse."""
    first = _start(renewal, applicant)
    _copies(first, 6)
    client = client_for(officer)
    pages = []
    body = client.get("/api/v1/tasks/", {"page_size": 3, "ordering": "-priority"}).json()
    while True:
        pages.append([task["id"] for task in body["results"]])
        if not body["next"]:
            break
        body = client.get(body["next"]).json()
    backwards = [pages[-1]]
    while body["previous"]:
        body = client.get(body["previous"]).json()
        backwards.append([task["id"] for task in body["results"]])
    assert backwards == pages[::-1]


def test_page_size_is_capped(renewal, applicant, officer):
    """``page_size`` above 200 gives pages of 200."""
    first = _start(renewal, applicant)
    _copies(first, 200)
    assert len(_ids(client_for(officer), page_size=1000)) == 200


def _cursor(position):
    return base64.b64encode(urlencode({"p": position}).encode()).decode()


def test_a_cursor_that_does_not_fit_is_404(renewal, applicant, officer):
    """A cursor whose position is not JSON, or does not fit the ordering, answers 404."""
    first = _start(renewal, applicant)
    _copies(first, 2)
    client = client_for(officer)
    following = client.get("/api/v1/tasks/", {"page_size": 1}).json()["next"]
    assert client.get(following).status_code == 200
    cursor = parse_qs(urlsplit(following).query)["cursor"][0]
    assert client.get("/api/v1/tasks/", {"cursor": cursor, "ordering": "-priority"}).status_code == 404
    for position in ("not json", "[1]", '["2025-03-03T09:00:00+00:00", 1, 2]', '{"a": 1}'):
        assert client.get("/api/v1/tasks/", {"cursor": _cursor(position)}).status_code == 404, position


# --- Counts --------------------------------------------------------------------------------------------------


def test_counts_by_status_process_and_overdue(renewal, intake, applicant, officer, shape):
    """``tasks/counts/`` counts the caller's open tasks by status, by process and overdue."""
    claimed = _start(renewal, applicant)
    human_task_claim(task_id=claimed.pk, actor=officer)
    _set(_start(renewal, applicant), due_at=NOW - timedelta(hours=1))
    _start(intake, applicant)
    _set(_start(intake, applicant), status="completed")
    response = client_for(officer).get("/api/v1/tasks/counts/")
    assert response.status_code == 200
    assert response.json() == {
        "total": 3,
        "by_status": {"ready": 2, "claimed": 1},
        "by_process": {"intake": 1, "licence_renewal": 2},
        "overdue": 1,
    }


def test_supervisor_counts_their_agency_and_what_reaches_them_elsewhere(renewal, theirs, applicant, supervisor,
                                                                       agency, other_agency):
    """A supervisor's counts hold every open task of their agency plus those offered to them elsewhere."""
    _start(renewal, applicant)
    _set(_start(renewal, applicant), due_at=NOW - timedelta(days=1))
    reaching, _elsewhere = _start(theirs, applicant), _start(theirs, applicant)
    reaching.candidate_groups.add(agency_group(agency, "Front Office"))
    inbox_counts_refresh(task_ids=[reaching.pk])
    body = client_for(supervisor).get("/api/v1/tasks/counts/").json()
    assert body == {
        "total": 3,
        "by_status": {"ready": 3, "claimed": 0},
        "by_process": {"licence_renewal": 2, "their_renewal": 1},
        "overdue": 1,
    }


def test_counts_take_the_list_filters(renewal, intake, applicant, officer):
    """The list's filters narrow the counts."""
    _start(renewal, applicant)
    _start(intake, applicant)
    body = client_for(officer).get("/api/v1/tasks/counts/", {"process": "intake"}).json()
    assert body["total"] == 1 and body["by_process"] == {"intake": 1}


# --- A constant number of queries ----------------------------------------------------------------------------


def _queries(client, path, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries), response.json()


@pytest.mark.parametrize("who", ["officer", "supervisor", "applicant"])
def test_inbox_queries_do_not_grow_with_the_page(renewal, intake, applicant, officer, second_officer, supervisor,
                                                 agency, who, shape):
    """A page of 1 and a page of 50 cost the same number of queries, whatever the rows hold (rows of two
    processes, so of two definitions and their forms)."""
    users = {"officer": officer, "supervisor": supervisor, "applicant": applicant}
    for definition in (renewal, intake):
        first = _start(definition, applicant)
        HumanTask.candidate_users.through.objects.create(humantask=first, user=applicant)
        copies = _copies(first, 30, assignee=second_officer, owner=officer, status="claimed")
        for copy in copies:
            copy.candidate_users.add(applicant)
            copy.candidate_groups.add(agency_group(agency, "Verifier"))
    client = client_for(users[who])
    small, one = _queries(client, "/api/v1/tasks/", page_size=1)
    large, fifty = _queries(client, "/api/v1/tasks/", page_size=50)
    assert len(one["results"]) == 1 and len(fifty["results"]) == 50
    assert {row["process"] for row in fifty["results"]} == {"licence_renewal", "intake"}
    assert small == large
    following, _ = _queries(client, fifty["next"].split("testserver")[1])
    assert following == large


def test_counts_queries_are_a_fixed_few(renewal, applicant, officer):
    """Counting is two aggregate queries after authentication, however many tasks there are."""
    first = _start(renewal, applicant)
    client = client_for(officer)
    before, _ = _queries(client, "/api/v1/tasks/counts/")
    _copies(first, 40)
    after, body = _queries(client, "/api/v1/tasks/counts/")
    assert before == after and body["total"] == 41


# --- Who sees what -------------------------------------------------------------------------------------------

EVERY_FILTER = [
    {}, {"process": "licence_renewal"}, {"name": "Renew the licence"}, {"name_contains": "renew"},
    {"element_id": "renew"}, {"agency": "demo"}, {"candidate_group": "demo/Front Office"}, {"assigned": "none"},
    {"assigned": "me"}, {"overdue": "true"}, {"overdue": "false"}, {"priority_min": 0}, {"priority": 50},
    {"due_before": (NOW + timedelta(days=9)).isoformat()}, {"due_after": (NOW - timedelta(days=9)).isoformat()},
    {"var": "district:Gubeng"}, {"status": "completed"}, {"status": "ready"}, {"ordering": "-due_at"},
]


def test_another_agency_never_sees_our_tasks_through_any_filter(renewal, applicant, officer, outsider, other_agency,
                                                                shape):
    """An officer and a supervisor of another agency, in same-named groups, find none of our tasks."""
    tasks = [_set(_start(renewal, applicant, district="Gubeng"), due_at=NOW - timedelta(hours=1)) for _ in range(2)]
    human_task_claim(task_id=tasks[0].pk, actor=officer)
    _set(_start(renewal, applicant, district="Gubeng"), status="completed")
    their_supervisor = make_user("their_supervisor", other_agency, Role.SUPERVISOR, ["Front Office"])
    for user in (outsider, their_supervisor):
        client = client_for(user)
        for params in [*EVERY_FILTER, {"tracking_code": tasks[0].instance.tracking_code}]:
            assert _ids(client, **params) == [], (user.username, params)
        assert client.get("/api/v1/tasks/counts/").json()["total"] == 0
    assert _ids(client_for(their_supervisor), assigned="officer") == []


def test_citizens_see_only_their_own_application_tasks(renewal, applicant, officer):
    """A citizen's inbox holds what is offered to them alone, whatever the filters."""
    task = _start(renewal, applicant)
    HumanTask.candidate_users.through.objects.create(humantask=task, user=applicant)
    _start(renewal, make_user("someone_else"))
    client = client_for(applicant)
    assert _ids(client) == [task.pk]
    assert _ids(client_for(make_user("other_citizen"))) == []


def test_anonymous_callers_are_refused(renewal, applicant):
    """Without credentials the list and the counts answer 401 or 403."""
    _start(renewal, applicant)
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert anonymous.get("/api/v1/tasks/").status_code in (401, 403)
    assert anonymous.get("/api/v1/tasks/counts/").status_code in (401, 403)


def test_laneless_task_is_seen_by_agency_staff_only(analyst, agency, applicant, officer, supervisor, outsider,
                                                    shape):
    """A task offered to nobody reaches its agency's officers and supervisors, nobody else."""
    walk_in = definition_deploy(content=LANELESS, filename="walk_in.bpmn", actor=analyst, agency=agency)[0]
    task = _start(walk_in, applicant)
    assert not task.candidate_groups.exists() and task.lane == ""
    assert _ids(client_for(officer)) == [task.pk]
    assert _ids(client_for(supervisor)) == [task.pk]
    assert _ids(client_for(outsider)) == [] and _ids(client_for(applicant)) == []
