"""The conformance command: deploys and runs each file of a corpus, rolls everything back, reports per source."""

import json
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from engine.models import HumanTask, ProcessInstance
from processes import conformance
from processes.conformance import check_file, corpus_files, run_corpus
from processes.models import ProcessDefinition

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "conformance"


def _row(printed, source):
    line = next(line for line in printed.splitlines() if line.startswith(source + " "))
    return [int(cell) for cell in line[len(source):].split()]


def test_command_prints_a_table_per_source_with_totals():
    """files, deployed, ran to end, stopped, rejected, crashed, DMN parsed / rejected: per folder and in total."""
    out = StringIO()
    call_command("conformance", str(CORPUS), "--no-progress", stdout=out)
    printed = out.getvalue()
    assert _row(printed, "camunda7") == [2, 1, 1, 0, 1, 0, 0, 0]
    assert _row(printed, "bpmnio") == [2, 1, 0, 1, 1, 0, 0, 0]
    assert _row(printed, "dmn") == [2, 0, 0, 0, 0, 0, 1, 1]
    assert _row(printed, "TOTAL") == [6, 2, 1, 1, 2, 0, 1, 1]
    assert "condition outside the safe subset" in printed and "not executable (isExecutable=false)" in printed
    assert "DMN file refused" in printed


def test_verbose_names_each_file_and_its_reason():
    """--verbose gives one line per file: the outcome, the path and the reason with line and element."""
    out = StringIO()
    call_command("conformance", str(CORPUS), "--no-progress", "--verbose", stdout=out)
    lines = out.getvalue().splitlines()
    assert "ran_to_end  camunda7/runs_to_end.bpmn  ran to end" in lines
    waiting = next(line for line in lines if "waits_for_message" in line)
    assert waiting.startswith("stopped") and "'documents_received'" in waiting
    refused_decision = next(line for line in lines if "broken_hit_policy" in line)
    assert refused_decision.startswith("dmn_rejected") and "SOMETIMES" in refused_decision
    refused = next(line for line in lines if "method_call" in line)
    assert "getVariable" in refused and "line 9" in refused and "'f2'" in refused


def test_json_output_and_progress_bar():
    """--json is machine-readable; the progress bar goes to stderr, one line per tenth without a terminal."""
    out, err = StringIO(), StringIO()
    call_command("conformance", str(CORPUS), "--json", stdout=out, stderr=err)
    report = json.loads(out.getvalue())
    assert report["totals"]["ran_to_end"] == 1 and report["sources"]["dmn"]["dmn_parsed"] == 1
    outcomes = {item["path"]: item["outcome"] for item in report["files"]}
    assert outcomes["bpmnio/diagram_only.bpmn"] == "rejected"
    assert "[##############################] 6/6" in err.getvalue()


def test_run_leaves_no_data_behind():
    """Every file is deployed and run inside a transaction that is rolled back."""
    report = run_corpus(CORPUS)
    assert report.totals().deployed == 2
    assert not ProcessDefinition.objects.exists()
    assert not ProcessInstance.objects.exists() and not HumanTask.objects.exists()


def test_without_manifest_files_are_grouped_by_top_folder(tmp_path):
    """No MANIFEST.tsv: every BPMN/DMN file counts, under its top folder's name."""
    files = corpus_files(CORPUS)
    assert {source for _path, source in files} == {"bpmnio", "camunda7", "dmn"} and len(files) == 6


def test_manifest_names_the_sources(tmp_path):
    """With a MANIFEST.tsv the manifest lists the files and gives each its source repository."""
    target = tmp_path / "a" / "one.bpmn"
    target.parent.mkdir()
    target.write_bytes((CORPUS / "camunda7" / "runs_to_end.bpmn").read_bytes())
    (tmp_path / "a" / "unlisted.bpmn").write_bytes(target.read_bytes())
    (tmp_path / "MANIFEST.tsv").write_text("file\tsource_repo\ta/one.bpmn\tacme/tools\n".replace("\ta/", "\na/"))
    assert corpus_files(tmp_path) == [(target, "acme/tools")]


def test_unexpected_exception_is_a_crash_with_its_place(monkeypatch):
    """Anything but a clear rejection counts as a crash, with the exception and where it was raised."""
    def broken(**_kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(conformance, "definition_deploy", broken)
    result = check_file(CORPUS / "camunda7" / "runs_to_end.bpmn", "camunda7")
    assert result.outcome == "crashed" and result.category == "KeyError during deploy"
    assert "oops" in result.message and "test_conformance.py" in result.message


def test_time_limit_stops_a_file(monkeypatch):
    """A file that takes longer than the per-file limit is stopped, and the run goes on."""
    def slow(*_args, **_kwargs):
        time.sleep(5)

    monkeypatch.setattr(conformance, "run_to_end", slow)
    started = time.monotonic()
    result = check_file(CORPUS / "camunda7" / "runs_to_end.bpmn", "camunda7", time_limit=0.2)
    assert time.monotonic() - started < 2
    assert result.outcome == "stopped" and result.category == "time limit"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "object", "properties": {"ok": {"type": "boolean", "default": False}, "note": {"type": "string"}}},
         {"ok": False}),
        ({"type": "object", "required": ["kind", "count", "name", "complete"], "properties": {
            "kind": {"enum": ["a", "b"]}, "count": {"type": "integer", "minimum": 2},
            "name": {"type": "string", "minLength": 3}, "complete": {"type": "boolean"}}},
         {"kind": "a", "count": 2, "name": "xxx", "complete": True}),
    ],
)
def test_form_defaults_fill_what_a_person_must_send(schema, expected):
    """Auto-completed tasks send the form's defaults and a valid value for each required field."""
    assert conformance._default_value(schema, schema) == expected


def test_rows_per_folder_instead_of_per_source(tmp_path):
    """--by-folder 2 gives one row per second-level folder (per tool of a suite like the BPMN MIWG's)."""
    for tool, name in (("Tool A 1.0", "runs_to_end.bpmn"), ("Tool B 2.0", "method_call.bpmn")):
        (tmp_path / "suite" / tool).mkdir(parents=True)
        (tmp_path / "suite" / tool / name).write_bytes((CORPUS / "camunda7" / name).read_bytes())
    out = StringIO()
    call_command("conformance", str(tmp_path), "--no-progress", "--by-folder", "2", stdout=out)
    assert _row(out.getvalue(), "suite/Tool A 1.0") == [1, 1, 1, 0, 0, 0, 0, 0]
    assert _row(out.getvalue(), "suite/Tool B 2.0") == [1, 0, 0, 0, 1, 0, 0, 0]
