"""import_designs on designer_exports/: the permit process as four tools write it deploys and runs alike."""

from io import StringIO

import pytest
from django.core.management import call_command

from engine.models import HumanTask, InstanceStatus
from engine.services import human_task_complete, instance_start
from processes.models import ProcessDefinition
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

EXPORTS = ROOT / "designer_exports"
DIALECTS = ("bpmn20", "camunda7", "camunda8", "spiffarena")


def _import():
    out, err = StringIO(), StringIO()
    call_command("import_designs", str(EXPORTS), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_shows_progress_and_a_summary_and_is_idempotent():
    """Progress bar on stderr, one line per file, a summary; a second import finds them already deployed."""
    printed, progress = _import()
    assert "Summary: 4 deployed, 0 already deployed, 0 rejected of 4 file(s)." in printed
    assert "[##############################] 4/4" in progress
    assert set(ProcessDefinition.objects.values_list("key", flat=True)) == {
        f"permit_application_{dialect}" for dialect in DIALECTS}
    printed, _progress = _import()
    assert "Summary: 0 deployed, 4 already deployed, 0 rejected of 4 file(s)." in printed


def test_import_names_each_rejected_file_and_its_reason(tmp_path):
    """A broken file is listed in the summary with the line of its problem; the others still deploy."""
    (tmp_path / "good.bpmn").write_bytes((EXPORTS / "bpmn20" / "permit_application.bpmn").read_bytes())
    (tmp_path / "bad.bpmn").write_text("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>")
    out = StringIO()
    call_command("import_designs", str(tmp_path), stdout=out, stderr=StringIO())
    printed = out.getvalue()
    assert "Summary: 1 deployed, 0 already deployed, 1 rejected of 2 file(s)." in printed
    assert "  rejected bad.bpmn: line 1: The file is not well-formed XML" in printed


def _complete(instance, element_id, officer, data):
    task = HumanTask.objects.get(instance=instance, element_id=element_id, status__in=["ready", "claimed"])
    human_task_complete(task_id=task.pk, actor=officer, data=data)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_export_is_the_permit_process(dialect, admin_user):
    """Same path through every dialect: incomplete documents go back to the applicant, then both reviews,
    approval, and the scripts (Python or Zeebe FEEL) set the same variables."""
    _import()
    definition = ProcessDefinition.objects.get(key=f"permit_application_{dialect}")
    if dialect in ("camunda7", "camunda8"):
        assert definition.element_catalog["technical_review"]["candidate_groups"][0]["value"] == "Verifier"
    instance = instance_start(definition=definition, data={}, actor=admin_user)
    _complete(instance, "check_completeness", admin_user, {"documents_complete": False})
    _complete(instance, "revise_documents", admin_user, {})
    _complete(instance, "check_completeness", admin_user, {"documents_complete": True})
    for element_id in ("technical_review", "legal_review", "approve_permit"):
        _complete(instance, element_id, admin_user, {})
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert instance.data["permit_issued"] is True
