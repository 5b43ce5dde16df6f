"""The analytics API: who may see what, the filters, pictures and the event-log exports."""

import csv
import io

import pytest
from django.contrib.auth.models import User
from lxml import etree
from rest_framework.test import APIClient

from engine.models import Role
from tests.conftest import client_for, make_user

from .scenario import HOUR, deploy_licence

pytestmark = pytest.mark.django_db

AS_OF = "2026-08-24T03:00:00Z"
REPORTS = ["cycle-time", "throughput", "bottlenecks", "service-levels", "rework", "variants", "handoffs",
           "workload", "dfg"]
XES = "{http://www.xes-standard.org/}"


@pytest.mark.parametrize("report", REPORTS)
def test_managers_supervisors_and_analysts_see_their_agency(scenario, manager, supervisor, analyst, report):
    for user in (manager, supervisor, analyst):
        response = client_for(user).get(f"/api/v1/analytics/{report}/", {"as_of": AS_OF})
        assert response.status_code == 200, (user, response.content)


@pytest.mark.parametrize("report", ["bottlenecks", "event-log.csv", "heatmap.svg?process=business_licence"])
def test_officers_citizens_get_403_and_anonymous_401(scenario, officer, applicant, report):
    assert client_for(officer).get(f"/api/v1/analytics/{report}").status_code == 403
    assert client_for(applicant).get(f"/api/v1/analytics/{report}").status_code == 403
    assert APIClient().get(f"/api/v1/analytics/{report}").status_code == 401


def test_another_agency_never_sees_this_agencys_data(scenario, other_agency, manager):
    """A manager of another agency gets empty reports, and may not name this agency; nor may ours name theirs."""
    other_manager = make_user("other_manager", other_agency, Role.MANAGER)
    client = client_for(other_manager)
    assert client.get("/api/v1/analytics/bottlenecks/").json()["results"] == []
    assert client.get("/api/v1/analytics/cycle-time/").json()["cycle_time"]["count"] == 0
    assert client.get("/api/v1/analytics/event-log.csv").getvalue().decode().strip().count("\n") == 0
    assert client.get("/api/v1/analytics/heatmap.svg", {"process": "business_licence"}).status_code == 404
    assert client.get("/api/v1/analytics/bottlenecks/", {"agency": "demo"}).status_code == 403
    assert client_for(manager).get("/api/v1/analytics/bottlenecks/", {"agency": "other"}).status_code == 403


def test_superusers_see_every_agency_or_one(scenario, other_agency, analyst):
    """A second agency's process is counted for a superuser, and filtered out with ?agency=demo."""
    deploy_licence_other = make_user("other_analyst", other_agency, Role.ANALYST)
    from processes.services import definition_deploy
    from tests.conftest import fixture_bytes

    definition_deploy(content=fixture_bytes("messages/agency_reply.bpmn"), filename="reply.bpmn",
                      actor=deploy_licence_other, agency=other_agency)
    root = User.objects.create_superuser("root", password="root-pw")
    client = client_for(root)
    everything = client.get("/api/v1/analytics/bottlenecks/", {"as_of": AS_OF}).json()["results"]
    assert {row["element_id"] for row in everything} == {"check_documents", "supply_documents", "review"}
    assert client.get("/api/v1/analytics/bottlenecks/", {"agency": "other"}).json()["results"] == []
    assert client.get("/api/v1/analytics/bottlenecks/", {"agency": "nope"}).status_code == 404


def test_bottleneck_answer_through_the_api(scenario, manager):
    """'Which step makes citizens wait longest?' The review, with its figures and the filters echoed."""
    body = client_for(manager).get("/api/v1/analytics/bottlenecks/",
                                   {"process": "business_licence", "version": 1, "as_of": AS_OF}).json()
    assert body["filters"]["process"] == "business_licence" and body["filters"]["version"] == 1
    top = body["results"][0]
    assert top["element_id"] == "review" and top["total_waiting_seconds"] == (113.5 + 204) * HOUR


def test_bad_filters_are_400(scenario, manager):
    client = client_for(manager)
    assert client.get("/api/v1/analytics/bottlenecks/", {"from": "yesterday"}).status_code == 400
    assert client.get("/api/v1/analytics/bottlenecks/", {"version": "v1"}).status_code == 400
    assert client.get("/api/v1/analytics/heatmap.svg").status_code == 400
    assert client.get("/api/v1/analytics/heatmap.gif", {"process": "business_licence"}).status_code == 404


def test_heatmap_colours_elements_by_waiting(scenario, manager):
    """review (longest median wait) is darkest, supply_documents next step, check_documents lightest."""
    response = client_for(manager).get("/api/v1/analytics/heatmap.svg", {"process": "business_licence",
                                                                          "as_of": AS_OF})
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    root = etree.fromstring(response.content)
    svg = "{http://www.w3.org/2000/svg}"

    def fill_of(element_id):
        (group,) = [g for g in root.iter(f"{svg}g") if g.get("id") == element_id]
        return {shape.get("fill") for shape in group if shape.get("fill") not in (None, "none")}

    assert "#a63603" in fill_of("review")
    assert "#fdd0a2" in fill_of("supply_documents")
    assert "#fff5eb" in fill_of("check_documents")
    titles = [g.find(f"{svg}title").text for g in root.iter(f"{svg}g") if g.get("id") == "review"]
    assert "waiting p50 4d 17h" in titles[0]
    assert root.find(f".//{svg}g[@id='heatmap-legend']") is not None
    png = client_for(manager).get("/api/v1/analytics/heatmap.png", {"process": "business_licence"})
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_dfg_picture_has_frequencies_and_durations(scenario, manager):
    client = client_for(manager)
    svg = client.get("/api/v1/analytics/dfg.svg", {"as_of": AS_OF})
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    text = svg.content.decode()
    assert "median 3h 15m" in text  # submitted -> check_documents, twice: 5h and 1.5h
    assert ">3<" in text or "complete" in text
    png = client.get("/api/v1/analytics/dfg.png")
    assert png.content.startswith(b"\x89PNG")


def test_xes_export_is_a_valid_log_with_lifecycles(scenario, manager):
    """Two traces; each human step as schedule/start/complete with resource and group; automatic ones complete."""
    response = client_for(manager).get("/api/v1/analytics/event-log.xes")
    assert response.streaming and response["Content-Type"].startswith("application/xml")
    root = etree.fromstring(b"".join(response.streaming_content))
    assert root.tag == f"{XES}log" and root.get("xes.version") == "1849-2016"
    assert {ext.get("prefix") for ext in root.findall(f"{XES}extension")} == {"concept", "time", "lifecycle", "org"}
    traces = root.findall(f"{XES}trace")
    assert len(traces) == 2

    def events_of(trace):
        rows = []
        for event in trace.findall(f"{XES}event"):
            values = {child.get("key"): child.get("value") for child in event}
            rows.append((values["concept:name"], values["lifecycle:transition"], values["org:resource"],
                         values.get("org:group")))
        return rows

    instance_b = [trace for trace in traces if events_of(trace)[-1][0] == "issued"][0]
    assert events_of(instance_b) == [
        ("submitted", "complete", "applicant", None),
        ("check_documents", "schedule", "system", "Front Office"),
        ("check_documents", "start", "officer", "Front Office"),
        ("check_documents", "complete", "officer", "Front Office"),
        ("complete", "complete", "officer", None),
        ("review", "schedule", "system", "Verifier"),
        ("review", "start", "officer", "Verifier"),
        ("review", "complete", "officer", "Verifier"),
        ("objection_period", "complete", "system", None),
        ("issued", "complete", "system", None),
    ]
    timestamps = [child.get("value") for child in instance_b.iter(f"{XES}date")]
    assert timestamps[0] == "2026-08-14T07:00:00+00:00" and timestamps[-1] == "2026-08-24T03:00:00+00:00"


def test_csv_export_and_pseudonyms(scenario, manager, officer):
    """Pseudonymised, no username appears; the same officer gets the same stable key (HMAC of SECRET_KEY)."""
    client = client_for(manager)
    plain = list(csv.DictReader(io.StringIO(b"".join(client.get("/api/v1/analytics/event-log.csv")
                                                     .streaming_content).decode())))
    assert set(plain[0]) == {"case_id", "process", "version", "activity", "timestamp", "lifecycle", "resource",
                             "group"}
    assert {row["resource"] for row in plain} == {"system", "applicant", "officer", "second_officer"}
    body = b"".join(client.get("/api/v1/analytics/event-log.csv", {"pseudonymise": "1"}).streaming_content)
    hidden = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(hidden) == len(plain)
    for name in (b"officer", b"applicant", b"second_officer"):
        assert b"," + name not in body
    mapping = {(p["resource"], h["resource"]) for p, h in zip(plain, hidden, strict=True)}
    assert {hidden for name, hidden in mapping if name == "system"} == {"system"}
    officer_keys = {hidden for name, hidden in mapping if name == "officer"}
    assert len(officer_keys) == 1 and next(iter(officer_keys)).startswith("person-")
    xes = b"".join(client.get("/api/v1/analytics/event-log.xes", {"pseudonymise": "true"}).streaming_content)
    assert next(iter(officer_keys)).encode() in xes and b'value="officer"' not in xes


def test_xes_export_of_another_deployment_is_empty_but_valid(agency, analyst, manager, clock):
    deploy_licence(agency, analyst)
    root = etree.fromstring(b"".join(client_for(manager).get("/api/v1/analytics/event-log.xes").streaming_content))
    assert root.findall(f"{XES}trace") == []
