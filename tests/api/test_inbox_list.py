"""The inbox list's rows (api/inbox_list.py): written from plain values, they say what the serializer says."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from engine.agencies import agency_group
from engine.models import HumanTask, HumanTaskCandidateGroup
from engine.services import instance_start
from processes.services import definition_deploy
from tests.conftest import client_for, fixture_bytes

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(timezone.datetime(2025, 3, 3, 9, 0))


def _open_task(definition, applicant, data):
    instance = instance_start(definition=definition, data=data, actor=applicant)
    return HumanTask.objects.get(instance=instance, status__in=["ready", "claimed"])


def _list_by_id(client, **params):
    response = client.get("/api/v1/tasks/", params)
    assert response.status_code == 200, response.content
    return {row["id"]: row for row in response.json()["results"]}


def _detail(client, task_id):
    response = client.get(f"/api/v1/tasks/{task_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def _same_as_detail(row, detail):
    """Field for field; candidate groups as a set (neither answer promises an order)."""
    assert sorted(row) == sorted(detail)
    assert sorted(row["candidate_groups"]) == sorted(detail["candidate_groups"])
    assert {**row, "candidate_groups": None} == {**detail, "candidate_groups": None}


def test_list_rows_are_the_task_serializers_answer(analyst, agency, applicant, officer, second_officer, supervisor):
    """Open and closed tasks, with a form or none, people, dates and groups: each list row equals the detail."""
    with time_machine.travel(NOW, tick=False):
        granted = definition_deploy(content=fixture_bytes("forms/camunda7_form.bpmn"), filename="c7.bpmn",
                                    actor=analyst, agency=agency)[0]
        with_form = _open_task(granted, applicant, {"applicant_name": "Siti", "amount": 12, "tags": ["a", "b"]})
        HumanTask.objects.filter(pk=with_form.pk).update(
            assignee=second_officer, owner=officer, delegation_state="pending", status="claimed",
            claimed_at=NOW - timedelta(hours=1), due_at=NOW - timedelta(days=1), follow_up_at=NOW + timedelta(days=2),
            priority=80, draft_data={"amount": 10}, documentation="Check the grant.",
        )
        for group in ("Front Office", "Verifier"):
            HumanTaskCandidateGroup.objects.get_or_create(humantask=with_form, group=agency_group(agency, group))
        without_form = _open_task(granted, applicant, {})
        HumanTask.objects.filter(pk=without_form.pk).update(element_id="not_in_the_catalog", due_at=None)
        closed = _open_task(granted, applicant, {"applicant_name": "Budi"})
        HumanTask.objects.filter(pk=closed.pk).update(
            status="completed", completed_at=NOW, completed_by=officer, completion_data={"amount": 3},
            overdue_at=NOW - timedelta(minutes=5),
        )
        client = client_for(supervisor)
        rows = _list_by_id(client) | _list_by_id(client, status="completed")
        assert set(rows) == {with_form.pk, without_form.pk, closed.pk}
        for task_id, row in rows.items():
            _same_as_detail(row, _detail(client, task_id))
    assert rows[with_form.pk]["form"]["schema"]["required"] == ["applicant_name", "amount"]
    assert rows[with_form.pk]["is_overdue"] is True and rows[closed.pk]["is_overdue"] is False
    assert rows[without_form.pk]["form"] is None
    groups = rows[with_form.pk]["candidate_groups"]
    assert {f"{agency.code}/Front Office", f"{agency.code}/Verifier"} < set(groups) and len(set(groups)) == len(groups)
