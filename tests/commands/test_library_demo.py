"""setup_demo shows the four public services, each deployed for its own agency with staff in every lane."""

from io import StringIO

import pytest
from django.core.management import call_command

from engine.agencies import is_applicant_lane, resolve_group
from engine.models import Agency
from processes.bpmn_xml import element_info, parse_xml
from processes.models import ProcessDefinition

pytestmark = pytest.mark.django_db

SERVICES = {
    "ektp_issuance": "disdukcapil",
    "birth_certificate": "disdukcapil",
    "business_registration_nib": "dpmptsp",
    "building_approval_pbg": "dpupr",
}


def test_setup_demo_deploys_the_four_services_for_their_agencies():
    """Each service belongs to its agency (agency.json) and is listed by setup_demo; running it twice adds nothing."""
    out = StringIO()
    call_command("setup_demo", stdout=out)
    call_command("setup_demo", stdout=StringIO())
    for key, code in SERVICES.items():
        definition = ProcessDefinition.objects.get(key=key)
        assert definition.agency.code == code
        assert key in out.getvalue()
    assert Agency.objects.get(code="disperindag").name_en == "Industry and Trade Office, Demo City"
    assert "capil_kepala" in out.getvalue() and "perindag_verifikator" in out.getvalue()


def test_every_staff_lane_of_every_service_has_someone_to_work_it():
    """For every lane that is not the applicant's, the demo staff include a member of the lane's group."""
    call_command("setup_demo", stdout=StringIO())
    for key in SERVICES:
        definition = ProcessDefinition.objects.get(key=key)
        tree = parse_xml(definition.bpmn_xml.encode("utf-8"))
        lanes = {info.lane for info in element_info(tree, key).values() if info.tag == "userTask"}
        for lane in lanes - {None}:
            if is_applicant_lane(lane):
                continue
            group = resolve_group(lane, definition.agency)
            assert group.user_set.exists(), f"{key}: nobody works lane {lane!r} ({group.name})"
