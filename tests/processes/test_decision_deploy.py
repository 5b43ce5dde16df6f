"""Deploying DMN files with a BPMN file: deploy_folder picks up *.dmn beside it; errors name file and line."""

import pytest

from engine.agencies import default_agency
from engine.exceptions import DefinitionInvalidError
from processes.library import decision_files_for, deploy_folder
from processes.models import ProcessDefinition
from processes.services import definition_deploy
from tests.conftest import FIXTURES, fixture_bytes

RULES = FIXTURES / "business_rules"
pytestmark = pytest.mark.django_db


def test_deploy_folder_deploys_each_model_with_the_dmn_files_beside_it(tmp_path):
    """Every BPMN of the folder deploys with permit_rules.dmn; a changed DMN makes new versions."""
    deployed, unchanged, rejected = deploy_folder(RULES, actor=None, agency=default_agency())
    assert (sorted(deployed), unchanged, rejected) == (["camunda7.bpmn", "camunda8.bpmn", "spiffarena.bpmn"], [], [])
    assert list(ProcessDefinition.objects.get(key="permit_fees_c7").decision_files) == ["permit_rules.dmn"]
    assert deploy_folder(RULES, actor=None, agency=default_agency())[1] == [
        "camunda7.bpmn", "camunda8.bpmn", "spiffarena.bpmn"]
    copy = tmp_path / "rules"
    copy.mkdir()
    (copy / "camunda7.bpmn").write_bytes((RULES / "camunda7.bpmn").read_bytes())
    (copy / "permit_rules.dmn").write_bytes((RULES / "permit_rules.dmn").read_bytes().replace(b"250000", b"1"))
    assert deploy_folder(copy, actor=None, agency=default_agency())[0] == ["camunda7.bpmn"]
    assert ProcessDefinition.objects.filter(key="permit_fees_c7").count() == 2


def test_deploy_folder_rejects_a_model_whose_dmn_is_missing(tmp_path):
    """Without the DMN file, the model is rejected with the business rule task's line."""
    (tmp_path / "camunda7.bpmn").write_bytes((RULES / "camunda7.bpmn").read_bytes())
    reports = []
    result = deploy_folder(tmp_path, actor=None, agency=default_agency(),
                           report=lambda path, outcome, detail: reports.append((outcome, detail)))
    assert result == ([], [], ["camunda7.bpmn"])
    assert reports[0][0] == "rejected" and reports[0][1].startswith("line 6:") and "permit_fee" in reports[0][1]


def test_decision_files_for_reads_only_dmn_files_beside_the_model():
    """decision_files_for lists the *.dmn files of the model's folder by name."""
    assert list(decision_files_for(RULES / "camunda7.bpmn")) == ["permit_rules.dmn"]
    assert decision_files_for(FIXTURES / "script_error" / "script_error.bpmn") == {}


def test_dmn_files_are_part_of_the_checksum_of_any_model():
    """DMN files deployed with a model change its checksum; without them the checksum is as before."""
    content = fixture_bytes("script_error/script_error.bpmn")
    plain, _ = definition_deploy(content=content, filename="a.bpmn", actor=None, agency=default_agency())
    with_dmn, created = definition_deploy(content=content, filename="a.bpmn", actor=None, agency=default_agency(),
                                          decision_files={"permit_rules.dmn": fixture_bytes(
                                              "business_rules/permit_rules.dmn")})
    assert created and plain.sha256 != with_dmn.sha256 and with_dmn.version == 2


def test_invalid_dmn_stops_the_deploy_even_if_no_task_uses_it():
    """A DMN file deployed with the model must parse; its errors name the file and line."""
    with pytest.raises(DefinitionInvalidError) as caught:
        definition_deploy(content=fixture_bytes("script_error/script_error.bpmn"), filename="a.bpmn", actor=None,
                          agency=default_agency(), decision_files={"odd.dmn": b"<definitions/>"})
    assert caught.value.errors[0]["message"].startswith("odd.dmn:")
    assert not ProcessDefinition.objects.exists()
