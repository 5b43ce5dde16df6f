"""deploy_library: each folder for the agency its agency.json names; a broken agency.json rejects only its folder."""

import shutil

import pytest

from engine.models import Agency
from processes.library import LIBRARY_DIR, deploy_library
from processes.models import ProcessDefinition

pytestmark = pytest.mark.django_db


def test_a_folder_deploys_for_the_agency_its_agency_file_names(tmp_path):
    """agency.json names the owning agency and the partner agencies, which are created."""
    shutil.copytree(LIBRARY_DIR / "business_registration_nib", tmp_path / "nib")
    deployed, _unchanged, rejected = deploy_library(library_dir=tmp_path)
    assert (deployed, rejected) == (["business_registration_nib.bpmn"], [])
    assert ProcessDefinition.objects.get(key="business_registration_nib").agency.code == "dpmptsp"
    assert Agency.objects.filter(code="disperindag").exists()


def test_a_broken_agency_file_rejects_its_folder_and_says_why(tmp_path):
    """An agency.json without an agency code: that folder's files are rejected with the reason; others deploy."""
    shutil.copytree(LIBRARY_DIR / "ektp_issuance", tmp_path / "a_broken")
    (tmp_path / "a_broken" / "agency.json").write_text('{"name": "no code"}', encoding="utf-8")
    shutil.copytree(LIBRARY_DIR / "permit_application", tmp_path / "permit")
    reports = []
    deployed, _unchanged, rejected = deploy_library(
        library_dir=tmp_path, report=lambda path, outcome, detail: reports.append((path.name, outcome, detail)))
    assert rejected == ["ektp_issuance.bpmn"] and deployed == ["permit_application.bpmn"]
    assert reports[0][1] == "rejected" and "agency.json" in reports[0][2]
    assert not ProcessDefinition.objects.filter(key="ektp_issuance").exists()
